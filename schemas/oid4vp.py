"""OpenID for Verifiable Presentations 1.0 (final, errata set 1): request/response models and error codes.

https://openid.net/specs/openid-4-verifiable-presentations-1_0.html
(source: openid/OpenID4VP `1.0/openid-4-verifiable-presentations-1_0.md`)

- Authorization Request parameters / Request Object claims (§5), Client Identifier
  Prefixes (§5.9) and `parse_client_id`, `request_uri_method=post` (§5.10).
- Authorization Response with `vp_token` (§8.1), `direct_post` answer (§8.2), errors (§8.5).
- The `openid4vp://` invocation URI (§9, §13.1.2), by reference or with all parameters by value.
The DCQL models are in `schemas.dcql`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from pydantic import BeforeValidator, Field, StringConstraints, model_validator

from schemas.dcql import DcqlId, DcqlQuery
from schemas.oauth2 import InvalidRequest, ProtocolError
from schemas.oid4vci import Identifier, JsonObject, Jwks, ProtocolModel, Text, Url, is_loopback_http, parse_model

__all__ = [
    "CLIENT_ID_PREFIXES",
    "OPENID4VP_SCHEME",
    "PREFIX_DECENTRALIZED_IDENTIFIER",
    "PREFIX_OPENID_FEDERATION",
    "PREFIX_ORIGIN",
    "PREFIX_REDIRECT_URI",
    "PREFIX_VERIFIER_ATTESTATION",
    "PREFIX_X509_HASH",
    "PREFIX_X509_SAN_DNS",
    "PRE_REGISTERED",
    "REQUEST_OBJECT_MEDIA_TYPE",
    "REQUEST_OBJECT_TYP",
    "RESPONSE_MODE_DIRECT_POST",
    "RESPONSE_MODE_DIRECT_POST_JWT",
    "RESPONSE_MODE_FRAGMENT",
    "RESPONSE_TYPE_VP_TOKEN",
    "SELF_ISSUED_AUDIENCE",
    "AuthorizationRequest",
    "AuthorizationRequestUri",
    "AuthorizationResponse",
    "ClientIdentifier",
    "ClientMetadata",
    "DirectPostResponse",
    "InvalidRequestUriMethod",
    "InvalidTransactionData",
    "RequestUriPost",
    "TransactionData",
    "VerifierInfo",
    "VpFormatsNotSupported",
    "WalletUnavailable",
    "create_authorization_request_uri",
    "decode_transaction_data",
    "parse_authorization_request_uri",
    "parse_client_id",
]

OPENID4VP_SCHEME = "openid4vp://"
#: §5: Request Objects MUST carry `typ` `oauth-authz-req+jwt` (RFC 9101).
REQUEST_OBJECT_TYP = "oauth-authz-req+jwt"
REQUEST_OBJECT_MEDIA_TYPE = "application/oauth-authz-req+jwt"
#: §5.8: `aud` of a Request Object with static discovery.
SELF_ISSUED_AUDIENCE = "https://self-issued.me/v2"
RESPONSE_TYPE_VP_TOKEN = "vp_token"
RESPONSE_MODE_DIRECT_POST = "direct_post"
RESPONSE_MODE_DIRECT_POST_JWT = "direct_post.jwt"
#: §5.6: the default Response Mode of `vp_token`.
RESPONSE_MODE_FRAGMENT = "fragment"

# §5.9.3 Client Identifier Prefixes; `pre-registered` is the no-prefix fallback (§5.9.2, §10.1).
PREFIX_REDIRECT_URI = "redirect_uri"
PREFIX_OPENID_FEDERATION = "openid_federation"
PREFIX_DECENTRALIZED_IDENTIFIER = "decentralized_identifier"
PREFIX_VERIFIER_ATTESTATION = "verifier_attestation"
PREFIX_X509_SAN_DNS = "x509_san_dns"
PREFIX_X509_HASH = "x509_hash"
PREFIX_ORIGIN = "origin"
PRE_REGISTERED = "pre-registered"
CLIENT_ID_PREFIXES = frozenset(
    {
        PREFIX_REDIRECT_URI,
        PREFIX_OPENID_FEDERATION,
        PREFIX_DECENTRALIZED_IDENTIFIER,
        PREFIX_VERIFIER_ATTESTATION,
        PREFIX_X509_SAN_DNS,
        PREFIX_X509_HASH,
    }
)
_DIRECT_POST_MODES = frozenset({RESPONSE_MODE_DIRECT_POST, RESPONSE_MODE_DIRECT_POST_JWT})
_MAX_URI_LENGTH = 65536


class VpFormatsNotSupported(ProtocolError):
    """The Wallet does not support any of the formats requested by the Verifier, such as those
    included in the `vp_formats_supported` registration parameter."""

    error = "vp_formats_not_supported"


class InvalidRequestUriMethod(ProtocolError):
    """The value of the `request_uri_method` request parameter is neither `get` nor `post` (case-sensitive)."""

    error = "invalid_request_uri_method"


class InvalidTransactionData(ProtocolError):
    """A `transaction_data` object has an unknown type, unknown or ill-typed or missing fields,
    invalid values, `credential_ids` that do not match, or refers to Credentials the Wallet lacks."""

    error = "invalid_transaction_data"


class WalletUnavailable(ProtocolError):
    """The Wallet appears to be unavailable and therefore unable to respond to the request."""

    error = "wallet_unavailable"


# --- Client Identifier (§5.9) ----------------------------------------------------------------

_DNS_NAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_SHA256_B64URL = re.compile(r"^[A-Za-z0-9_-]{43}$")
_DID = re.compile(r"^did:[a-z0-9]+:\S+$")


@dataclass(frozen=True, slots=True)
class ClientIdentifier:
    """A `client_id` split as `<client_id_prefix>:<orig_client_id>`. `client_id` stays the full
    string, prefix included: that is what audiences and comparisons use ("Always Use the Full
    Client Identifier", Security Considerations)."""

    client_id: str
    prefix: str
    orig_client_id: str


def _https_or_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.hostname) and (parts.scheme == "https" or is_loopback_http(url))


