"""OpenID for Verifiable Presentations 1.0, the Wallet's side of the request and the response.

https://openid.net/specs/openid-4-verifiable-presentations-1_0.html

* `resolve_authorization_request`: read an `openid4vp://` (or `haip-vp://`, or https) URI; fetch
  the Request Object from `request_uri` (GET, or POST with `wallet_nonce` when
  `request_uri_method=post`, §5.10) or take it by value (`request`), and check it (§5, RFC 9101):
  `typ` `oauth-authz-req+jwt`; signed by the key its Client Identifier Prefix names (§5.9.3):
  `x509_hash` (SHA-256 of the DER leaf in `x5c`), `x509_san_dns` (the leaf's DNS SAN, and the
  response URI on that host), `decentralized_identifier` (header `kid`, a DID URL of that DID);
  `client_id` identical in the URI and the object; not expired; the `wallet_nonce` we sent.
  `redirect_uri:` requests are accepted only unsigned and by value; a prefix that needs a
  signature is refused when unsigned (§5.9.3, and the errata's "no redirects" on `request_uri`).
* `create_authorization_response`: the `vp_token` (Credential Query id -> array of
  presentations, §8.1) as `direct_post` form fields, or for `direct_post.jwt` a JWE encrypted
  with ECDH-ES to a key of `client_metadata.jwks` and an `enc` the Verifier lists (§8.3).
* `send_authorization_response`: POST it to the response URI; the answer may carry a
  `redirect_uri` the user agent must follow (§8.2).

Only the `vp_token` response type, DCQL queries and the `direct_post` modes are supported;
anything else is refused with a reason, as are `transaction_data` (which a Wallet that does
not understand it MUST reject, §5.1).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey

from schemas.oauth2 import ProtocolError
from schemas.oid4vci import parse_model
from schemas.oid4vp import (
    PREFIX_DECENTRALIZED_IDENTIFIER,
    PREFIX_REDIRECT_URI,
    PREFIX_X509_HASH,
    PREFIX_X509_SAN_DNS,
    REQUEST_OBJECT_MEDIA_TYPE,
    REQUEST_OBJECT_TYP,
    RESPONSE_MODE_DIRECT_POST,
    RESPONSE_MODE_DIRECT_POST_JWT,
    RESPONSE_TYPE_VP_TOKEN,
    SELF_ISSUED_AUDIENCE,
    AuthorizationRequest,
    AuthorizationResponse,
    ClientIdentifier,
    DirectPostResponse,
    parse_authorization_request_uri,
    parse_client_id,
)
from vc.errors import ClaimInvalid, HeaderInvalid, MalformedToken, TokenExpired, VcError
from vc.fetch import Fetcher, FetchStatusError, is_json_media_type
from vc.jws import decode_jws, verify_jws
from vc.key_resolution import resolve_verification_key
from vc.keys import SIGNING_ALGORITHMS
from vc.oid4vci_client import ErrorResponse
from vc.x509 import validate_x5c

__all__ = [
    "SUPPORTED_ENC",
    "SUPPORTED_RESPONSE_MODES",
    "ResolvedRequest",
    "create_authorization_response",
    "create_error_response",
    "encrypt_response",
    "resolve_authorization_request",
    "send_authorization_response",
    "verify_request_object",
]

SUPPORTED_RESPONSE_MODES = (RESPONSE_MODE_DIRECT_POST, RESPONSE_MODE_DIRECT_POST_JWT)
#: JWE `enc` values this wallet can produce, preferred first (HAIP: verifiers list both).
SUPPORTED_ENC = ("A256GCM", "A128GCM")
#: §8.3: the default of `encrypted_response_enc_values_supported`.
DEFAULT_ENC = "A128GCM"
_SIGNED_PREFIXES = (PREFIX_X509_HASH, PREFIX_X509_SAN_DNS, PREFIX_DECENTRALIZED_IDENTIFIER)
_JWT_CLAIMS = frozenset({"iss", "aud", "iat", "exp", "nbf", "jti", "sub"})
_CLOCK_SKEW = timedelta(minutes=1)


@dataclass(frozen=True)
class ResolvedRequest:
    """A checked Authorization Request and who sent it."""

    request: AuthorizationRequest
    client: ClientIdentifier
    signed: bool
    #: x509 prefixes: the DNS names of the verifier's certificate (what a consent screen can show).
    certificate_dns_names: tuple[str, ...] = ()

    @property
    def response_uri(self) -> str:
        uri = self.request.effective_response_uri
        assert uri is not None  # checked when resolving
        return uri


def _protocol(exc: ProtocolError) -> MalformedToken:
    return MalformedToken(exc.description or exc.error)


def _now(now: datetime | None) -> datetime:
    moment = now or datetime.now(UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _host(url: str | None) -> str | None:
    return urlsplit(url).hostname if url else None


def verify_request_object(token: str, *, client_id: str | None, fetcher: Fetcher | None = None,
                          now: datetime | None = None, wallet_nonce: str | None = None,
                          trust_anchors: Sequence[x509.Certificate] | None = None,
                          algorithms: Collection[str] = SIGNING_ALGORITHMS) -> ResolvedRequest:
    """Check a signed Request Object (RFC 9101 + §5.9.3) and parse its claims (§5)."""
    decoded = decode_jws(token)
    header, claims = decoded.header, decoded.claims()
    object_client_id = claims.get("client_id")
    if not isinstance(object_client_id, str):
        raise ClaimInvalid("the request object has no client_id")
    if client_id is not None and object_client_id != client_id:  # §5: identical, prefix included
        raise ClaimInvalid("client_id in the request object differs from the one in the request URI")
    try:
        client = parse_client_id(object_client_id)
    except ProtocolError as exc:
        raise _protocol(exc) from exc
    if client.prefix == PREFIX_REDIRECT_URI:
        raise HeaderInvalid("a redirect_uri client cannot sign its requests; request objects are refused for it")
    if client.prefix not in _SIGNED_PREFIXES:
        raise HeaderInvalid(f"client identifier prefix {client.prefix!r} is not supported by this wallet")
    moment = _now(now)
    dns_names: tuple[str, ...] = ()
    if client.prefix == PREFIX_DECENTRALIZED_IDENTIFIER:
        kid = header.get("kid")
        if not isinstance(kid, str) or kid.split("#", 1)[0] != client.orig_client_id or "#" not in kid:
            raise HeaderInvalid("kid must be a DID URL of the client's DID")
        jwk = resolve_verification_key(header, issuer=client.orig_client_id, fetcher=fetcher, relationship=None)
    else:
        chain = validate_x5c(header.get("x5c"), now=moment,
                             trust_anchors=trust_anchors if client.prefix == PREFIX_X509_SAN_DNS else None,
                             dns_name=client.orig_client_id if client.prefix == PREFIX_X509_SAN_DNS else None)
        if client.prefix == PREFIX_X509_HASH and chain.x509_hash != client.orig_client_id:
            raise HeaderInvalid("the x5c leaf certificate is not the one the x509_hash client identifier names")
        jwk, dns_names = chain.public_jwk, tuple(chain.dns_names)
    verify_jws(decoded, jwk, algorithms=algorithms, typ=REQUEST_OBJECT_TYP)
    for name, late in (("exp", True), ("iat", False), ("nbf", False)):
        value = claims.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ClaimInvalid(f"{name} must be a NumericDate")
        moment_of = datetime.fromtimestamp(value, UTC)
        if late and moment_of <= moment - _CLOCK_SKEW:
            raise TokenExpired("the request object has expired")
        if not late and moment_of > moment + _CLOCK_SKEW:
            raise ClaimInvalid(f"the request object's {name} is in the future")
    audience = claims.get("aud")
    if audience is not None and audience != SELF_ISSUED_AUDIENCE and SELF_ISSUED_AUDIENCE not in (
            audience if isinstance(audience, list) else []):
        raise ClaimInvalid("the request object is addressed to another wallet (aud)")
    if wallet_nonce is not None and claims.get("wallet_nonce") != wallet_nonce:
        raise ClaimInvalid("the request object does not carry the wallet_nonce this wallet sent")
    parameters = {k: v for k, v in claims.items() if k not in _JWT_CLAIMS}
    try:
        request = parse_model(AuthorizationRequest, parameters)
    except ProtocolError as exc:
        raise _protocol(exc) from exc
    return _checked(ResolvedRequest(request, client, True, dns_names))


def _checked(resolved: ResolvedRequest) -> ResolvedRequest:
    """What this wallet needs from any request, signed or not."""
    request, client = resolved.request, resolved.client
    if request.response_type != RESPONSE_TYPE_VP_TOKEN:
        raise ClaimInvalid(f"response_type {request.response_type!r} is not supported (vp_token only)")
    if request.effective_response_mode not in SUPPORTED_RESPONSE_MODES:
        raise ClaimInvalid(f"response_mode {request.effective_response_mode!r} is not supported "
                           "(direct_post and direct_post.jwt only)")
    if request.dcql_query is None:
        raise ClaimInvalid("the request has no dcql_query (scope-aliased queries are not supported)")
    if request.transaction_data:
        raise ClaimInvalid("transaction_data is not supported, so the request must be refused")
    response_uri = request.effective_response_uri
    if response_uri is None:
        raise ClaimInvalid("the request has no response_uri")
    # §5.9.3 x509_san_dns: unless the certificate is trusted otherwise, the response goes to its host.
    if client.prefix == PREFIX_X509_SAN_DNS and _host(response_uri) != client.orig_client_id:
        raise ClaimInvalid("the response_uri is not on the host the x509_san_dns certificate names")
    if request.effective_response_mode == RESPONSE_MODE_DIRECT_POST_JWT:
        metadata = request.client_metadata
        if metadata is None or metadata.jwks is None:
            raise ClaimInvalid("direct_post.jwt needs client_metadata.jwks to encrypt the response to")
    return resolved


def _oauth_error(exc: FetchStatusError) -> tuple[str, str | None] | None:
    """(`error`, `error_description`) of a failed answer with an OAuth-style error body, else None."""
    body: Any = None
    if exc.response is not None and exc.response.content:
        try:
            body = exc.response.json()
        except VcError:
            body = None
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return None
    description = body.get("error_description")
    return body["error"], description if isinstance(description, str) else None


def _fetch_request_object(request_uri: str, method: str | None, fetcher: Fetcher, wallet_nonce: str | None,
                          wallet_metadata: Mapping[str, Any] | None) -> str:
    try:
        if method == "post":  # §5.10
            form = {"wallet_nonce": wallet_nonce} if wallet_nonce else {}
            if wallet_metadata is not None:
                form["wallet_metadata"] = json.dumps(wallet_metadata, separators=(",", ":"))
            response = fetcher.post_form(request_uri, form, accept=REQUEST_OBJECT_MEDIA_TYPE)
        else:
            response = fetcher.request("GET", request_uri, accept=REQUEST_OBJECT_MEDIA_TYPE)
    except FetchStatusError as exc:
        # The verifier's own error (e.g. the request expired or was answered) travels on as an `ErrorResponse`.
        error = _oauth_error(exc)
        if error is not None:
            raise ErrorResponse("the verifier's request_uri", exc.status, *error) from exc
        raise FetchStatusError(f"the verifier's request_uri answered HTTP {exc.status}", status=exc.status,
                               response=exc.response) from exc
    if response.content_type not in (REQUEST_OBJECT_MEDIA_TYPE, "application/jwt"):
        raise MalformedToken(f"the request object came as {response.content_type!r}, not {REQUEST_OBJECT_MEDIA_TYPE}")
    try:
        return response.content.decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise MalformedToken("the request object is not a compact JWT") from exc


def resolve_authorization_request(uri: str, fetcher: Fetcher, *, now: datetime | None = None,
                                  wallet_nonce: str | None = None, wallet_metadata: Mapping[str, Any] | None = None,
                                  trust_anchors: Sequence[x509.Certificate] | None = None) -> ResolvedRequest:
    """Read and check the Authorization Request behind an invocation URI (see the module docstring).

    `wallet_nonce` is sent (and required back) when the request URI is to be POSTed to.
    """
    if not isinstance(uri, str) or not uri.strip():
        raise MalformedToken("an authorization request URI is a non-empty string")
    try:
        parsed = parse_authorization_request_uri(uri.strip())
    except ProtocolError as exc:
        raise _protocol(exc) from exc
    if parsed.parameters is not None:  # everything by value: unsigned
        client = parsed.parameters.client
        if client.prefix != PREFIX_REDIRECT_URI:
            raise HeaderInvalid(f"a {client.prefix} request must be a signed request object, not plain parameters")
        return _checked(ResolvedRequest(parsed.parameters, client, False))
    if parsed.request is not None:
        token = parsed.request
        sent_nonce = None
    else:
        assert parsed.request_uri is not None
        sent_nonce = wallet_nonce if parsed.request_uri_method == "post" else None
        token = _fetch_request_object(parsed.request_uri, parsed.request_uri_method, fetcher, sent_nonce,
                                      wallet_metadata)
    return verify_request_object(token, client_id=parsed.client_id, fetcher=fetcher, now=now,
                                 wallet_nonce=sent_nonce, trust_anchors=trust_anchors)


# -- the response -----------------------------------------------------------------------------

def _encryption_key(jwks: Sequence[Mapping[str, Any]]) -> tuple[Any, dict[str, Any]]:
    """The first key of `client_metadata.jwks` this wallet can encrypt to (§8.3: `use` absent or
    `enc`; its `alg` becomes the JWE `alg`, its `kid` goes into the header)."""
    for jwk in jwks:
        if jwk.get("use", "enc") != "enc" or jwk.get("alg", "ECDH-ES") != "ECDH-ES":
            continue
        try:
            if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
                key: Any = ECKey.import_key(dict(jwk))
            elif jwk.get("kty") == "OKP" and jwk.get("crv") == "X25519":
                key = OKPKey.import_key(dict(jwk))
            else:
                continue
        except (JoseError, ValueError, TypeError):
            continue
        header = {"alg": "ECDH-ES"}
        if isinstance(jwk.get("kid"), str):
            header["kid"] = jwk["kid"]
        return key, header
    raise MalformedToken("client_metadata.jwks has no P-256 or X25519 ECDH-ES key this wallet can encrypt to")


def encrypt_response(payload: Mapping[str, Any], *, jwks: Sequence[Mapping[str, Any]],
                     enc_values: Sequence[str] | None) -> str:
    """§8.3: the response parameters as an unsigned, encrypted JWT (JWE compact serialization)."""
    offered = list(enc_values) if enc_values else [DEFAULT_ENC]
    enc = next((value for value in SUPPORTED_ENC if value in offered), None)
    if enc is None:
        raise MalformedToken(f"none of the verifier's enc values {offered} is supported ({', '.join(SUPPORTED_ENC)})")
    key, header = _encryption_key(jwks)
    plaintext = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return jwe.encrypt_compact({**header, "enc": enc}, plaintext, key)


def create_authorization_response(resolved: ResolvedRequest, vp_token: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """§8.1-§8.3: the form fields to POST to the response URI."""
    request = resolved.request
    response = AuthorizationResponse(vp_token={k: list(v) for k, v in vp_token.items()}, state=request.state)
    if request.effective_response_mode == RESPONSE_MODE_DIRECT_POST_JWT:
        metadata = request.client_metadata
        assert metadata is not None and metadata.jwks is not None  # checked when resolving
        return {"response": encrypt_response(response.dump(), jwks=metadata.jwks.keys,
                                             enc_values=metadata.encrypted_response_enc_values_supported)}
    return response.to_form()


def create_error_response(resolved: ResolvedRequest, error: str, description: str | None = None) -> dict[str, str]:
    """§8.5: an error to the response URI (sent unencrypted, as a wallet unable to answer may)."""
    fields = {"error": error}
    if description:
        fields["error_description"] = description
    if resolved.request.state is not None:
        fields["state"] = resolved.request.state
    return fields


def send_authorization_response(resolved: ResolvedRequest, fields: Mapping[str, str],
                                fetcher: Fetcher) -> DirectPostResponse:
    """§8.2: POST the response; returns the Verifier's answer (with the `redirect_uri` to follow, if any)."""
    try:
        response = fetcher.post_form(resolved.response_uri, fields)
    except FetchStatusError as exc:
        error = _oauth_error(exc)
        if error is not None:
            raise ErrorResponse("the response_uri", exc.status, *error) from exc
        raise
    if not response.content.strip():
        return DirectPostResponse()
    if response.content_type and not is_json_media_type(response.content_type):
        raise MalformedToken("the response_uri answered something that is not JSON")
    try:
        return parse_model(DirectPostResponse, response.json())
    except ProtocolError as exc:
        raise _protocol(exc) from exc
