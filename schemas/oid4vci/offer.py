"""Credential Offer (OpenID4VCI 1.0 §4.1) and the offer URI that carries it.

https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html#name-credential-offer

The offer is unauthenticated: the Wallet fetches the issuer metadata named by
`credential_issuer` and re-validates everything (Security Considerations, "Credential Offer").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from pydantic import Field, PositiveInt, model_validator

from schemas.oauth2 import InvalidRequest
from schemas.oid4vci.common import (
    OFFER_SCHEME,
    PRE_AUTHORIZED_CODE_GRANT,
    Identifier,
    LongText,
    ProtocolModel,
    Url,
    is_loopback_http,
    parse_model,
)

__all__ = [
    "AuthorizationCodeGrant",
    "CredentialOffer",
    "CredentialOfferUri",
    "Grants",
    "PreAuthorizedCodeGrant",
    "TxCode",
    "create_credential_offer_uri",
    "parse_credential_offer_uri",
]

_MAX_URI_LENGTH = 65536


class TxCode(ProtocolModel):
    """§4.1.1 `tx_code`: present (even empty) means the Token Request must carry a Transaction Code."""

    input_mode: Literal["numeric", "text"] | None = None
    length: Annotated[PositiveInt, Field(le=64)] | None = None
    #: "The length of the string MUST NOT exceed 300 characters."
    description: Annotated[str, Field(max_length=300)] | None = None


class AuthorizationCodeGrant(ProtocolModel):
    """§4.1.1 grant `authorization_code`: `issuer_state` is echoed in the Authorization Request."""

    issuer_state: LongText | None = None
    authorization_server: Url | None = None


class PreAuthorizedCodeGrant(ProtocolModel):
    """§4.1.1 grant `urn:ietf:params:oauth:grant-type:pre-authorized_code`."""

    pre_authorized_code: LongText = Field(alias="pre-authorized_code")
    tx_code: TxCode | None = None
    authorization_server: Url | None = None


class Grants(ProtocolModel):
    """§4.1.1 `grants`: grant type identifier -> grant parameters; other grant types are kept."""

    authorization_code: AuthorizationCodeGrant | None = None
    pre_authorized_code: PreAuthorizedCodeGrant | None = Field(default=None, alias=PRE_AUTHORIZED_CODE_GRANT)


class CredentialOffer(ProtocolModel):
    """§4.1.1 Credential Offer object."""

    credential_issuer: Url
    #: "A non-empty array of unique strings", keys of `credential_configurations_supported`.
    credential_configuration_ids: Annotated[list[Identifier], Field(min_length=1, max_length=100)]
    grants: Grants | None = None

    @model_validator(mode="after")
    def _unique_ids(self) -> CredentialOffer:
        if len(set(self.credential_configuration_ids)) != len(self.credential_configuration_ids):
            raise ValueError("credential_configuration_ids must be unique")
        return self


@dataclass(frozen=True, slots=True)
class CredentialOfferUri:
    """A parsed offer URI: the offer by value, or the https URL to GET it from (by reference)."""

    credential_offer: CredentialOffer | None = None
    credential_offer_uri: str | None = None


def create_credential_offer_uri(
    credential_offer: CredentialOffer | None = None,
    *,
    credential_offer_uri: str | None = None,
    endpoint: str = OFFER_SCHEME,
) -> str:
    """§4.1: `openid-credential-offer://?credential_offer=...` (by value) or `?credential_offer_uri=...`
    (by reference, the short form for QR codes). `endpoint` may be a Wallet's Credential Offer Endpoint."""
    if (credential_offer is None) == (credential_offer_uri is None):
        raise ValueError("give exactly one of credential_offer and credential_offer_uri")
    if credential_offer is not None:
        query = urlencode({"credential_offer": credential_offer.dump_json()}, quote_via=quote)
    else:
        query = urlencode({"credential_offer_uri": credential_offer_uri}, quote_via=quote)
    separator = "&" if "?" in endpoint else "?"
    return f"{endpoint}{separator}{query}"


def parse_credential_offer_uri(uri: str) -> CredentialOfferUri:
    """§4.1: read the single `credential_offer` / `credential_offer_uri` parameter of an offer URI.

    Raises `InvalidRequest` for a missing, repeated or doubled parameter, a malformed offer,
    or a reference that is not an https URL (http only for loopback).
    """
    if len(uri) > _MAX_URI_LENGTH:
        raise InvalidRequest("the credential offer URI is too long")
    params = parse_qs(urlsplit(uri).query, keep_blank_values=True)
    by_value = params.get("credential_offer", [])
    by_reference = params.get("credential_offer_uri", [])
    if len(by_value) + len(by_reference) != 1:
        raise InvalidRequest("the offer URI must carry exactly one credential_offer or credential_offer_uri")
    if by_value:
        return CredentialOfferUri(credential_offer=parse_model(CredentialOffer, by_value[0]))
    reference = by_reference[0]
    parts = urlsplit(reference)
    if not parts.hostname or not (parts.scheme == "https" or is_loopback_http(reference)):
        raise InvalidRequest("credential_offer_uri must be an https URL")
    return CredentialOfferUri(credential_offer_uri=reference)