def _client_id_problem(prefix: str, orig: str) -> str | None:
    if not orig:
        return "the client identifier after the prefix is empty"
    if prefix in (PREFIX_REDIRECT_URI, PREFIX_OPENID_FEDERATION) and not _https_or_loopback(orig):
        return f"a {prefix} client identifier must be an https URL"
    if prefix == PREFIX_X509_SAN_DNS and not _DNS_NAME.match(orig):
        return "an x509_san_dns client identifier must be a DNS name"
    if prefix == PREFIX_X509_HASH and not _SHA256_B64URL.match(orig):
        return "an x509_hash client identifier must be a base64url SHA-256 hash"
    if prefix == PREFIX_DECENTRALIZED_IDENTIFIER and not _DID.match(orig):
        return "a decentralized_identifier client identifier must be a DID"
    return None


def _client_identifier(client_id: str) -> ClientIdentifier | str:
    """Split `client_id`, or say why it is unacceptable."""
    prefix, colon, orig = client_id.partition(":")
    if prefix == PREFIX_ORIGIN and colon:
        return "the origin client identifier prefix is not allowed in requests"
    if not colon or prefix not in CLIENT_ID_PREFIXES:
        if not client_id:
            return "client_id is empty"
        return ClientIdentifier(client_id=client_id, prefix=PRE_REGISTERED, orig_client_id=client_id)
    return _client_id_problem(prefix, orig) or ClientIdentifier(client_id=client_id, prefix=prefix, orig_client_id=orig)


def parse_client_id(client_id: str) -> ClientIdentifier:
    """§5.9.1: the prefix is the text before the first `:` when it is a known prefix.

    No `:`, or an unrecognised prefix, means a pre-registered client (§5.9.2). The reserved
    `origin:` prefix MUST NOT be accepted in requests. Raises `InvalidRequest`.
    """
    client = _client_identifier(client_id)
    if isinstance(client, str):
        raise InvalidRequest(client)
    return client


# --- Authorization Request (§5) --------------------------------------------------------------


def _json_value(value: Any) -> Any:
    """Objects and arrays travel as JSON strings in URL / form parameters (§5.1)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise ValueError("must be JSON") from None
    return value


_UrlSafe = Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=r"^[A-Za-z0-9._~-]+$")]
_Presentation = Annotated[str, StringConstraints(min_length=1, max_length=4_000_000)] | JsonObject
_VpToken = Annotated[
    dict[DcqlId, Annotated[list[_Presentation], Field(min_length=1, max_length=100)]], Field(max_length=100)
]
_TransactionDataList = Annotated[
    list[Annotated[str, StringConstraints(min_length=1, max_length=65536)]], Field(min_length=1, max_length=20)
]


class ClientMetadata(ProtocolModel):
    """§5.1 `client_metadata` (§11.1): formats, encryption keys and `enc` values of the Verifier."""

    vp_formats_supported: Annotated[dict[Identifier, JsonObject], Field(min_length=1, max_length=20)] | None = None
    jwks: Jwks | None = None
    encrypted_response_enc_values_supported: Annotated[list[Identifier], Field(min_length=1, max_length=20)] | None = (
        None
    )


class TransactionData(ProtocolModel):
    """§5.1 `transaction_data` element after base64url decoding: `type`, `credential_ids`, type-specific members."""

    type: Identifier
    credential_ids: Annotated[list[DcqlId], Field(min_length=1, max_length=100)]


def decode_transaction_data(value: str) -> TransactionData:
    """Decode one `transaction_data` string; anything malformed raises `InvalidTransactionData`."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (binascii.Error, ValueError):
        raise InvalidTransactionData("transaction_data is not base64url-encoded JSON") from None
    return parse_model(TransactionData, decoded, error=InvalidTransactionData)


