"""What a verified credential says, and what a request asks, as labelled facts for the pages.

Open Badges 3.0 (https://www.imsglobal.org/spec/ob/v3p0/): the badge, issuer `Profile`, result
and criteria come from `verifier.summary.badge_summary`; study load from the achievement's
`creditsAvailable` (or the educredentials `ECTS`), the level from an `Alignment` with
`targetType` `ext:EQF`. SD-JWT VCs: our issuer's `achievement.ects`/`eqf_level` and
`issuing_institution`, or the EU learning credential's `expected_study_time`,
`level_of_learning_experience` and `issuing_authority`. Only what was disclosed is shown.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from verifier.presets import OB3_TYPE_IRI

__all__ = ["Fact", "credential_facts", "query_facts"]

Translate = Callable[..., str]


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    #: A second, smaller line (an identifier, a requirement).
    note: str | None = None
    #: `passed` or `failed` for a fact that is a judgement (styled as such).
    state: str | None = None
    #: The note is an identifier (a DID, a URL, a type), not prose.
    note_is_id: bool = False
    #: The value is an identifier (a learner known only by a DID).
    value_is_id: bool = False


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list) or value == "":
        return None
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _date(value: Any) -> str | None:
    """An ISO date of an RFC 3339 string or a NumericDate."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC).date().isoformat()
    if isinstance(value, str) and len(value) >= 10:
        return value[:10]
    return None


def _results(result: Any, t: Translate) -> tuple[str | None, str | None]:
    """The result as text, and the required value when the badge names one."""
    items = result if isinstance(result, list) else [result] if result is not None else []
    texts, required = [], []
    for item in items:
        if isinstance(item, dict):
            value = _text(item.get("value"))
            if value is None:
                continue
            name = _text(item.get("name"))
            texts.append(f"{name}: {value}" if name else value)
            if item.get("required_value") is not None:
                required.append(t("fact.required", value=_text(item["required_value"]) or ""))
        elif _text(item) is not None:
            texts.append(str(_text(item)))
    return ("; ".join(texts) or None), ("; ".join(required) or None)


def _ob3_extras(claims: Mapping[str, Any]) -> dict[str, Any]:
    subject = claims.get("credentialSubject")
    subject = _dict(subject[0] if isinstance(subject, list) and subject else subject)
    achievement = _dict(subject.get("achievement"))
    alignment = achievement.get("alignment")
    alignments: list[Any] = alignment if isinstance(alignment, list) else []
    eqf = next((a.get("targetCode") or a.get("targetName") for a in alignments
                if isinstance(a, dict) and a.get("targetType") == "ext:EQF"), None)
    return {"issuer_name": _dict(claims.get("issuer")).get("name"),
            "ects": achievement.get("creditsAvailable", achievement.get("ECTS")), "eqf": eqf,
            "issued": claims.get("validFrom"), "valid_until": claims.get("validUntil")}


def _sd_jwt_extras(claims: Mapping[str, Any]) -> dict[str, Any]:
    achievement = _dict(claims.get("achievement"))
    return {"issuer_name": _dict(claims.get("issuing_institution")).get("name") or claims.get("issuing_authority"),
            "ects": achievement.get("ects", claims.get("expected_study_time")),
            "eqf": achievement.get("eqf_level", claims.get("level_of_learning_experience")),
            "issued": claims.get("date_of_issuance", claims.get("iat")), "valid_until": claims.get("exp")}


def credential_facts(credential: Mapping[str, Any], t: Translate) -> list[Fact]:
    """Badge, issuer, learner, result and whether it passed, criteria, ECTS, EQF and dates."""
    summary = _dict(credential.get("summary"))
    claims = _dict(credential.get("claims"))
    extras = _sd_jwt_extras(claims) if credential.get("format") == "dc+sd-jwt" else _ob3_extras(claims)
    issuer_id = _text(credential.get("issuer"))
    issuer_name = _text(extras["issuer_name"])
    result, required = _results(summary.get("result"), t)
    learner = _text(summary.get("learner")) or ""
    facts = [
        Fact("fact.badge", _text(summary.get("badge")) or ""),
        Fact("fact.issuer", issuer_name or issuer_id or "", issuer_id if issuer_name else None, note_is_id=True),
        Fact("fact.learner", learner, value_is_id=learner.startswith(("did:", "urn:", "sha256$", "http"))),
        Fact("fact.result", result or "", required),
    ]
    if summary.get("passed") is not None:
        passed = bool(summary["passed"])
        facts.append(Fact("fact.passed", t("fact.passed.yes" if passed else "fact.passed.no"),
                          state="passed" if passed else "failed"))
    facts += [
        Fact("fact.criteria", _text(summary.get("criteria")) or ""),
        Fact("fact.ects", _text(extras["ects"]) or ""),
        Fact("fact.eqf", _text(extras["eqf"]) or ""),
        Fact("fact.issued", _date(extras["issued"]) or ""),
        Fact("fact.valid_until", _date(extras["valid_until"]) or ""),
    ]
    return [fact for fact in facts if fact.value]


def _dotted(path: Any) -> str:
    return ".".join("*" if part is None else str(part) for part in path) if isinstance(path, list) else str(path)


def query_facts(dcql_query: Mapping[str, Any], trusted: Collection[str] | None, response_mode: str,
                expires_at: datetime | None, t: Translate) -> list[Fact]:
    """What a request asks for: the credential, its claims, whom it trusts, how it is answered, until when."""
    facts: list[Fact] = []
    for query in dcql_query.get("credentials") or []:
        meta = _dict(query.get("meta"))
        claims = [c for c in query.get("claims") or [] if isinstance(c, dict)]
        achievement = next((c["values"][0] for c in claims if c.get("path") == ["credentialSubject", "achievement", "name"]
                            and c.get("values")), None)
        if query.get("format") == "jwt_vc_json" and [OB3_TYPE_IRI] in (meta.get("type_values") or []):
            asked = t("ask.ob3_achievement", name=achievement) if achievement else t("ask.ob3")
            facts.append(Fact("fact.asked", asked))
        elif query.get("format") == "dc+sd-jwt":
            facts.append(Fact("fact.asked", t("ask.sd_jwt"), ", ".join(meta.get("vct_values") or []) or None,
                              note_is_id=True))
        else:
            facts.append(Fact("fact.asked", str(query.get("format"))))
        named = [_dotted(c.get("path")) for c in claims if not (achievement and c.get("values"))]
        if named:
            facts.append(Fact("fact.claims", ", ".join(named)))
    if trusted is None:
        facts.append(Fact("fact.trusted", t("ask.trusted_any")))
    else:
        facts.append(Fact("fact.trusted", ", ".join(sorted(trusted)) or t("ask.trusted_none")))
    encrypted = response_mode == "direct_post.jwt"
    facts.append(Fact("fact.answer", t("ask.encrypted" if encrypted else "ask.plain")))
    if expires_at is not None:
        facts.append(Fact("fact.expires", t("ask.expires", time=expires_at.astimezone(UTC).strftime("%H:%M"))))
    return facts
