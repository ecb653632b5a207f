"""`EduCredential`: an Open Badges 3.0 OpenBadgeCredential as a VC-JWT, format `jwt_vc_json`.

OB 3.0 (https://www.imsglobal.org/spec/ob/v3p0/) in the VCDM 2.0 layout: the JWT payload is the
credential plus `iss`/`jti`/`nbf`/`sub`/`exp`, header `{alg, kid, typ: "JWT"}`, signed by the
institution's did:web key; checked against the 1EdTech JSON Schema before signing
(`vc.vc_jwt.encode_ob3_jwt`), where what the credentials of one badge class share is checked once
(`vc.ob3.SharedContentValidator`) and only their `PER_CREDENTIAL_VALUES` each time. Each
credential names its own badge (name, description, image), so a wallet can tell badges apart; the
grade is `credentialSubject.result` pointing at the achievement's `resultDescription`. The EU
microcredential elements use OB 3.0 terms where OB has them (`creditsAvailable`, `alignment` to
EQF/NLQF/quality assurance, `achievementType`), and the educredentials terms (SURF, the Dutch
eduWallet pilot) where it does not; a badge class with every element the educredentials
microcredential profile needs names that profile in `credentialSchema`.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import cache
from typing import Any

from issuer.formats.base import IssuanceContext, binding_metadata, iso_time
from issuer.models import BadgeClass, Institution
from issuer.services.badges import achievement_id, badge_image_url
from issuer.services.configurations import EDU_CREDENTIAL
from issuer.services.keys import institution_did
from issuer.services.status import BITSTRING_STATUS_LIST
from schemas.ob3 import OB3_CONTEXT
from vc.ob3 import EDUCREDENTIALS_SCHEMAS_URL, JSON_SCHEMA_VALIDATOR_2019, OB3_SCHEMA_URL, SharedContentValidator
from vc.vc_jwt import VCDM_2_0_CONTEXT, encode_ob3_jwt

__all__ = ["EDUCREDENTIAL_CONTEXT", "OPEN_BADGE_JWT", "PER_CREDENTIAL_VALUES", "achievement", "issuer_profile",
           "open_badge_credential", "schema_validator"]

EDUCREDENTIAL_CONTEXT = "https://raw.githubusercontent.com/educredentials/obv3-examples/refs/heads/main/contexts/educredential.json"
EQF_URL = "https://europass.europa.eu/en/description-eight-eqf-levels"
NLQF_URL = "https://www.nlqf.nl/nlqf-niveaus"
#: The values in which credentials of one badge class (and one shape of award) differ.
PER_CREDENTIAL_VALUES = (("id",), ("validFrom",), ("validUntil",), ("credentialStatus", "id"),
                         ("credentialStatus", "statusListIndex"), ("credentialStatus", "statusListCredential"),
                         ("credentialSubject", "id"), ("credentialSubject", "identifier", "*", "identityHash"),
                         ("credentialSubject", "identifier", "*", "salt"), ("credentialSubject", "result", "*", "value"))
_EDUCREDENTIAL_FIELDS = {"assessment_type": "assessmentType", "participation_type": "participationType",
                         "supervision_type": "supervisionType", "identity_checked": "identityChecked"}


def issuer_profile(institution: Institution, base_url: str) -> dict[str, Any]:
    """The institution as an OB 3.0 Profile, identified by its did:web."""
    assert institution.id is not None
    profile: dict[str, Any] = {"id": institution_did(base_url, institution.id), "type": ["Profile"],
                               "name": institution.name}
    if institution.homepage:
        profile["url"] = institution.homepage
    if institution.logo_uri:
        profile["image"] = {"id": institution.logo_uri, "type": "Image"}
    if institution.country:
        profile["address"] = {"type": ["Address"], "addressCountryCode": institution.country}
    return profile


def _alignments(badge: BadgeClass, achievement_url: str) -> list[dict[str, Any]]:
    alignments = [{"type": ["Alignment"], **a} for a in badge.alignments]
    if badge.eqf_level is not None:
        alignments.append({"type": ["Alignment"], "targetType": "ext:EQF", "targetName": f"EQF level {badge.eqf_level}",
                           "targetCode": str(badge.eqf_level), "targetUrl": EQF_URL})
    if badge.nlqf_level is not None:
        alignments.append({"type": ["Alignment"], "targetType": "ext:NLQF",
                           "targetName": f"NLQF level {badge.nlqf_level}", "targetCode": str(badge.nlqf_level),
                           "targetUrl": NLQF_URL})
    if badge.quality_assurance:
        qa = badge.quality_assurance
        alignments.append({"type": ["Alignment"], "targetType": "ext:QualityAssurance", "targetName": qa["name"],
                           "targetUrl": qa["url"], **({"targetCode": qa["code"]} if qa.get("code") else {}),
                           **({"targetDescription": qa["description"]} if qa.get("description") else {})})
    for n, outcome in enumerate(badge.learning_outcomes, start=1):
        alignments.append({"type": ["Alignment"], "targetType": "ext:LearningOutcome", "targetName": outcome,
                           "targetUrl": f"{achievement_url}#learning-outcome-{n}"})
    return alignments


def educredentials_schemas(badge: BadgeClass, has_result: bool) -> list[str]:
    """The educredentials profile schemas this badge's credentials satisfy (microcredential + ECTS)."""
    required = (badge.description, badge.result_descriptions, badge.language, badge.ects is not None,
                badge.assessment_type, badge.participation_type, badge.supervision_type,
                badge.identity_checked is not None, has_result)
    if badge.achievement_type != "MicroCredential" or not all(required):
        return []
    schemas = ["microcredential.json"]
    if badge.ects is not None and 3 <= badge.ects <= 30:
        schemas.append("microcredential_ects.json")
    return [EDUCREDENTIALS_SCHEMAS_URL + name for name in schemas]


