"""Database tables of the issuer service (its own metadata, its own database).

Times are UTC Unix seconds (`int`): portable between SQLite and PostgreSQL and
compared in SQL without time-zone surprises. Secrets (API keys, pre-authorized
codes, PINs, access tokens, nonces) are stored only as SHA-256 hashes; signing
keys only sealed under the master key.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

__all__ = [
    "AccessToken",
    "ApiKey",
    "Award",
    "BadgeClass",
    "CNonce",
    "CredentialOffer",
    "IssuedCredential",
    "Institution",
    "Issuer",
    "IssuerTable",
    "SigningKey",
    "Staff",
    "StatusList",
]


class IssuerTable(SQLModel, registry=registry()):
    """Base of every issuer table; `IssuerTable.metadata` is what its migrations manage."""


def _json(default: Any = None) -> Any:
    return Field(default_factory=lambda: default if default is None else type(default)(),
                 sa_column=Column(JSON, nullable=default is None))


def _time(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None if nullable else 0, sa_column=Column(BigInteger, nullable=nullable, index=index))


class Institution(IssuerTable, table=True):
    """A university or school; its `did:web` lives under this service's URL."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    homepage: str | None = Field(default=None, max_length=500)
    #: ISO 3166-1 alpha-2.
    country: str | None = Field(default=None, max_length=2)
    logo_uri: str | None = Field(default=None, max_length=100_000)
    #: JWS algorithm of its signing keys: ES256 (default) or RS256 (the OB 3.0 certification baseline).
    signing_alg: str = Field(default="ES256", max_length=10)
    created_at: int = _time()


class Issuer(IssuerTable, table=True):
    """A faculty or department of an institution; badge classes belong to one."""

    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    homepage: str | None = Field(default=None, max_length=500)
    created_at: int = _time()


class BadgeClass(IssuerTable, table=True):
    """An OB 3.0 Achievement plus the EU microcredential elements."""

    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    issuer_id: int = Field(foreign_key="issuer.id", index=True)
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=10_000)
    criteria_narrative: str | None = Field(default=None, max_length=10_000)
    criteria_url: str | None = Field(default=None, max_length=500)
    #: OB 3.0 achievementType (its enumeration or `ext:...`).
    achievement_type: str = Field(default="MicroCredential", max_length=100)
    image: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    image_media_type: str | None = Field(default=None, max_length=50)
    tags: list[str] = _json([])
    #: OB 3.0 Alignment objects (e.g. ESCO skills): targetName, targetUrl, targetType, targetCode, ...
    alignments: list[dict[str, Any]] = _json([])
    #: OB 3.0 ResultDescription objects (name, resultType, requiredValue, valueMin, valueMax, ...).
    result_descriptions: list[dict[str, Any]] = _json([])
    # EU microcredential elements (Council Recommendation 2022/C 243/02, annex I)
    ects: float | None = None
    eqf_level: int | None = None
    nlqf_level: int | None = None
    learning_outcomes: list[str] = _json([])
    assessment_type: str | None = Field(default=None, max_length=100)
    participation_type: str | None = Field(default=None, max_length=100)
    supervision_type: str | None = Field(default=None, max_length=100)
    identity_checked: bool | None = None
    quality_assurance: dict[str, Any] | None = _json()
    language: str | None = Field(default=None, max_length=20)
    prerequisites: str | None = Field(default=None, max_length=2000)
    archived: bool = False
    created_at: int = _time()


