"""Token Endpoint messages (OpenID4VCI 1.0 §6) and `openid_credential` authorization details (§5.1.1).

https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html#name-token-endpoint

The Token Request is form-encoded; `authorization_details` arrives as a JSON string and is
parsed into `AuthorizationDetail` objects. Errors are RFC 6749 §5.2 codes (`schemas.oauth2`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, NonNegativeInt, model_validator

from schemas.oid4vci.common import (
    OPENID_CREDENTIAL,
    PRE_AUTHORIZED_CODE_GRANT,
    Identifier,
    LongText,
    ProtocolModel,
    Text,
    Url,
)
from schemas.oid4vci.metadata import ClaimDescription, check_claim_descriptions

__all__ = ["AuthorizationDetail", "TokenRequest", "TokenResponse"]

_AUTHORIZATION_CODE_GRANT = "authorization_code"


class AuthorizationDetail(ProtocolModel):
    """RFC 9396 authorization details; for `type` `openid_credential` the §5.1.1 members, plus
    `credential_identifiers` in the Token Response (§6.2). Other types pass through untouched."""

    type: Identifier
    credential_configuration_id: Identifier | None = None
    claims: Annotated[list[ClaimDescription], Field(min_length=1, max_length=1000)] | None = None
    locations: Annotated[list[Url], Field(min_length=1, max_length=20)] | None = None
    credential_identifiers: Annotated[list[Identifier], Field(min_length=1, max_length=100)] | None = None

    @model_validator(mode="after")
    def _openid_credential(self) -> AuthorizationDetail:
        if self.type == OPENID_CREDENTIAL:
            if self.credential_configuration_id is None:
                raise ValueError("an openid_credential authorization detail requires credential_configuration_id")
            check_claim_descriptions(self.claims)
        return self


def _json_list(value: Any) -> Any:
    """Form parameters carry JSON arrays as strings (RFC 9396 §3)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise ValueError("authorization_details must be a JSON array") from None
    return value


_AuthorizationDetails = Annotated[list[AuthorizationDetail], Field(min_length=1, max_length=20)]


class TokenRequest(ProtocolModel):
    """RFC 6749 §4.1.3 Token Request with the §6.1 pre-authorized code extension parameters."""

    grant_type: Identifier
    #: §6.1: MUST be present if `grant_type` is the pre-authorized code grant.
    pre_authorized_code: LongText | None = Field(default=None, alias="pre-authorized_code")
    #: §6.1: MUST only be used with the pre-authorized code grant.
    tx_code: Annotated[str, Field(max_length=256)] | None = None
    code: LongText | None = None
    redirect_uri: Url | None = None
    code_verifier: Annotated[str, Field(min_length=43, max_length=128)] | None = None
    client_id: Identifier | None = None
    scope: Text | None = None
    resource: Url | None = None
    authorization_details: Annotated[_AuthorizationDetails | None, BeforeValidator(_json_list)] = None

    @model_validator(mode="after")
    def _grant_parameters(self) -> TokenRequest:
        if self.grant_type == PRE_AUTHORIZED_CODE_GRANT:
            if self.pre_authorized_code is None:
                raise ValueError("pre-authorized_code is required for the pre-authorized_code grant")
        elif self.tx_code is not None:
            raise ValueError("tx_code is only used with the pre-authorized_code grant")
        if self.grant_type == _AUTHORIZATION_CODE_GRANT and self.code is None:
            raise ValueError("code is required for the authorization_code grant")
        return self

    def to_form(self) -> dict[str, str]:
        """The request as `application/x-www-form-urlencoded` fields."""
        form: dict[str, str] = {}
        for name, value in self.dump().items():
            form[name] = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        return form


class TokenResponse(ProtocolModel):
    """RFC 6749 §5.1 Token Response plus §6.2 `authorization_details` with `credential_identifiers`.

    There is no `c_nonce` here any more; the Wallet gets one from the Nonce Endpoint."""

    access_token: LongText
    token_type: Identifier
    expires_in: NonNegativeInt | None = None
    refresh_token: LongText | None = None
    scope: Text | None = None
    authorization_details: _AuthorizationDetails | None = None

    @model_validator(mode="after")
    def _identifiers(self) -> TokenResponse:
        for detail in self.authorization_details or ():
            if detail.type == OPENID_CREDENTIAL and not detail.credential_identifiers:
                raise ValueError("authorization_details in a Token Response require credential_identifiers")
        return self
