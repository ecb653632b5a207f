"""Nonce, Credential, Deferred Credential and Notification messages (OpenID4VCI 1.0 §7–§9, §11).

https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html#name-credential-endpoint

Parse a Credential Request with `parse_model(CredentialRequest, body, error=InvalidCredentialRequest)`
and a Notification Request with `error=InvalidNotificationRequest`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, PositiveFloat, PositiveInt, StringConstraints, model_validator

from schemas.oid4vci.common import Identifier, JsonObject, LongText, ProtocolModel

__all__ = [
    "CredentialRequest",
    "CredentialResponse",
    "CredentialResponseEncryptionParameters",
    "DeferredCredentialRequest",
    "IssuedCredential",
    "NonceResponse",
    "NotificationRequest",
]

#: App. F: proof types whose array elements are JWT strings.
_JWT_PROOF_TYPES = frozenset({"jwt", "attestation"})
_Credential = Annotated[str, StringConstraints(min_length=1, max_length=4_000_000)]


class NonceResponse(ProtocolModel):
    """§7.2: a fresh, unpredictable `c_nonce` (served with `Cache-Control: no-store`)."""

    c_nonce: Annotated[str, StringConstraints(min_length=1, max_length=512)]


class CredentialResponseEncryptionParameters(ProtocolModel):
    """§8.2 `credential_response_encryption`: the Wallet's public key and JWE `enc` (and `zip`)."""

    jwk: JsonObject
    enc: Identifier
    zip: Identifier | None = None

    @model_validator(mode="after")
    def _public_key(self) -> CredentialResponseEncryptionParameters:
        if "kty" not in self.jwk or "alg" not in self.jwk:
            raise ValueError("jwk must be a public JWK with kty and alg (§10)")
        if "d" in self.jwk:
            raise ValueError("jwk must not contain private key material")
        return self


class CredentialRequest(ProtocolModel):
    """§8.2 Credential Request.

    Exactly one of `credential_identifier` (when the Token Response returned identifiers) and
    `credential_configuration_id`. `proofs` holds exactly one proof type whose value is a
    non-empty array; the single `proof` object of pre-final drafts is refused.
    """

    credential_identifier: Identifier | None = None
    credential_configuration_id: Identifier | None = None
    proofs: (
        Annotated[
            dict[Identifier, Annotated[list[LongText | JsonObject], Field(min_length=1, max_length=100)]],
            Field(max_length=20),
        ]
        | None
    ) = None
    credential_response_encryption: CredentialResponseEncryptionParameters | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_legacy_proof(cls, data: Any) -> Any:
        if isinstance(data, dict) and "proof" in data:
            raise ValueError("the proof parameter of pre-final drafts is not supported, send proofs")
        return data

    @model_validator(mode="after")
    def _rules(self) -> CredentialRequest:
        if (self.credential_identifier is None) == (self.credential_configuration_id is None):
            raise ValueError("exactly one of credential_identifier and credential_configuration_id is required")
        if self.proofs is not None:
            if len(self.proofs) != 1:
                raise ValueError("proofs must contain exactly one proof type")
            [(proof_type, values)] = self.proofs.items()
            if proof_type in _JWT_PROOF_TYPES and not all(isinstance(value, str) for value in values):
                raise ValueError(f"{proof_type} proofs must be JWT strings")
            if proof_type == "attestation" and len(values) != 1:
                raise ValueError("the attestation proof type carries exactly one key attestation")
        return self

    @property
    def proof_type(self) -> str | None:
        """The single proof type in `proofs` (`jwt`, `di_vp`, `attestation`), or None."""
        return next(iter(self.proofs)) if self.proofs else None

    @property
    def proof_values(self) -> list[str | dict[str, Any]]:
        """The proofs of that type (one per key the Credentials are bound to)."""
        return next(iter(self.proofs.values())) if self.proofs else []


class IssuedCredential(ProtocolModel):
    """§8.3 `credentials` element: a JWT / SD-JWT / base64url string, or a JSON object (`ldp_vc`)."""

    credential: _Credential | JsonObject


class CredentialResponse(ProtocolModel):
    """§8.3 (and §9.2) Credential Response: `credentials` (HTTP 200), or deferred with
    `transaction_id` + `interval` (HTTP 202), never both; `notification_id` only with `credentials`."""

    credentials: Annotated[list[IssuedCredential], Field(min_length=1, max_length=100)] | None = None
    transaction_id: Identifier | None = None
    interval: PositiveInt | PositiveFloat | None = None
    notification_id: Identifier | None = None

    @model_validator(mode="after")
    def _immediate_or_deferred(self) -> CredentialResponse:
        if (self.credentials is None) == (self.transaction_id is None):
            raise ValueError("a Credential Response carries either credentials or transaction_id")
        if (self.transaction_id is None) != (self.interval is None):
            raise ValueError("interval is required with transaction_id and not allowed otherwise")
        if self.notification_id is not None and self.credentials is None:
            raise ValueError("notification_id is only used together with credentials")
        return self


class DeferredCredentialRequest(ProtocolModel):
    """§9.1 Deferred Credential Request."""

    transaction_id: Identifier
    credential_response_encryption: CredentialResponseEncryptionParameters | None = None


class NotificationRequest(ProtocolModel):
    """§11.1 Notification Request."""

    notification_id: Identifier
    event: Literal["credential_accepted", "credential_failure", "credential_deleted"]
    #: Human-readable ASCII without `"` and `\\` (%x20-21 / %x23-5B / %x5D-7E).
    event_description: (
        Annotated[str, StringConstraints(max_length=1024, pattern=r"^[\x20-\x21\x23-\x5b\x5d-\x7e]*$")] | None
    ) = None
