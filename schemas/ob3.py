"""Open Badges 3.0 data model as Pydantic models.

OB 3.0 §"Data Models" (https://www.imsglobal.org/spec/ob/v3p0/#data-model); the JSON Schema in
`schemas/json/ob_v3p0_achievementcredential_schema.json` stays the judge of validity
(`vc.ob3.validate_open_badge_credential`). Field names are the wire names (`@context` is `context`
in Python); properties not modelled here, such as extensions (`ECTS`, educredentials terms), are
kept as they came (`extra="allow"`) and nothing is coerced (`strict`), so `to_json()` (`model_dump(by_alias=True, exclude_none=True)`)
gives back what was parsed. Required fields are the schema's; `type` defaults to the class's own
type for objects built in code. Dates stay strings, exactly as written.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "Achievement",
    "AchievementSubject",
    "Alignment",
    "Criteria",
    "Evidence",
    "IdentityObject",
    "Image",
    "Number",
    "OB3_CONTEXT",
    "Ob3Model",
    "OpenBadgeCredential",
    "Profile",
    "Result",
    "ResultDescription",
    "TypeValue",
    "VCDM_2_0_CONTEXT",
]

VCDM_2_0_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"

#: A JSON-LD `type`: one IRI or a set of them.
TypeValue = str | list[str]
Number = int | float
_JsonObject = dict[str, Any]


def _default_context() -> list[str | _JsonObject]:
    return [VCDM_2_0_CONTEXT, OB3_CONTEXT]


class Ob3Model(BaseModel):
    """Base: unknown properties kept, wire names in and out, no type coercion (so nothing changes on the way)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, strict=True)

    def to_json(self) -> _JsonObject:
        """The wire form: `model_dump(by_alias=True, exclude_none=True)`."""
        return self.model_dump(by_alias=True, exclude_none=True)


class Image(Ob3Model):
    id: str
    type: str = "Image"
    caption: str | None = None


class Criteria(Ob3Model):
    id: str | None = None
    narrative: str | None = None


class Alignment(Ob3Model):
    type: TypeValue = Field(default_factory=lambda: ["Alignment"])
    targetName: str
    targetUrl: str
    targetCode: str | None = None
    targetDescription: str | None = None
    targetFramework: str | None = None
    targetType: str | None = None


class ResultDescription(Ob3Model):
    id: str
    type: TypeValue = Field(default_factory=lambda: ["ResultDescription"])
    name: str
    resultType: str
    alignment: list[Alignment] | None = None
    allowedValue: list[str] | None = None
    requiredLevel: str | None = None
    requiredValue: str | None = None
    rubricCriterionLevel: list[_JsonObject] | None = None
    valueMax: str | None = None
    valueMin: str | None = None


class Result(Ob3Model):
    type: TypeValue = Field(default_factory=lambda: ["Result"])
    achievedLevel: str | None = None
    alignment: list[Alignment] | None = None
    resultDescription: str | None = None
    status: str | None = None
    value: str | None = None


class IdentityObject(Ob3Model):
    type: str = "IdentityObject"
    hashed: bool
    identityHash: str
    identityType: str
    salt: str | None = None


class Profile(Ob3Model):
    id: str
    type: TypeValue = Field(default_factory=lambda: ["Profile"])
    name: str | None = None
    url: str | None = None
    phone: str | None = None
    description: str | None = None
    endorsement: list[_JsonObject] | None = None
    endorsementJwt: list[str] | None = None
    image: str | Image | None = None
    email: str | None = None
    address: _JsonObject | None = None
    otherIdentifier: list[_JsonObject] | None = None
    official: str | None = None
    parentOrg: Profile | None = None
    familyName: str | None = None
    givenName: str | None = None
    additionalName: str | None = None
    patronymicName: str | None = None
    honorificPrefix: str | None = None
    honorificSuffix: str | None = None
    familyNamePrefix: str | None = None
    dateOfBirth: str | None = None


class Evidence(Ob3Model):
    id: str | None = None
    type: TypeValue = Field(default_factory=lambda: ["Evidence"])
    narrative: str | None = None
    name: str | None = None
    description: str | None = None
    genre: str | None = None
    audience: str | None = None


class Achievement(Ob3Model):
    id: str
    type: TypeValue = Field(default_factory=lambda: ["Achievement"])
    name: str
    description: str
    criteria: Criteria
    alignment: list[Alignment] | None = None
    achievementType: str | None = None
    creator: Profile | None = None
    creditsAvailable: Number | None = None
    endorsement: list[_JsonObject] | None = None
    endorsementJwt: list[str] | None = None
    fieldOfStudy: str | None = None
    humanCode: str | None = None
    image: str | Image | None = None
    inLanguage: str | None = None
    otherIdentifier: list[_JsonObject] | None = None
    related: list[_JsonObject] | None = None
    resultDescription: list[ResultDescription] | None = None
    specialization: str | None = None
    tag: list[str] | None = None
    version: str | None = None


class AchievementSubject(Ob3Model):
    id: str | None = None
    type: TypeValue = Field(default_factory=lambda: ["AchievementSubject"])
    achievement: Achievement
    activityEndDate: str | None = None
    activityStartDate: str | None = None
    creditsEarned: Number | None = None
    identifier: list[IdentityObject] | None = None
    image: str | Image | None = None
    licenseNumber: str | None = None
    narrative: str | None = None
    result: list[Result] | None = None
    role: str | None = None
    source: Profile | None = None
    term: str | None = None


class OpenBadgeCredential(Ob3Model):
    """OB 3.0 `AchievementCredential` / `OpenBadgeCredential` (VCDM 2.0)."""

    context: list[str | _JsonObject] = Field(default_factory=_default_context, alias="@context")
    id: str
    type: list[str] = Field(default_factory=lambda: ["VerifiableCredential", "OpenBadgeCredential"])
    issuer: str | Profile
    validFrom: str
    credentialSubject: AchievementSubject
    name: str | None = None
    description: str | None = None
    image: str | Image | None = None
    awardedDate: str | None = None
    validUntil: str | None = None
    endorsement: list[_JsonObject] | None = None
    endorsementJwt: list[str] | None = None
    evidence: list[Evidence] | None = None
    proof: list[_JsonObject] | _JsonObject | None = None
    credentialSchema: list[_JsonObject] | _JsonObject | None = None
    credentialStatus: _JsonObject | list[_JsonObject] | None = None
    refreshService: _JsonObject | None = None
    termsOfUse: list[_JsonObject] | None = None

    @field_validator("context")
    @classmethod
    def _vcdm_2_0_first(cls, value: list[str | _JsonObject]) -> list[str | _JsonObject]:
        if not value or value[0] != VCDM_2_0_CONTEXT:
            raise ValueError(f"the first @context must be {VCDM_2_0_CONTEXT}")
        return value

    @field_validator("type")
    @classmethod
    def _credential_types(cls, value: list[str]) -> list[str]:
        if "VerifiableCredential" not in value:
            raise ValueError("type must include VerifiableCredential")
        if "OpenBadgeCredential" not in value and "AchievementCredential" not in value:
            raise ValueError("type must include OpenBadgeCredential or AchievementCredential")
        return value