class VerifierInfo(ProtocolModel):
    """§5.1 `verifier_info` element: an attestation about the Verifier."""

    format: Identifier
    data: Annotated[str, StringConstraints(min_length=1, max_length=65536)] | JsonObject
    credential_ids: Annotated[list[DcqlId], Field(min_length=1, max_length=100)] | None = None


_VerifierInfoList = Annotated[list[VerifierInfo], Field(min_length=1, max_length=20)]


class AuthorizationRequest(ProtocolModel):
    """§5 Authorization Request parameters, equally the claims of a Request Object.

    JWT claims of a Request Object (`aud`, `iss`, `iat`, `exp`) are kept as unknown members;
    `iss` MUST be ignored (§5). JSON-valued parameters may arrive as JSON strings.
    `client_id` is required: unsigned Digital Credentials API requests (App. A) are out of scope.
    """

    client_id: Url
    response_type: Identifier
    response_mode: Identifier | None = None
    response_uri: Url | None = None
    redirect_uri: Url | None = None
    nonce: _UrlSafe
    state: _UrlSafe | None = None
    dcql_query: Annotated[DcqlQuery | None, BeforeValidator(_json_value)] = None
    scope: Text | None = None
    client_metadata: Annotated[ClientMetadata | None, BeforeValidator(_json_value)] = None
    transaction_data: Annotated[_TransactionDataList | None, BeforeValidator(_json_value)] = None
    verifier_info: Annotated[_VerifierInfoList | None, BeforeValidator(_json_value)] = None
    wallet_nonce: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_request_uri_method(cls, data: Any) -> Any:
        if isinstance(data, dict) and "request_uri_method" in data:
            raise ValueError("request_uri_method MUST NOT be present without request_uri")
        return data

    @model_validator(mode="after")
    def _rules(self) -> AuthorizationRequest:
        client = _client_identifier(self.client_id)
        if isinstance(client, str):
            raise ValueError(client)
        if (self.dcql_query is None) == (self.scope is None):
            raise ValueError("exactly one of dcql_query and scope is required")
        if self.response_mode in _DIRECT_POST_MODES:
            if self.redirect_uri is not None:
                raise ValueError("redirect_uri MUST NOT be present with response_mode direct_post")
            if self.response_uri is None and client.prefix != PREFIX_REDIRECT_URI:
                raise ValueError("response_uri is required with response_mode direct_post")
        if client.prefix == PREFIX_REDIRECT_URI:
            # §5.9.3: the original client identifier *is* the redirect (or response) URI.
            for uri in (self.redirect_uri, self.response_uri):
                if uri is not None and uri != client.orig_client_id:
                    raise ValueError("a redirect_uri client identifier must equal the redirect_uri / response_uri")
        return self

    @property
    def client(self) -> ClientIdentifier:
        return parse_client_id(self.client_id)

    @property
    def effective_response_mode(self) -> str:
        return self.response_mode or RESPONSE_MODE_FRAGMENT

    @property
    def effective_response_uri(self) -> str | None:
        """Where a `direct_post` response goes: `response_uri`, or the `redirect_uri:` client id."""
        if self.response_uri is not None:
            return self.response_uri
        client = self.client
        return client.orig_client_id if client.prefix == PREFIX_REDIRECT_URI else None

    def transaction_data_objects(self) -> list[TransactionData]:
        """Decoded `transaction_data`, each referring to Credential Queries of `dcql_query`
        (raises `InvalidTransactionData`). Wallets that do not support it MUST reject the request."""
        known = {query.id for query in self.dcql_query.credentials} if self.dcql_query else set()
        objects = [decode_transaction_data(value) for value in self.transaction_data or ()]
        for item in objects:
            if not set(item.credential_ids) <= known:
                raise InvalidTransactionData("transaction_data credential_ids do not match the DCQL query")
        return objects

    def to_params(self) -> dict[str, str]:
        """The request as URL / form parameters (objects and arrays as JSON strings)."""
        return {k: v if isinstance(v, str) else json.dumps(v, separators=(",", ":")) for k, v in self.dump().items()}


class RequestUriPost(ProtocolModel):
    """§5.10 form body a Wallet POSTs to the `request_uri` when `request_uri_method` is `post`."""

    wallet_metadata: Annotated[JsonObject | None, BeforeValidator(_json_value)] = None
    wallet_nonce: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None


