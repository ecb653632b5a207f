"""`EduCredentialSdJwt`: the same achievement as an SD-JWT VC (`dc+sd-jwt`), one `vct` per badge class.

draft-ietf-oauth-sd-jwt-vc (https://datatracker.ietf.org/doc/draft-ietf-oauth-sd-jwt-vc/):
`iss` is the awarding institution's https (or, in development, loopback http) URL under this service,
`<base>/institutions/<id>`, whose keys are at `/.well-known/jwt-vc-issuer/institutions/<id>`, the header
`kid` naming the key there (its JWK thumbprint); `vct`,
`iss`, `iat`, `exp`, `cnf` and `status` (Token Status List) stay in the clear; the learner's
personal claims and the result are selectively disclosable. Each badge class has its own `vct`,
`<base>/vct/badge-classes/<id>`, whose Type Metadata (served at that URL) `extends` the
configuration's `vct`, `<base>/vct/edu-credential`, which the credential also lists in `aka_vcts`.
"""

from __future__ import annotations

from typing import Any

from issuer.formats.base import IssuanceContext, binding_metadata, split_name
from issuer.models import BadgeClass, Institution
from issuer.services.badges import achievement_id, badge_image_url, badge_vct
from issuer.services.configurations import EDU_CREDENTIAL_SD_JWT
from issuer.services.keys import institution_did, institution_issuer_url, jwt_vc_issuer_signer
from issuer.services.status import TOKEN_STATUS_LIST
from vc.sd_jwt_vc import issue_sd_jwt_vc

__all__ = ["EDU_SD_JWT_VC", "base_vct", "base_type_metadata", "badge_type_metadata", "sd_jwt_vc_claims"]

#: Claims the learner may leave out when presenting.
DISCLOSABLE = (("given_name",), ("family_name",), ("email",), ("eduid",), ("result",))
_LABELS = {
    "given_name": ("Given name", "Voornaam"), "family_name": ("Family name", "Achternaam"),
    "email": ("E-mail", "E-mail"), "eduid": ("eduID", "eduID"), "result": ("Result", "Resultaat"),
    "achievement": ("Achievement", "Prestatie"), "issuing_institution": ("Issued by", "Uitgegeven door"),
}


def base_vct(base_url: str) -> str:
    return f"{base_url}/vct/edu-credential"


def _claims_metadata() -> list[dict[str, Any]]:
    claims = []
    for name, (en, nl) in _LABELS.items():
        claims.append({"path": [name], "display": [{"locale": "en", "label": en}, {"locale": "nl", "label": nl}],
                       "sd": "always" if (name,) in DISCLOSABLE else "never"})
    claims.append({"path": ["achievement", "name"], "mandatory": True,
                   "display": [{"locale": "en", "label": "Achievement"}, {"locale": "nl", "label": "Prestatie"}]})
    return claims


def base_type_metadata(base_url: str) -> dict[str, Any]:
    """SD-JWT VC Type Metadata of the configuration's `vct`: what every badge's type extends."""
    return {"vct": base_vct(base_url), "name": "Educational credential",
            "description": "A microcredential or badge awarded by an educational institution",
            "display": [{"locale": "en", "name": "Educational credential"},
                        {"locale": "nl", "name": "Onderwijscredential"}],
            "claims": _claims_metadata()}


def badge_type_metadata(badge: BadgeClass, base_url: str) -> dict[str, Any]:
    """Type Metadata of one badge class: its own name, description and image for the wallet's card."""
    assert badge.id is not None
    rendering = {"simple": {"logo": {"uri": badge_image_url(base_url, badge.id), "alt_text": badge.name},
                            "background_color": "#12107c", "text_color": "#ffffff"}}
    return {"vct": badge_vct(base_url, badge.id), "name": badge.name, "description": badge.description or badge.name,
            "extends": base_vct(base_url),
            "display": [{"locale": locale, "name": badge.name, "description": badge.description or badge.name,
                         "rendering": rendering} for locale in ("en", "nl")],
            "claims": _claims_metadata()}


