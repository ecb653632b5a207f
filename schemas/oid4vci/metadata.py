"""Credential Issuer Metadata (OpenID4VCI 1.0 §12.2, App. A) and Authorization Server Metadata (§12.3).

https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html#name-credential-issuer-metadata

Fetch the metadata from `credential_issuer_metadata_url(identifier)`; a Wallet MUST discard
metadata whose `credential_issuer` is not identical to that identifier (§12.2.4), see
`CredentialIssuerMetadata.check_issuer`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictInt, model_validator

from schemas.oauth2 import InvalidRequest
from schemas.oid4vci.common import (
    FORMAT_DC_SD_JWT,
    FORMAT_JWT_VC_JSON,
    FORMAT_JWT_VC_JSON_LD,
    FORMAT_LDP_VC,
    FORMAT_MSO_MDOC,
    ClaimsPath,
    Identifier,
    JsonObject,
    ProtocolModel,
    Text,
    Url,
    find_claims_conflict,
)

__all__ = [
    "AuthorizationServerMetadata",
    "BatchCredentialIssuance",
    "ClaimDescription",
    "ClaimDisplay",
    "CredentialConfiguration",
    "CredentialDefinition",
    "CredentialDisplay",
    "CredentialIssuerMetadata",
    "CredentialMetadata",
    "CredentialRequestEncryption",
    "CredentialResponseEncryption",
    "DisplayImage",
    "IssuerDisplay",
    "Jwks",
    "KeyAttestationsRequired",
    "ProofTypeMetadata",
    "check_claim_descriptions",
]

_Names = Annotated[list[Identifier], Field(min_length=1, max_length=100)]
#: JOSE names for JWT formats, COSE numbers for mdoc, suite names for Data Integrity.
_Algorithms = Annotated[list[Identifier | StrictInt], Field(min_length=1, max_length=100)]


def _unique_locales(displays: Sequence[Any] | None) -> None:
    locales = [display.locale for display in displays or () if display.locale is not None]
    if len(set(locales)) != len(locales):
        raise ValueError("there MUST be only one display object for each language identifier")


class DisplayImage(ProtocolModel):
    """`logo` / `background_image`: a URI (https: or data:) and optional alt text."""

    uri: Annotated[str, Field(min_length=1, max_length=1_000_000)]
    alt_text: Text | None = None


class IssuerDisplay(ProtocolModel):
    """§12.2.4 `display` entry of the Credential Issuer."""

    name: Text | None = None
    locale: Identifier | None = None
    logo: DisplayImage | None = None


class CredentialDisplay(ProtocolModel):
    """§12.2.4 `credential_metadata.display` entry."""

    name: Text
    locale: Identifier | None = None
    logo: DisplayImage | None = None
    description: Text | None = None
    background_color: Identifier | None = None
    background_image: DisplayImage | None = None
    text_color: Identifier | None = None


class ClaimDisplay(ProtocolModel):
    """App. B.2 claim `display` entry."""

    name: Text | None = None
    locale: Identifier | None = None


class ClaimDescription(ProtocolModel):
    """App. B.1/B.2 claims description: a claims path plus `mandatory` and display names."""

    path: ClaimsPath
    mandatory: StrictBool = False
    display: Annotated[list[ClaimDisplay], Field(min_length=1, max_length=100)] | None = None

    @model_validator(mode="after")
    def _locales(self) -> ClaimDescription:
        _unique_locales(self.display)
        return self


def check_claim_descriptions(claims: Sequence[ClaimDescription] | None) -> None:
    """App. B.3: repeated or contradictory claims descriptions abort processing."""
    problem = find_claims_conflict(claim.path for claim in claims or ())
    if problem:
        raise ValueError(problem)


class CredentialMetadata(ProtocolModel):
    """§12.2.4 `credential_metadata`: display information and claims descriptions."""

    display: Annotated[list[CredentialDisplay], Field(min_length=1, max_length=100)] | None = None
    claims: Annotated[list[ClaimDescription], Field(min_length=1, max_length=1000)] | None = None

    @model_validator(mode="after")
    def _rules(self) -> CredentialMetadata:
        _unique_locales(self.display)
        check_claim_descriptions(self.claims)
        return self


class KeyAttestationsRequired(ProtocolModel):
    """§12.2.4 `key_attestations_required`; empty means "any key attestation"."""

    key_storage: _Names | None = None
    user_authentication: _Names | None = None


class ProofTypeMetadata(ProtocolModel):
    """§12.2.4 `proof_types_supported` value."""

    proof_signing_alg_values_supported: _Algorithms
    key_attestations_required: KeyAttestationsRequired | None = None


class CredentialDefinition(ProtocolModel):
    """App. A.1 `credential_definition`: `type` (and `@context` for `ldp_vc` / `jwt_vc_json-ld`)."""

    context: Annotated[list[Url | JsonObject], Field(min_length=1, max_length=100)] | None = Field(
        default=None, alias="@context"
    )
    type: _Names


class CredentialConfiguration(ProtocolModel):
    """§12.2.4 `credential_configurations_supported` value, with the App. A format profiles."""

    format: Identifier
    scope: Identifier | None = None
    credential_signing_alg_values_supported: _Algorithms | None = None
    cryptographic_binding_methods_supported: _Names | None = None
    proof_types_supported: Annotated[dict[Identifier, ProofTypeMetadata], Field(min_length=1, max_length=20)] | None = (
        None
    )
    credential_metadata: CredentialMetadata | None = None
    #: App. A.1/A.2: W3C formats.
    credential_definition: CredentialDefinition | None = None
    #: App. A.4: `dc+sd-jwt`.
    vct: Url | None = None
    #: App. A.3: `mso_mdoc`.
    doctype: Identifier | None = None

    @model_validator(mode="after")
    def _format_profile(self) -> CredentialConfiguration:
        # §12.2.4 says proof_types_supported "MUST be present if cryptographic_binding_methods_supported
        # is present"; not enforced, the spec's own ldp_vc example (App. A.1.2.2) omits it.
        if self.format == FORMAT_DC_SD_JWT and self.vct is None:
            raise ValueError("a dc+sd-jwt configuration requires vct")
        if self.format == FORMAT_MSO_MDOC and self.doctype is None:
            raise ValueError("an mso_mdoc configuration requires doctype")
        if self.format in (FORMAT_JWT_VC_JSON, FORMAT_LDP_VC, FORMAT_JWT_VC_JSON_LD):
            if self.credential_definition is None:
                raise ValueError(f"a {self.format} configuration requires credential_definition")
            if self.format != FORMAT_JWT_VC_JSON and self.credential_definition.context is None:
                raise ValueError(f"a {self.format} credential_definition requires @context")
        return self


class Jwks(ProtocolModel):
    """A JWK Set whose keys each carry a `kid` (§12.2.4 `credential_request_encryption.jwks`,
    OpenID4VP §5.1 `client_metadata.jwks`)."""

    keys: Annotated[list[JsonObject], Field(min_length=1, max_length=20)]

    @model_validator(mode="after")
    def _kids(self) -> Jwks:
        kids = [key.get("kid") for key in self.keys]
        if not all(isinstance(kid, str) and kid for kid in kids):
            raise ValueError("each JWK in the set MUST have a kid")
        if len(set(kids)) != len(kids):
            raise ValueError("kid values must be unique in the set")
        return self


class CredentialRequestEncryption(ProtocolModel):
    """§12.2.4 `credential_request_encryption`."""

    jwks: Jwks
    enc_values_supported: _Names
    zip_values_supported: _Names | None = None
    encryption_required: StrictBool


class CredentialResponseEncryption(ProtocolModel):
    """§12.2.4 `credential_response_encryption`."""

    alg_values_supported: _Names
    enc_values_supported: _Names
    zip_values_supported: _Names | None = None
    encryption_required: StrictBool


class BatchCredentialIssuance(ProtocolModel):
    """§12.2.4 `batch_credential_issuance`: the maximum length of the `proofs` array."""

    batch_size: Annotated[StrictInt, Field(ge=2, le=1000)]


class CredentialIssuerMetadata(ProtocolModel):
    """§12.2.4 Credential Issuer Metadata Parameters."""

    credential_issuer: Url
    authorization_servers: Annotated[list[Url], Field(min_length=1, max_length=20)] | None = None
    credential_endpoint: Url
    nonce_endpoint: Url | None = None
    deferred_credential_endpoint: Url | None = None
    notification_endpoint: Url | None = None
    credential_request_encryption: CredentialRequestEncryption | None = None
    credential_response_encryption: CredentialResponseEncryption | None = None
    batch_credential_issuance: BatchCredentialIssuance | None = None
    display: Annotated[list[IssuerDisplay], Field(min_length=1, max_length=100)] | None = None
    credential_configurations_supported: Annotated[
        dict[Identifier, CredentialConfiguration], Field(min_length=1, max_length=1000)
    ]

    @model_validator(mode="after")
    def _locales(self) -> CredentialIssuerMetadata:
        _unique_locales(self.display)
        return self

    def check_issuer(self, expected: str) -> None:
        """§12.2.4: metadata whose `credential_issuer` differs (simple string comparison) from the
        identifier the metadata URL was derived from MUST NOT be used."""
        if self.credential_issuer != expected:
            raise InvalidRequest("credential_issuer in the metadata does not match the Credential Issuer")


class AuthorizationServerMetadata(ProtocolModel):
    """RFC 8414 §2 (the members we use) plus OpenID4VCI §12.3
    `pre-authorized_grant_anonymous_access_supported` (default false)."""

    issuer: Url
    authorization_endpoint: Url | None = None
    token_endpoint: Url | None = None
    pushed_authorization_request_endpoint: Url | None = None
    require_pushed_authorization_requests: StrictBool | None = None
    jwks_uri: Url | None = None
    scopes_supported: _Names | None = None
    response_types_supported: _Names | None = None
    grant_types_supported: _Names | None = None
    code_challenge_methods_supported: _Names | None = None
    token_endpoint_auth_methods_supported: _Names | None = None
    authorization_details_types_supported: _Names | None = None
    dpop_signing_alg_values_supported: _Names | None = None
    authorization_response_iss_parameter_supported: StrictBool | None = None
    pre_authorized_grant_anonymous_access_supported: StrictBool = Field(
        default=False, alias="pre-authorized_grant_anonymous_access_supported"
    )
