"""How a credential is shown: its own name, image and issuer, in the learner's language.

Sources, strongest first: the credential's own claims (OB3 `name`, `achievement.name`,
`achievement.image`; SD-JWT VC claims), then the SD-JWT VC Type Metadata `display`
(draft-ietf-oauth-sd-jwt-vc §"Display Metadata"), then the issuer's OpenID4VCI metadata
(`credential_metadata.display` of the configuration and the issuer's own `display`,
OpenID4VCI 1.0 §12.2.4). Localised entries are picked by BCP 47 tag: exact match, then
same language, then an entry without locale, then the first.

The issuer shown is the institution the credential itself names (OB3 `issuer.name`; in an
SD-JWT VC `issuing_institution.name`, the EU learning credential's `issuing_authority`, or an
`issuer_name`), before the issuing *service's* metadata name: one issuer service may issue for
many institutions. Claim labels come from the SD-JWT VC Type Metadata `claims[].display[].label`
and the configuration's `credential_metadata.claims[].display[].name`, kept per path.

The summary this module reads is built by `summarize` when the credential is received
and stored sealed with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vc.dcql import W3C_TYPE_IRIS

__all__ = ["card", "claim_display", "claim_labels", "detail", "index_types", "localized", "pick_display", "results",
           "search_text", "summarize", "type_metadata_display"]

#: Where education credentials keep their achievement: OB3 `credentialSubject.achievement`,
#: SD-JWT VCs of this project `achievement`, EUDI learning credentials `achievement_title` & co.
_ACHIEVEMENT_PATHS = (("credentialSubject", "achievement"), ("achievement",))
_EQF_FRAMEWORKS = ("eqf", "european qualifications framework")  # `targetType: "ext:EQF"` in educredentials


def pick_display(entries: Any, locale: str | None) -> dict[str, Any]:
    """The display entry for `locale` from a list of `{locale?, name?, ...}` objects ({} when none)."""
    if not isinstance(entries, list):
        return {}
    objects = [e for e in entries if isinstance(e, Mapping)]
    if not objects:
        return {}
    wanted = (locale or "").lower()
    language = wanted.split("-", 1)[0]
    for test in (
        lambda tag: tag == wanted,
        lambda tag: tag.split("-", 1)[0] == language,
        lambda tag: tag == "",
    ):
        for entry in objects:
            locale_tag = entry.get("locale")
            tag = locale_tag if isinstance(locale_tag, str) else ""
            if test(tag.lower()):
                return dict(entry)
    return dict(objects[0])


def localized(value: Any, locale: str | None) -> str | None:
    """A string, or the best entry of a language map (`{"en": ..., "nl": ...}`), or None."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        entry = pick_display([{"locale": k, "v": v} for k, v in value.items()], locale)
        return entry.get("v") if isinstance(entry.get("v"), str) else None
    return None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _uri(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for key in ("uri", "id"):
            if isinstance(value.get(key), str):
                return value[key]  # type: ignore[no-any-return]
    return None


def card(summary: Mapping[str, Any], *, locale: str | None, status: str) -> dict[str, Any]:
    """The fields of one list line (`wallet.schemas.CredentialSummary` minus id/format/received_at)."""
    shown = pick_display(summary.get("credential_display"), locale)
    issuer_shown = pick_display(summary.get("issuer_display"), locale)
    issuer = _mapping(summary.get("issuer"))
    types = summary.get("types") or []
    name = (localized(summary.get("name"), locale) or localized(shown.get("name"), locale)
            or (types[-1] if types else None) or "Credential")
    return {
        "name": name,
        "description": localized(summary.get("description"), locale) or localized(shown.get("description"), locale),
        "image": _uri(summary.get("image")) or _uri(shown.get("logo")) or _uri(shown.get("background_image")),
        "issuer": {
            "id": issuer.get("id") or summary.get("credential_issuer"),
            # The institution the credential names, then the issuing service's metadata name.
            "name": localized(issuer.get("name"), locale) or localized(issuer_shown.get("name"), locale)
            or issuer.get("id") or summary.get("credential_issuer"),
            "logo": _uri(issuer.get("image")) or _uri(issuer_shown.get("logo")),
        },
        "valid_from": summary.get("valid_from"),
        "valid_until": summary.get("valid_until"),
        "status": status,
    }


def detail(summary: Mapping[str, Any], *, locale: str | None, status: str) -> dict[str, Any]:
    """Everything shown on a credential's own page."""
    achievement = summary.get("achievement")
    return {
        **card(summary, locale=locale, status=status),
        "types": list(summary.get("types") or []),
        "achievement": dict(achievement) if isinstance(achievement, Mapping) else None,
        "ects": summary.get("ects"),
        "eqf": summary.get("eqf"),
        "disclosable": [list(p) for p in summary.get("disclosable") or [] if isinstance(p, Sequence)],
    }


def _get(data: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _eqf_level(achievement: Mapping[str, Any], claims: Mapping[str, Any]) -> int | None:
    """EQF level: an `alignment` to the EQF framework (OB3), or an `eqf_level`-like claim."""
    for alignment in achievement.get("alignment") or ():
        if not isinstance(alignment, Mapping):
            continue
        framework = " ".join(str(alignment.get(k) or "")
                             for k in ("targetType", "targetFramework", "targetName")).lower()
        if any(name in framework for name in _EQF_FRAMEWORKS):
            level = _number(alignment.get("targetCode"))
            if level is not None and 1 <= level <= 8:
                return int(level)
    for source in (achievement, claims):
        for key in ("eqf_level", "eqfLevel", "eqf", "level_of_learning_experience"):
            level = _number(source.get(key))
            if level is not None and 1 <= level <= 8:
                return int(level)
    return None


def type_metadata_display(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """SD-JWT VC Type Metadata `display` entries in the shape of OpenID4VCI `credential_metadata.display`."""
    shown = []
    for entry in document.get("display") or ():
        if not isinstance(entry, Mapping):
            continue
        simple = _get(entry, ("rendering", "simple")) or {}
        shown.append({key: value for key, value in {
            "locale": entry.get("locale"), "name": entry.get("name"), "description": entry.get("description"),
            "logo": simple.get("logo") if isinstance(simple, Mapping) else None,
            "background_color": simple.get("background_color") if isinstance(simple, Mapping) else None,
            "text_color": simple.get("text_color") if isinstance(simple, Mapping) else None,
        }.items() if value is not None})
    return shown


def claim_display(type_metadata_claims: Sequence[Any] = (),
                  configuration_claims: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
    """Labels per claim path, `{path, display: [{locale?, label}]}`: from Type Metadata `claims`
    (`vc.sd_jwt_vc.ClaimMetadata`, `display[].label`) first, then OpenID4VCI claims descriptions
    (`display[].name`). Paths may hold `None` (every array element) as in both specs."""
    found: list[dict[str, Any]] = []
    for claim in type_metadata_claims:
        display = [{"locale": d.get("locale"), "label": d["label"]} for d in claim.display
                   if isinstance(d.get("label"), str)]
        if display:
            found.append({"path": list(claim.path), "display": display})
    for claim in configuration_claims:
        display = [{"locale": d.get("locale"), "label": d["name"]} for d in claim.get("display") or ()
                   if isinstance(d, Mapping) and isinstance(d.get("name"), str)]
        if display and isinstance(claim.get("path"), list):
            found.append({"path": list(claim["path"]), "display": display})
    return found


def claim_labels(summary: Mapping[str, Any], locale: str | None) -> list[dict[str, Any]]:
    """The credential's own claim labels in `locale`: `{path, label, in_language}`, first source first.
    `in_language` is False when the label is only there in another language."""
    language = (locale or "").lower().split("-", 1)[0]
    labels = []
    for entry in summary.get("claim_display") or ():
        if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), list):
            continue
        chosen = pick_display(entry.get("display"), locale)
        if not isinstance(chosen.get("label"), str):
            continue
        tag = chosen.get("locale") if isinstance(chosen.get("locale"), str) else ""
        labels.append({"path": list(entry["path"]), "label": chosen["label"],
                       "in_language": not tag or tag.lower().split("-", 1)[0] == language})
    return labels


def _institution_name(claims: Mapping[str, Any]) -> Any:
    """The awarding institution a credential names: OB3 `issuer.name`, then SD-JWT VC claims."""
    for key in ("issuer", "issuing_institution"):
        value = claims.get(key)
        if isinstance(value, Mapping) and value.get("name"):
            return value["name"]
    for key in ("issuer_name", "issuing_authority"):
        if isinstance(claims.get(key), str | Mapping) and claims[key]:
            return claims[key]
    return None


def _date(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def summarize(*, format: str, claims: Mapping[str, Any], types: Sequence[str], issuer: str | None,
              valid_from: Any, valid_until: Any, credential_issuer: str, configuration_id: str,
              issuer_display: Sequence[Mapping[str, Any]] = (), credential_display: Sequence[Mapping[str, Any]] = (),
              disclosable: Sequence[Sequence[Any]] = (),
              claim_display: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """What lists and pages show of a credential, computed once when it is received."""
    achievement: Mapping[str, Any] = {}
    for path in _ACHIEVEMENT_PATHS:
        found = _get(claims, path)
        if isinstance(found, Mapping):
            achievement = found
            break
    issuer_claim = claims.get("issuer")
    issuer_object = issuer_claim if isinstance(issuer_claim, Mapping) else {}
    name = (claims.get("name") if format != "dc+sd-jwt" else None) or achievement.get("name") \
        or claims.get("achievement_title") or claims.get("name")
    ects = _number(achievement.get("creditsAvailable"))
    for source in (achievement, claims):
        for key in ("ECTS", "ects", "ects_credits", "credits"):
            ects = ects if ects is not None else _number(source.get(key))
    return {
        "format": format,
        "name": name,
        "description": achievement.get("description") or claims.get("description"),
        "image": achievement.get("image") or claims.get("image"),
        "issuer": {"id": issuer, "name": _institution_name(claims), "image": issuer_object.get("image")},
        "issuer_display": [dict(d) for d in issuer_display],
        "credential_display": [dict(d) for d in credential_display],
        "credential_issuer": credential_issuer,
        "configuration_id": configuration_id,
        "types": list(types),
        "valid_from": _date(valid_from),
        "valid_until": _date(valid_until),
        "achievement": {k: v for k, v in achievement.items()
                        if k in ("id", "type", "name", "description", "criteria", "image", "creditsAvailable",
                                 "fieldOfStudy", "achievementType", "ECTS", "ects", "alignment")} or None,
        "ects": ects,
        "eqf": _eqf_level(achievement, claims),
        "status": claims.get("status") if format == "dc+sd-jwt" else claims.get("credentialStatus"),
        "disclosable": [list(p) for p in disclosable],
        "claim_display": [dict(c) for c in claim_display],
    }


#: Claims that hold a learner's result in SD-JWT VCs and other flat credentials.
_RESULT_CLAIMS = ("grade", "result", "score", "mark")


def results(claims: Mapping[str, Any]) -> list[dict[str, str | None]]:
    """The learner's results: OB3 `credentialSubject.result` (named by the achievement's
    `resultDescription`), else a `grade`-like claim. Each is `{name, value}`."""
    subject = _mapping(claims.get("credentialSubject"))
    found: list[dict[str, str | None]] = []
    if isinstance(subject.get("result"), list):
        descriptions = {d.get("id"): d.get("name") for d in _mapping(subject.get("achievement")).get("resultDescription")
                        or () if isinstance(d, Mapping)}
        for result in subject["result"]:
            if not isinstance(result, Mapping):
                continue
            value = result.get("value") or result.get("achievedLevel") or result.get("status")
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                name = descriptions.get(result.get("resultDescription"))
                found.append({"name": name if isinstance(name, str) else None, "value": str(value)})
        return found
    for source in (claims, _mapping(claims.get("achievement"))):
        for key in _RESULT_CLAIMS:
            value = source.get(key)
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                found.append({"name": None, "value": str(value)})
    return found


def index_types(types: Sequence[str]) -> list[str]:
    """What the type index holds: the types as written and, for W3C terms, their expanded IRIs
    (DCQL `type_values` may name either)."""
    return [*types, *(W3C_TYPE_IRIS[t] for t in types if t in W3C_TYPE_IRIS)]


def search_text(summary: Mapping[str, Any], locale: str | None) -> list[str | None]:
    """The texts whose words a credential can be found by."""
    shown = card(summary, locale=locale, status="valid")
    issuer = _mapping(summary.get("issuer"))
    return [shown["name"], shown["description"], shown["issuer"]["name"], issuer.get("name")]