class Staff(IssuerTable, table=True):
    """Someone who works the admin API: `service_admin`, `institution_admin` or `issuer_staff`."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    role: str = Field(max_length=30)
    institution_id: int | None = Field(default=None, foreign_key="institution.id", index=True)
    #: Issuer staff work for one issuer (faculty) of their institution.
    issuer_id: int | None = Field(default=None, foreign_key="issuer.id")
    created_at: int = _time()


class ApiKey(IssuerTable, table=True):
    """A bearer token of a staff member, stored as its SHA-256 hash."""

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: int = _time()
    revoked_at: int | None = _time(nullable=True)


class Award(IssuerTable, table=True):
    """A badge class awarded to one learner; its credentials share its status."""

    id: int | None = Field(default=None, primary_key=True)
    badge_class_id: int = Field(foreign_key="badgeclass.id", index=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    learner_name: str = Field(max_length=200)
    learner_email: str = Field(max_length=320)
    eduid: str | None = Field(default=None, max_length=200)
    #: The learner's result (grade) for the badge class's first result description.
    result_value: str | None = Field(default=None, max_length=100)
    #: Primary format (`jwt_vc_json` or `dc+sd-jwt`) and the offered credential configurations.
    format: str = Field(default="jwt_vc_json", max_length=30)
    credential_configuration_ids: list[str] = _json([])
    #: valid | revoked | suspended
    status: str = Field(default="valid", max_length=10)
    #: Makes re-running a bulk award a no-op: one award per key.
    idempotency_key: str | None = Field(default=None, max_length=64, unique=True)
    created_at: int = _time()
    status_changed_at: int | None = _time(nullable=True)


class CredentialOffer(IssuerTable, table=True):
    """The offer of an award: by reference, with a single-use pre-authorized code and optional PIN."""

    id: int | None = Field(default=None, primary_key=True)
    award_id: int = Field(foreign_key="award.id", index=True)
    #: SHA-256 of the secret in the `credential_offer_uri`.
    reference_hash: str = Field(max_length=64, unique=True)
    pre_authorized_code_hash: str = Field(max_length=64, unique=True)
    #: SHA-256 of salt + PIN; NULL when no `tx_code` was offered.
    tx_code_hash: str | None = Field(default=None, max_length=64)
    tx_code_salt: str | None = Field(default=None, max_length=32)
    tx_code_length: int | None = None
    tx_code_attempts: int = 0
    expires_at: int = _time()
    used_at: int | None = _time(nullable=True)
    created_at: int = _time()


class AccessToken(IssuerTable, table=True):
    """An access token from the pre-authorized code grant, limited to the offered configurations."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    award_id: int = Field(foreign_key="award.id", index=True)
    credential_configuration_ids: list[str] = _json([])
    expires_at: int = _time()
    created_at: int = _time()
    #: RFC 9449: the thumbprint of the DPoP key the token is bound to; None for a Bearer token.
    dpop_jkt: str | None = Field(default=None, max_length=43)


class DpopProof(IssuerTable, table=True):
    """A DPoP proof seen (RFC 9449 §11.1): the hash of its key thumbprint and `jti`, kept while its `iat`
    is still inside the accepted window, so the same proof is accepted once."""

    proof_hash: str = Field(max_length=64, primary_key=True)
    expires_at: int = _time(index=True)


class CNonce(IssuerTable, table=True):
    """A `c_nonce` from the nonce endpoint, consumed by the first proof that names it."""

    id: int | None = Field(default=None, primary_key=True)
    value_hash: str = Field(max_length=64, unique=True)
    expires_at: int = _time(index=True)
    used_at: int | None = _time(nullable=True)


class StatusList(IssuerTable, table=True):
    """A status list of an institution: `token_status_list` (2 bits) or `bitstring_status_list` (1 bit per purpose)."""

    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    kind: str = Field(max_length=30)
    size: int
    created_at: int = _time()


class IssuedCredential(IssuerTable, table=True):
    """The log of issued credentials: no bodies, only what status, notification and audit need."""

    __table_args__ = (UniqueConstraint("status_list_id", "status_index", name="uq_status_entry"),
                      Index("ix_issuedcredential_notification", "notification_id"))

    id: int | None = Field(default=None, primary_key=True)
    award_id: int = Field(foreign_key="award.id", index=True)
    credential_configuration_id: str = Field(max_length=100)
    #: The credential's `id`/`jti` (OB 3.0) or a random identifier (SD-JWT VC).
    credential_id: str = Field(max_length=100)
    status_list_id: int = Field(foreign_key="statuslist.id")
    status_index: int
    signing_kid: str = Field(max_length=300)
    holder_key_thumbprint: str | None = Field(default=None, max_length=64)
    notification_id: str | None = Field(default=None, max_length=64)
    notification_event: str | None = Field(default=None, max_length=30)
    issued_at: int = _time()


class SigningKey(IssuerTable, table=True):
    """An institution's signing key, sealed with the master key. One active key signs; old ones stay published."""

    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    #: The full DID URL, `did:web:...#key-N`; also the `kid` in JWKS and JOSE headers.
    kid: str = Field(max_length=300, unique=True)
    alg: str = Field(max_length=10)
    public_jwk: dict[str, Any] = _json({})
    sealed_private_key: str = Field(max_length=10_000)
    active: bool = True
    created_at: int = _time()
    retired_at: int | None = _time(nullable=True)