def achievement(badge: BadgeClass, institution: Institution, base_url: str) -> dict[str, Any]:
    """The badge class as an OB 3.0 Achievement."""
    assert badge.id is not None
    url = achievement_id(base_url, badge.id)
    types = ["Achievement"]
    criteria: dict[str, Any] = {}
    if badge.criteria_url:
        criteria["id"] = badge.criteria_url
    if badge.criteria_narrative:
        criteria["narrative"] = badge.criteria_narrative
    result: dict[str, Any] = {
        "id": url, "type": types, "name": badge.name, "description": badge.description or badge.name,
        "criteria": criteria, "image": {"id": badge_image_url(base_url, badge.id), "type": "Image"},
        "achievementType": badge.achievement_type, "creator": issuer_profile(institution, base_url)}
    if badge.tags:
        result["tag"] = list(badge.tags)
    alignments = _alignments(badge, url)
    if alignments:
        result["alignment"] = alignments
    if badge.result_descriptions:
        result["resultDescription"] = [{"type": ["ResultDescription"], **rd} for rd in badge.result_descriptions]
    if badge.ects is not None:
        result["creditsAvailable"] = badge.ects
    if badge.language:
        result["inLanguage"] = badge.language
    extra = {term: getattr(badge, field) for field, term in _EDUCREDENTIAL_FIELDS.items()
             if getattr(badge, field) is not None}
    if extra or badge.ects is not None:
        types.append("EducredentialAchievement")
        result.update(extra)
        if badge.ects is not None:
            result["ECTS"] = badge.ects
    return result


def _identity_hash(identifier: str, identity_type: str) -> dict[str, Any]:
    """OB 3.0 IdentityObject: a salted SHA-256 of the identifier (`sha256$<hex>`)."""
    salt = secrets.token_hex(8)
    digest = hashlib.sha256((identifier + salt).encode("utf-8")).hexdigest()
    return {"type": "IdentityObject", "identityHash": f"sha256${digest}", "identityType": identity_type,
            "hashed": True, "salt": salt}


