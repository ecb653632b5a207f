"""Shapes of the issuer's admin REST API: `...Create` / `...Update` in, `...Public` out.

Our own API, so unknown fields are refused (`extra="forbid"`), and every string
and list has a size limit. The tables in `issuer.models` are never returned as is.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints

from servicekit.database import RowId

__all__ = [
    "ASSESSMENT_TYPES",
    "PARTICIPATION_TYPES",
    "SUPERVISION_TYPES",
    "AlignmentIn",
    "AwardCreate",
    "AwardPublic",
    "BadgeClassCreate",
    "BadgeClassPublic",
    "BadgeClassUpdate",
    "BulkAwardCreate",
    "BulkAwardResult",
    "BulkAwardRow",
    "InstitutionCreate",
    "InstitutionPublic",
    "InstitutionUpdate",
    "IssuerCreate",
    "IssuerPublic",
    "QualityAssuranceIn",
    "ResultDescriptionIn",
    "SigningKeyPublic",
    "StaffCreate",
    "StaffPublic",
]

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=10_000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Url = Annotated[AnyHttpUrl, Field(max_length=500)]
#: A plain syntactic check; deliverability is the mail system's business.
Email = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=320,
                                         pattern=r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")]
Role = Literal["service_admin", "institution_admin", "issuer_staff"]
#: Vocabularies of SURF's educredentials schemas (the Dutch eduWallet pilot).
ASSESSMENT_TYPES = ("testing", "application of a skill", "portfolio", "recognition of prior learning")
PARTICIPATION_TYPES = ("online", "onsite or blended", "volunteering", "work experience",
                       "personalized learning activities")
SUPERVISION_TYPES = ("unsupervised with no identity verification", "supervised with no identity verification",
                     "supervised online", "onsite with identity verification")
AwardFormat = Literal["jwt_vc_json", "dc+sd-jwt"]
#: OB 3.0 extensible vocabularies (AchievementType, ResultType): one of the spec's terms, or an `ext:` term.
ExtensionTerm = Annotated[str, StringConstraints(max_length=100, pattern=r"^ext:[A-Za-z0-9.\-_]+$")]
AchievementType = Literal[
    "Achievement", "ApprenticeshipCertificate", "Assessment", "Assignment", "AssociateDegree", "Award", "Badge",
    "BachelorDegree", "Certificate", "CertificateOfCompletion", "Certification", "CommunityService", "Competency",
    "Course", "CoCurricular", "Degree", "Diploma", "DoctoralDegree", "Fieldwork", "GeneralEducationDevelopment",
    "JourneymanCertificate", "LearningProgram", "License", "Membership", "ProfessionalDoctorate",
    "QualityAssuranceCredential", "MasterCertificate", "MasterDegree", "MicroCredential", "ResearchDoctorate",
    "SecondarySchoolDiploma"] | ExtensionTerm
ResultType = Literal[
    "GradePointAverage", "LetterGrade", "Percent", "PerformanceLevel", "PredictedScore", "RawScore", "Result",
    "RubricCriterion", "RubricCriterionLevel", "RubricScore", "ScaledScore", "Status"] | ExtensionTerm


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InstitutionCreate(_In):
    name: Name
    homepage: Url | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None
    #: An https URL or a `data:image/...` URI (at most 100 kB).
    logo_uri: Annotated[str, StringConstraints(max_length=100_000, pattern=r"^(https?://|data:image/)")] | None = None
    signing_alg: Literal["ES256", "RS256"] = "ES256"


class InstitutionUpdate(_In):
    name: Name | None = None
    homepage: Url | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None
    logo_uri: Annotated[str, StringConstraints(max_length=100_000, pattern=r"^(https?://|data:image/)")] | None = None


class InstitutionPublic(BaseModel):
    id: int
    name: str
    homepage: str | None
    country: str | None
    logo_uri: str | None
    signing_alg: str
    #: Whom a verifier trusts: the `did:web` that signs its OB 3.0 credentials, and the `iss` of its SD-JWT VCs.
    did: str
    sd_jwt_vc_issuer: str
    created_at: int


class IssuerCreate(_In):
    name: Name
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None
    homepage: Url | None = None


class IssuerPublic(BaseModel):
    id: int
    institution_id: int
    name: str
    description: str | None
    homepage: str | None


class StaffCreate(_In):
    name: Name
    role: Role
    institution_id: RowId | None = None
    issuer_id: RowId | None = None


class StaffPublic(BaseModel):
    id: int
    name: str
    role: str
    institution_id: int | None
    issuer_id: int | None
    #: Only in the answer that creates the account or key: shown once, stored as a hash.
    token: str | None = None


class AlignmentIn(_In):
    """OB 3.0 Alignment (e.g. an ESCO skill)."""

    targetName: ShortText
    targetUrl: Url
    targetDescription: Annotated[str, StringConstraints(max_length=2000)] | None = None
    targetFramework: ShortText | None = None
    targetCode: ShortText | None = None
    targetType: Annotated[str, StringConstraints(pattern=r"^(ceasn:Competency|ceterms:Credential|CFItem|CFRubric|"
                                                         r"CFRubricCriterion|CFRubricCriterionLevel|CTDL|ext:[A-Za-z0-9.\-_]+)$")] | None = None


class ResultDescriptionIn(_In):
    """OB 3.0 ResultDescription; `requiredValue` is what a verifier checks a result against."""

    name: ShortText
    resultType: ResultType = "Result"
    requiredValue: ShortText | None = None
    valueMin: ShortText | None = None
    valueMax: ShortText | None = None
    allowedValue: Annotated[list[ShortText], Field(max_length=100)] | None = None


class QualityAssuranceIn(_In):
    """Who assured the quality of the learning opportunity (an `ext:QualityAssurance` alignment)."""

    name: ShortText
    url: Url
    code: ShortText | None = None
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None


class _BadgeFields(_In):
    description: Text | None = None
    criteria_narrative: Text | None = None
    criteria_url: Url | None = None
    achievement_type: AchievementType | None = None
    #: A `data:image/png;base64,...` or `data:image/svg+xml;base64,...` URI (at most 1 MB).
    image: Annotated[str, StringConstraints(max_length=1_400_000, pattern=r"^data:image/(png|svg\+xml);base64,")] | None = None
    tags: Annotated[list[ShortText], Field(max_length=50)] | None = None
    alignments: Annotated[list[AlignmentIn], Field(max_length=50)] | None = None
    result_descriptions: Annotated[list[ResultDescriptionIn], Field(max_length=10)] | None = None
    ects: Annotated[float, Field(ge=0, le=240, multiple_of=0.5)] | None = None
    eqf_level: Annotated[int, Field(ge=1, le=8)] | None = None
    nlqf_level: Annotated[int, Field(ge=1, le=8)] | None = None
    learning_outcomes: Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=1000)]],
                                 Field(max_length=50)] | None = None
    assessment_type: Literal[ASSESSMENT_TYPES] | None = None  # type: ignore[valid-type]
    participation_type: Literal[PARTICIPATION_TYPES] | None = None  # type: ignore[valid-type]
    supervision_type: Literal[SUPERVISION_TYPES] | None = None  # type: ignore[valid-type]
    identity_checked: bool | None = None
    quality_assurance: QualityAssuranceIn | None = None
    language: Annotated[str, StringConstraints(max_length=20, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")] | None = None
    prerequisites: Annotated[str, StringConstraints(max_length=2000)] | None = None


class BadgeClassCreate(_BadgeFields):
    institution_id: RowId
    #: The issuer (faculty); default: the institution's first issuer (made when there is none).
    issuer_id: RowId | None = None
    name: Name


class BadgeClassUpdate(_BadgeFields):
    name: Name | None = None
    archived: bool | None = None


class BadgeClassPublic(BaseModel):
    id: int
    institution_id: int
    issuer_id: int
    name: str
    description: str
    criteria_narrative: str | None
    criteria_url: str | None
    achievement_type: str
    image_url: str
    tags: list[str]
    alignments: list[dict[str, Any]]
    result_descriptions: list[dict[str, Any]]
    ects: float | None
    eqf_level: int | None
    nlqf_level: int | None
    learning_outcomes: list[str]
    assessment_type: str | None
    participation_type: str | None
    supervision_type: str | None
    identity_checked: bool | None
    quality_assurance: dict[str, Any] | None
    language: str | None
    prerequisites: str | None
    archived: bool
    vct: str
    created_at: int


class AwardCreate(_In):
    name: Name
    email: Email
    eduid: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    #: The learner's result (grade) against the badge class's first result description.
    result: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = None
    format: AwardFormat = "jwt_vc_json"
    #: Offer these credential configurations (default: the one of `format`).
    credential_configuration_ids: Annotated[list[Annotated[str, StringConstraints(max_length=100)]],
                                            Field(min_length=1, max_length=5)] | None = None
    #: Require a `tx_code` (PIN) to redeem the offer; the PIN is in the answer, once.
    pin: bool = False
    #: Awarding twice with the same key yields the first award (safe retries, bulk re-runs).
    idempotency_key: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None


class BulkAwardRow(_In):
    """One row of a bulk award; `line` is echoed back so the caller can report by line number."""

    line: int
    name: Any = None
    email: Any = None
    eduid: Any = None
    result: Any = None


class BulkAwardCreate(_In):
    rows: Annotated[list[BulkAwardRow], Field(min_length=1, max_length=1000)]
    format: AwardFormat = "jwt_vc_json"
    pin: bool = False


class AwardPublic(BaseModel):
    id: int
    badge_class_id: int
    institution_id: int
    learner_name: str
    learner_email: str
    eduid: str | None
    result: str | None
    format: str
    credential_configuration_ids: list[str]
    status: str
    created_at: int
    status_changed_at: int | None
    #: Only when an offer was just made: the offer URI, its QR codes and the PIN (shown once).
    offer_uri: str | None = None
    credential_offer_uri: str | None = None
    qr_png_url: str | None = None
    qr_svg_url: str | None = None
    tx_code: str | None = None
    offer_expires_at: int | None = None
    #: False when an earlier award with the same idempotency key was returned.
    created: bool = True


class BulkAwardResult(BaseModel):
    line: int
    status: Literal["created", "exists", "error"]
    award_id: int | None = None
    offer_uri: str | None = None
    tx_code: str | None = None
    error: str | None = None


class SigningKeyPublic(BaseModel):
    kid: str
    alg: str
    active: bool
    public_jwk: dict[str, Any]
    created_at: int
    retired_at: int | None