# --- Response (§8) ---------------------------------------------------------------------------


class AuthorizationResponse(ProtocolModel):
    """§8.1 / §8.2: `vp_token` (Credential Query id -> non-empty array of Presentations) and
    `state`, or an error response (`error`, `error_description`, `state`)."""

    vp_token: Annotated[_VpToken | None, BeforeValidator(_json_value)] = None
    state: _UrlSafe | None = None
    error: Identifier | None = None
    error_description: Text | None = None
    error_uri: Url | None = None

    @model_validator(mode="after")
    def _token_or_error(self) -> AuthorizationResponse:
        if (self.vp_token is None) == (self.error is None):
            raise ValueError("an Authorization Response carries either vp_token or error")
        return self

    def to_form(self) -> dict[str, str]:
        """`application/x-www-form-urlencoded` fields for `direct_post` (`vp_token` as a JSON string)."""
        return {k: v if isinstance(v, str) else json.dumps(v, separators=(",", ":")) for k, v in self.dump().items()}


class DirectPostResponse(ProtocolModel):
    """§8.2: the Response URI's JSON answer; with `redirect_uri` the Wallet MUST send the user agent there."""

    redirect_uri: Url | None = None


# --- Wallet invocation URI (§9) ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthorizationRequestUri:
    """A parsed invocation URI: by reference (`client_id`, `request_uri`, `request_uri_method`),
    a Request Object by value (`client_id`, `request`), or all parameters by value (`parameters`)."""

    client_id: str | None = None
    request_uri: str | None = None
    request_uri_method: Literal["get", "post"] | None = None
    request: str | None = None
    parameters: AuthorizationRequest | None = None


def create_authorization_request_uri(
    request: AuthorizationRequest | None = None,
    *,
    client_id: str | None = None,
    request_uri: str | None = None,
    request_uri_method: Literal["get", "post"] | None = None,
    base: str = OPENID4VP_SCHEME,
) -> str:
    """`openid4vp://?client_id=...&request_uri=...[&request_uri_method=post]` (by reference, RFC 9101)
    or `openid4vp://?<all parameters>` when `request` is given (by value, unsigned)."""
    if request is not None:
        if request_uri is not None or (client_id is not None and client_id != request.client_id):
            raise ValueError("pass either a request (by value) or client_id + request_uri (by reference)")
        params = request.to_params()
    else:
        if not client_id or not request_uri:
            raise ValueError("a request by reference needs client_id and request_uri")
        params = {"client_id": client_id, "request_uri": request_uri}
        if request_uri_method is not None:
            params["request_uri_method"] = request_uri_method
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}{urlencode(params, quote_via=quote)}"


def parse_authorization_request_uri(uri: str) -> AuthorizationRequestUri:
    """Read an invocation URI (`openid4vp://`, `haip-vp://` or a Wallet's https link).

    With `request_uri` only `client_id`, `request_uri` and `request_uri_method` count; the
    Request Object fetched from it is authoritative. Raises `InvalidRequest`, or
    `InvalidRequestUriMethod` for a method other than `get` / `post`.
    """
    if len(uri) > _MAX_URI_LENGTH:
        raise InvalidRequest("the authorization request URI is too long")
    raw = parse_qs(urlsplit(uri).query, keep_blank_values=True)
    repeated = sorted(name for name, values in raw.items() if len(values) > 1)
    if repeated:
        raise InvalidRequest(f"parameters repeated: {', '.join(repeated)}")
    params = {name: values[0] for name, values in raw.items()}
    method = params.get("request_uri_method")
    if "request_uri" in params:
        if "request" in params:
            raise InvalidRequest("request and request_uri MUST NOT both be present")
        if method is not None and method not in ("get", "post"):
            raise InvalidRequestUriMethod("request_uri_method must be get or post")
        if not params.get("client_id"):
            raise InvalidRequest("client_id is required with request_uri")
        parse_client_id(params["client_id"])
        if not _https_or_loopback(params["request_uri"]):
            raise InvalidRequest("request_uri must be an https URL")
        return AuthorizationRequestUri(
            client_id=params["client_id"],
            request_uri=params["request_uri"],
            request_uri_method="post" if method == "post" else "get" if method == "get" else None,
        )
    if "request" in params:
        if not params.get("client_id") or method is not None:
            raise InvalidRequest("a Request Object by value needs client_id and no request_uri_method")
        parse_client_id(params["client_id"])
        return AuthorizationRequestUri(client_id=params["client_id"], request=params["request"])
    parameters = parse_model(AuthorizationRequest, params)
    return AuthorizationRequestUri(client_id=parameters.client_id, parameters=parameters)
