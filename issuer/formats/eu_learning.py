"""`EULearningCredential`: the EU learning credential as an SD-JWT VC (`urn:eu.europa.ec.eudi:learning:credential:1`).

The claims of the EU reference issuer's learning credential (eu-digital-identity-wallet/
eudi-srv-web-issuing-eudiw-py, `app/metadata_config/credentials_supported/learning_credential_jwt_vc.json`),
filled from the badge class (the EU microcredential elements) and the award, so European wallets
recognise it. Personal claims, the grade, study time and level are selectively disclosable,
as that issuer marks them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from issuer.formats.base import IssuanceContext, binding_metadata, split_name
from issuer.formats.sd_jwt_vc import issue_with_disclosable
from issuer.services.configurations import EU_LEARNING_CREDENTIAL, EU_LEARNING_VCT
from issuer.services.keys import institution_issuer_url
from issuer.services.status import TOKEN_STATUS_LIST

__all__ = ["EU_LEARNING", "eu_learning_claims"]

DISCLOSABLE = (("family_name",), ("given_name",), ("assessment_grade",), ("learner_identification",),
               ("expected_study_time",), ("level_of_learning_experience",))
#: ECTS credits to hours of study: 1 ECTS = 28 hours in the Netherlands (WHW art. 7.4).
HOURS_PER_ECTS = 28
_CLAIMS = (
    ("family_name", "Family Name", "Achternaam", True), ("given_name", "Given Name", "Voornaam", False),
    ("achievement_title", "Achievement Title", "Titel", True),
    ("achievement_description", "Achievement Description", "Beschrijving", False),
    ("learning_outcomes", "Learning Outcomes", "Leerresultaten", False),
    ("assessment_grade", "Assessment Grade", "Beoordeling", False),
    ("language_of_classes", "Language of Classes", "Voertaal", True),
    ("learner_identification", "Learner Identification", "Identificatie lerende", True),
    ("expected_study_time", "Expected Study Time", "Studielast", True),
    ("level_of_learning_experience", "Level of Learning Experience", "Niveau (EQF)", True),
    ("types_of_quality_assurance", "Types of Quality Assurance", "Kwaliteitszorg", True),
    ("prerequisites_to_enroll", "Prerequisites to Enroll", "Toelatingseisen", False),
    ("issuing_authority", "Issuance Authority", "Uitgevende instelling", True),
    ("issuing_country", "Issuing Country", "Land van uitgifte", True),
    ("date_of_issuance", "Issue date", "Datum van uitgifte", True),
    ("date_of_expiry", "Expiry date", "Vervaldatum", False),
)


def _date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).date().isoformat()


def eu_learning_claims(context: IssuanceContext) -> dict[str, Any]:
    badge, award, institution = context.badge, context.award, context.institution
    given, family = split_name(award.learner_name)
    claims: dict[str, Any] = {"iss": institution_issuer_url(context.base_url, badge.institution_id),
                              "iat": context.now, "vct": EU_LEARNING_VCT,
                              "status": context.status.token_status(context.base_url), "family_name": family}
    if context.valid_until is not None:
        claims["exp"] = context.valid_until
    if given:
        claims["given_name"] = given
    claims.update(achievement_title=badge.name, achievement_description=badge.description or badge.name)
    if badge.learning_outcomes:
        claims["learning_outcomes"] = list(badge.learning_outcomes)
    if award.result_value is not None:
        claims["assessment_grade"] = award.result_value
    claims["language_of_classes"] = [badge.language or "en"]
    claims["learner_identification"] = award.eduid or award.learner_email
    if badge.ects is not None:
        claims["expected_study_time"] = f"{badge.ects:g} ECTS ({round(badge.ects * HOURS_PER_ECTS)} hours)"
    if badge.eqf_level is not None:
        claims["level_of_learning_experience"] = badge.eqf_level
    claims["types_of_quality_assurance"] = [badge.quality_assurance["name"]] if badge.quality_assurance else [
        f"Internal quality assurance of {institution.name}"]
    if badge.prerequisites:
        claims["prerequisites_to_enroll"] = [badge.prerequisites]
    claims.update(issuing_authority=institution.name, issuing_country=institution.country or "NL",
                  date_of_issuance=_date(context.now))
    if context.valid_until is not None:
        claims["date_of_expiry"] = _date(context.valid_until)
    return claims


class _EuLearning:
    configuration_id = EU_LEARNING_CREDENTIAL
    format = "dc+sd-jwt"
    status_kind = TOKEN_STATUS_LIST

    def configuration(self, base_url: str) -> dict[str, Any]:
        return {
            "format": self.format, "scope": "eu_learning_credential", "vct": EU_LEARNING_VCT,
            **binding_metadata(["jwk"], ["ES256", "RS256"]),
            "credential_metadata": {
                "display": [{"name": "Learning Credential", "locale": "en",
                             "logo": {"uri": f"{base_url}/logo.png", "alt_text": "eduwallet"}},
                            {"name": "Leercredential", "locale": "nl",
                             "logo": {"uri": f"{base_url}/logo.png", "alt_text": "eduwallet"}}],
                "claims": [{"path": [name], **({"mandatory": True} if mandatory else {}),
                            "display": [{"name": en, "locale": "en"}, {"name": nl, "locale": "nl"}]}
                           for name, en, nl, mandatory in _CLAIMS]}}

    def issue(self, context: IssuanceContext) -> str:
        return issue_with_disclosable(eu_learning_claims(context), context, DISCLOSABLE)


EU_LEARNING = _EuLearning()