def open_badge_credential(context: IssuanceContext) -> dict[str, Any]:
    """The unsigned OpenBadgeCredential of one award, bound to the holder's DID (when there is a holder)."""
    badge, award = context.badge, context.award
    the_achievement = achievement(badge, context.institution, context.base_url)
    identifiers = [_identity_hash(award.learner_email, "emailAddress")]
    if award.eduid:
        identifiers.append(_identity_hash(award.eduid, "ext:eduID"))
    subject: dict[str, Any] = {"type": ["AchievementSubject"], "identifier": identifiers,
                               "achievement": the_achievement}
    if context.holder is not None:
        subject = {"id": context.holder.holder_did, **subject}
    if award.result_value is not None and badge.result_descriptions:
        subject["result"] = [{"type": ["Result"], "resultDescription": badge.result_descriptions[0]["id"],
                              "value": award.result_value}]
    contexts = [VCDM_2_0_CONTEXT, OB3_CONTEXT]
    if "EducredentialAchievement" in the_achievement["type"]:
        contexts.append(EDUCREDENTIAL_CONTEXT)
    schemas = [OB3_SCHEMA_URL, *educredentials_schemas(badge, "result" in subject)]
    credential: dict[str, Any] = {
        "@context": contexts, "id": context.credential_id, "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": badge.name, "description": badge.description or badge.name,
        "image": the_achievement["image"], "issuer": issuer_profile(context.institution, context.base_url),
        "validFrom": iso_time(context.now), "credentialSubject": subject,
        "credentialStatus": context.status.credential_status(context.base_url),
        "credentialSchema": [{"id": url, "type": JSON_SCHEMA_VALIDATOR_2019} for url in schemas]}
    if context.valid_until is not None:
        credential["validUntil"] = iso_time(context.valid_until)
    return credential


@cache
def schema_validator() -> SharedContentValidator:
    """The 1EdTech JSON Schema check of every credential we sign, shared content checked once."""
    return SharedContentValidator.for_open_badge_credentials(PER_CREDENTIAL_VALUES)


class _OpenBadgeJwt:
    configuration_id = EDU_CREDENTIAL
    format = "jwt_vc_json"
    status_kind = BITSTRING_STATUS_LIST

    def configuration(self, base_url: str) -> dict[str, Any]:
        return {
            "format": self.format, "scope": "edu_credential",
            "credential_definition": {"type": ["VerifiableCredential", "OpenBadgeCredential"]},
            **binding_metadata(["did:jwk", "did:key"], ["ES256", "RS256"]),
            "credential_metadata": {
                "display": [{"name": "Open Badge", "locale": "en", "description": "An Open Badges 3.0 credential",
                             "background_color": "#12107c", "text_color": "#ffffff",
                             "logo": {"uri": f"{base_url}/logo.png", "alt_text": "eduwallet"}},
                            {"name": "Open Badge", "locale": "nl", "description": "Een Open Badges 3.0-credential",
                             "background_color": "#12107c", "text_color": "#ffffff",
                             "logo": {"uri": f"{base_url}/logo.png", "alt_text": "eduwallet"}}],
                "claims": [
                    {"path": ["credentialSubject", "achievement", "name"], "mandatory": True,
                     "display": [{"name": "Achievement", "locale": "en"}, {"name": "Prestatie", "locale": "nl"}]},
                    {"path": ["credentialSubject", "achievement", "description"],
                     "display": [{"name": "Description", "locale": "en"}, {"name": "Beschrijving", "locale": "nl"}]},
                    {"path": ["credentialSubject", "result"],
                     "display": [{"name": "Result", "locale": "en"}, {"name": "Resultaat", "locale": "nl"}]},
                    {"path": ["issuer", "name"],
                     "display": [{"name": "Issued by", "locale": "en"}, {"name": "Uitgegeven door", "locale": "nl"}]},
                ]}}

    def issue(self, context: IssuanceContext) -> str:
        return encode_ob3_jwt(open_badge_credential(context), context.signer, validate=schema_validator().validate)


OPEN_BADGE_JWT = _OpenBadgeJwt()
