"""Database tables of the verifier service (its own metadata, its own database).

- `PresentationRequest`: one OpenID4VP request (DCQL query, nonce, state, its ephemeral
  response-encryption key sealed under the master key), its single-use claim
  (`answered_at`) and, once answered, the verdict with the named checks and only the
  disclosed claims (`result`). Results are deleted after the retention period.
- `TrustedIssuer`: the verifier-wide list of trusted issuers (DIDs, issuer URLs).
- `VerifierIdentity`: the key that signs request objects (sealed) and its X.509 chain.
- `ServiceSecret`: a random secret sealed under the master key (the pages' CSRF and cookie key),
  the same for every worker.
- `RequestOwner`: which page session made a request (only that browser sees its result).
- `ApiKey`: a relying party's key for the verifier's API (only its SHA-256 is kept); a request made
  through the API records the key that made it (`PresentationRequest.api_key_id`), and only that key
  reads its result.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

__all__ = [
    "ApiKey",
    "PresentationRequest",
    "RequestOwner",
    "RequestStatus",
    "ServiceSecret",
    "TrustedIssuer",
    "VerifierIdentity",
    "VerifierTable",
    "as_utc",
    "utcnow",
]


class VerifierTable(SQLModel, registry=registry()):
    """Base of every verifier table; `VerifierTable.metadata` is what its migrations manage."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Datetimes come back naive from SQLite: every stored time is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class RequestStatus:
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"
    EXPIRED = "expired"


def _time(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable, index=index))


class PresentationRequest(VerifierTable, table=True):
    __tablename__ = "presentation_request"

    id: str = Field(primary_key=True, max_length=64)
    dcql_query: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    nonce: str = Field(max_length=128, unique=True)
    state: str = Field(max_length=128, unique=True)
    #: `x509_hash`, `x509_san_dns`, `decentralized_identifier` or `redirect_uri`.
    client_id_prefix: str = Field(max_length=40)
    #: The whole client identifier, prefix included (the `aud` of every holder binding).
    client_id: str = Field(max_length=500)
    #: `direct_post` or `direct_post.jwt`.
    response_mode: str = Field(max_length=40)
    #: `get` or `post` (§5.10: the wallet may POST to the request_uri with a `wallet_nonce`).
    request_uri_method: str = Field(default="get", max_length=8)
    #: The ephemeral ECDH-ES P-256 private key for `direct_post.jwt`, sealed under the master key.
    encryption_key: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: The issuers trusted for this request; None means the verifier-wide list.
    trusted_issuers: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = _time()
    expires_at: datetime = _time(index=True)
    status: str = Field(default=RequestStatus.PENDING, max_length=16, index=True)
    #: Set once, by the one conditional UPDATE that claims the request for an answer.
    answered_at: datetime | None = _time(nullable=True, index=True)
    #: The verdict, the named checks and only the disclosed claims.
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    webhook_url: str | None = Field(default=None, max_length=2000)
    #: The HMAC-SHA256 key of the webhook, sealed under the master key.
    webhook_secret: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    webhook_attempts: int = Field(default=0)
    webhook_delivered_at: datetime | None = _time(nullable=True)
    #: Webhook outbox (`verifier.webhooks`): when the next attempt is due; None when none is owed
    #: (no webhook, not answered yet, delivered, or given up).
    webhook_due_at: datetime | None = _time(nullable=True, index=True)
    #: The worker that claimed the next attempt holds it until then, under this random lease id.
    webhook_leased_until: datetime | None = _time(nullable=True)
    webhook_lease: str | None = Field(default=None, max_length=32)
    #: Set when the webhook was given up after `webhook_attempts` failed attempts.
    webhook_failed_at: datetime | None = _time(nullable=True)
    #: Same-device flow: where the wallet sends the user agent after answering.
    redirect_uri: str | None = Field(default=None, max_length=2000)
    #: Same-device flow: the fresh secret put in `redirect_uri`, required to read the result.
    response_code: str | None = Field(default=None, max_length=128)
    #: The API key that made the request (None for the pages'): only that key reads the result.
    api_key_id: str | None = Field(default=None, max_length=32, index=True)


class TrustedIssuer(VerifierTable, table=True):
    __tablename__ = "trusted_issuer"

    id: int | None = Field(default=None, primary_key=True)
    #: A DID (`did:web:...`) or an issuer URL (`https://...`), compared exactly.
    identifier: str = Field(max_length=500, unique=True)
    name: str | None = Field(default=None, max_length=200)
    created_at: datetime = _time()


class VerifierIdentity(VerifierTable, table=True):
    __tablename__ = "verifier_identity"

    id: str = Field(primary_key=True, max_length=40)
    #: The private signing key (JWK), sealed under the master key.
    sealed_key: str = Field(sa_column=Column(Text, nullable=False))
    #: The certificate chain, leaf first, as PEM.
    certificate_chain: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _time()


class ServiceSecret(VerifierTable, table=True):
    __tablename__ = "service_secret"

    #: What the secret is for (`pages`).
    name: str = Field(primary_key=True, max_length=40)
    #: The random secret, sealed under the master key.
    sealed_value: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _time()


class RequestOwner(VerifierTable, table=True):
    """The page session that made a presentation request; deleted with the request."""

    __tablename__ = "request_owner"

    request_id: str = Field(sa_column=Column(String(64), ForeignKey("presentation_request.id", ondelete="CASCADE"),
                                             primary_key=True))
    #: SHA-256 (hex) of the page-session id; the id itself is only in the browser's cookie.
    session_digest: str = Field(max_length=64, index=True)


class ApiKey(VerifierTable, table=True):
    """A key for `/api/presentation-requests`, `/api/trusted-issuers` and (admin keys) `/api/api-keys`.

    Only the SHA-256 of the key is stored; the key itself is shown once, when it is made. Keys are revoked,
    never deleted, so the requests they made stay theirs."""

    __tablename__ = "api_key"

    #: Random and public (how a key is named when it is listed or revoked), not the key.
    id: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200, unique=True)
    #: SHA-256 (hex) of the key, which is 256 random bits: looked up, never compared byte by byte.
    key_hash: str = Field(max_length=64, unique=True)
    #: Admin keys also manage keys and the verifier-wide trusted-issuer list.
    admin: bool = False
    created_at: datetime = _time()
    revoked_at: datetime | None = _time(nullable=True)