def _achievement_claim(badge: BadgeClass, base_url: str) -> dict[str, Any]:
    assert badge.id is not None
    claim: dict[str, Any] = {"id": achievement_id(base_url, badge.id), "name": badge.name,
                             "description": badge.description or badge.name,
                             "image": badge_image_url(base_url, badge.id), "achievement_type": badge.achievement_type}
    optional = {"criteria": badge.criteria_narrative, "criteria_url": badge.criteria_url, "ects": badge.ects,
                "eqf_level": badge.eqf_level, "nlqf_level": badge.nlqf_level,
                "learning_outcomes": list(badge.learning_outcomes) or None, "language": badge.language,
                "assessment_type": badge.assessment_type, "participation_type": badge.participation_type,
                "quality_assurance": badge.quality_assurance, "prerequisites": badge.prerequisites,
                "result_description": badge.result_descriptions[0] if badge.result_descriptions else None}
    claim.update({k: v for k, v in optional.items() if v is not None})
    return claim


def _institution_claim(institution: Institution, base_url: str) -> dict[str, Any]:
    assert institution.id is not None
    claim = {"id": institution_did(base_url, institution.id), "name": institution.name,
             "url": institution.homepage, "country": institution.country}
    return {k: v for k, v in claim.items() if v is not None}


def sd_jwt_vc_claims(context: IssuanceContext) -> dict[str, Any]:
    """Every claim of the SD-JWT VC, in the clear; `DISCLOSABLE` says which get hidden."""
    badge, award = context.badge, context.award
    assert badge.id is not None
    given, family = split_name(award.learner_name)
    # `aka_vcts` (SD-JWT VC -18): the badge's own type is also the offered configuration's type, so a
    # wallet that matches on the configuration's `vct` recognises it without resolving `extends`.
    claims: dict[str, Any] = {"iss": institution_issuer_url(context.base_url, badge.institution_id),
                              "iat": context.now, "vct": badge_vct(context.base_url, badge.id),
                              "aka_vcts": [base_vct(context.base_url)],
                              "status": context.status.token_status(context.base_url)}
    if context.valid_until is not None:
        claims["exp"] = context.valid_until
    if given:
        claims["given_name"] = given
    claims.update(family_name=family, email=award.learner_email)
    if award.eduid:
        claims["eduid"] = award.eduid
    claims["achievement"] = _achievement_claim(badge, context.base_url)
    claims["issuing_institution"] = _institution_claim(context.institution, context.base_url)
    if award.result_value is not None:
        name = badge.result_descriptions[0].get("name") if badge.result_descriptions else None
        claims["result"] = {"value": award.result_value, **({"name": name} if name else {})}
    return claims


def issue_with_disclosable(claims: dict[str, Any], context: IssuanceContext,
                           disclosable: tuple[tuple[str, ...], ...]) -> str:
    present = [path for path in disclosable if path[0] in claims]
    holder_jwk = context.holder.jwk if context.holder is not None else None
    signer = jwt_vc_issuer_signer(context.signer)  # the kid of the institution's JWT VC Issuer Metadata
    return issue_sd_jwt_vc(claims, signer, disclosable=present, holder_jwk=holder_jwk, decoys=2).sd_jwt


class _EduSdJwtVc:
    configuration_id = EDU_CREDENTIAL_SD_JWT
    format = "dc+sd-jwt"
    status_kind = TOKEN_STATUS_LIST

    def configuration(self, base_url: str) -> dict[str, Any]:
        return {
            "format": self.format, "scope": "edu_credential_sd_jwt", "vct": base_vct(base_url),
            **binding_metadata(["jwk"], ["ES256", "RS256"]),
            "credential_metadata": {
                "display": [{"name": "Educational credential", "locale": "en",
                             "logo": {"uri": f"{base_url}/logo.png", "alt_text": "eduwallet"},
                             "background_color": "#12107c", "text_color": "#ffffff"},
                            {"name": "Onderwijscredential", "locale": "nl",
                             "logo": {"uri": f"{base_url}/logo.png", "alt_text": "eduwallet"},
                             "background_color": "#12107c", "text_color": "#ffffff"}],
                "claims": [{"path": [name], "display": [{"name": en, "locale": "en"}, {"name": nl, "locale": "nl"}]}
                           for name, (en, nl) in _LABELS.items()]}}

    def issue(self, context: IssuanceContext) -> str:
        return issue_with_disclosable(sd_jwt_vc_claims(context), context, DISCLOSABLE)


EDU_SD_JWT_VC = _EduSdJwtVc()
