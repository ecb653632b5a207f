"""Logging in with OpenID Connect (as eduID offers it): the Relying Party side of the Authorization Code Flow.

OpenID Connect Core 1.0 §3.1 (https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth),
OpenID Connect Discovery 1.0 §4 (https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig),
PKCE (RFC 7636, `S256` only), and the `iss` authorization response parameter (RFC 9207) against mix-up.

1. `begin_login`: discover the provider (`/.well-known/openid-configuration`, its `issuer` must be
   exactly the configured one, Discovery §4.3) and build the Authentication Request (Core §3.1.2.1)
   with fresh `state`, `nonce` and PKCE `code_verifier`; the caller keeps the `LoginTransaction`
   (the wallet seals it into a short-lived cookie of the browser that started the login).
2. `finish_login`: check the Authentication Response against the transaction (`state`, RFC 9207 `iss`,
   an `error`), redeem the code at the token endpoint (Core §3.1.3.1; client_secret_basic or
   client_secret_post; with `code_verifier`), and validate the ID Token (`verify_id_token`, Core
   §3.1.3.7): signature by a key of the provider's JWKS, `iss`, `aud` (and `azp`), `exp`, `iat`, `nonce`.

Everything is fetched through `vc.fetch.Fetcher` (https only except loopback in development,
SSRF guard, limits). Nothing here knows the database or the web framework.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.oauth2 import AccessDenied, InvalidGrant, InvalidRequest, ProtocolError
from vc.encoding import b64url_encode
from vc.errors import FetchError, FetchRefused, VcError
from vc.fetch import Fetcher, FetchStatusError
from vc.jws import decode_jws, verify_jws
from vc.keys import SIGNING_ALGORITHMS
from wallet.errors import PartyError

__all__ = [
    "DISCOVERY_PATH",
    "IdTokenClaims",
    "LoginTransaction",
    "ProviderMetadata",
    "TokenResponse",
    "begin_login",
    "check_authorization_response",
    "create_authorization_request",
    "discover_provider",
    "fetch_jwks",
    "finish_login",
    "redeem_code",
    "verify_id_token",
]

DISCOVERY_PATH = "/.well-known/openid-configuration"
#: Discovery §3: when the provider says nothing, these are the defaults.
_DEFAULT_ID_TOKEN_ALGS = ("RS256",)
_DEFAULT_AUTH_METHODS = ("client_secret_basic",)
#: How long a started login may take before its callback is refused.
LOGIN_TTL = timedelta(minutes=10)


class ProviderMetadata(BaseModel):
    """OpenID Provider Metadata (Discovery §3); unknown members are ignored."""

    model_config = ConfigDict(extra="ignore")

    issuer: str = Field(max_length=2000)
    authorization_endpoint: str = Field(max_length=2000)
    token_endpoint: str = Field(max_length=2000)
    jwks_uri: str = Field(max_length=2000)
    response_types_supported: list[str] = Field(max_length=50)
    id_token_signing_alg_values_supported: list[str] = Field(default=list(_DEFAULT_ID_TOKEN_ALGS), max_length=50)
    token_endpoint_auth_methods_supported: list[str] = Field(default=list(_DEFAULT_AUTH_METHODS), max_length=50)
    code_challenge_methods_supported: list[str] | None = Field(default=None, max_length=20)
    authorization_response_iss_parameter_supported: bool = False


class TokenResponse(BaseModel):
    """A successful Token Response (Core §3.1.3.3): the ID Token is what the wallet needs."""

    model_config = ConfigDict(extra="ignore")

    id_token: str = Field(max_length=20_000)
    token_type: str = Field(max_length=50)
    access_token: str | None = Field(default=None, max_length=20_000)


class IdTokenClaims(BaseModel):
    """The claims of a validated ID Token (Core §2) the wallet uses."""

    model_config = ConfigDict(extra="allow")

    iss: str
    sub: str = Field(min_length=1, max_length=255)
    aud: str | list[str]
    exp: int | float
    iat: int | float
    nonce: str | None = None
    azp: str | None = None
    preferred_username: str | None = None
    name: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class LoginTransaction:
    """What the browser that started a login must bring back to finish it (kept sealed by the caller)."""

    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    issuer: str
    started_at: float
    next_path: str = "/"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> LoginTransaction:
        try:
            return cls(**data)
        except TypeError as exc:
            raise InvalidRequest("the login could not be continued; start again") from exc


def _party_error(what: str, exc: FetchError) -> ProtocolError:
    """A failed exchange with the provider as the learner's error (with the OAuth error code when there is one)."""
    if isinstance(exc, FetchRefused):
        return InvalidRequest(f"refusing to contact the identity provider: {exc}")
    body: Any = None
    if isinstance(exc, FetchStatusError) and exc.response is not None:
        try:
            body = exc.response.json()
        except FetchError:
            body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        description = body.get("error_description")
        detail = f"{body['error'][:100]}" + (f": {description[:300]}" if isinstance(description, str) else "")
        if body["error"] == "invalid_grant":
            return InvalidGrant(f"the identity provider did not accept the login ({detail})")
        return PartyError(f"the identity provider answered {what} with {detail}")
    return PartyError(f"the identity provider could not be reached ({what}): {exc}")


def _model(model: type[Any], data: Any, what: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise PartyError(f"the identity provider sent a malformed {what}") from exc


def discover_provider(issuer: str, fetcher: Fetcher) -> ProviderMetadata:
    """Discovery §4: GET `<issuer>/.well-known/openid-configuration`; its `issuer` must equal ours exactly."""
    try:
        data = fetcher.get_json(issuer.rstrip("/") + DISCOVERY_PATH)
    except FetchError as exc:
        raise _party_error("discovery", exc) from exc
    metadata: ProviderMetadata = _model(ProviderMetadata, data, "configuration")
    if metadata.issuer != issuer:  # Discovery §4.3: MUST be identical
        raise PartyError(f"the identity provider calls itself {metadata.issuer!r}, not {issuer!r}")
    if "code" not in metadata.response_types_supported:
        raise PartyError("the identity provider does not offer the authorization code flow")
    if metadata.code_challenge_methods_supported is not None and "S256" not in metadata.code_challenge_methods_supported:
        raise PartyError("the identity provider does not support PKCE with S256")
    return metadata


def _code_challenge(verifier: str) -> str:
    """RFC 7636 §4.2: S256, BASE64URL(SHA256(ASCII(code_verifier)))."""
    return b64url_encode(hashlib.sha256(verifier.encode("ascii")).digest())


def create_authorization_request(metadata: ProviderMetadata, *, client_id: str, redirect_uri: str, scope: str,
                                 next_path: str = "/", now: datetime | None = None,
                                 ) -> tuple[str, LoginTransaction]:
    """Core §3.1.2.1: the URL to send the browser to, and the transaction to keep until the callback."""
    transaction = LoginTransaction(
        state=secrets.token_urlsafe(32), nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(48),  # RFC 7636 §4.1: 43-128 characters of [A-Za-z0-9-._~]
        redirect_uri=redirect_uri, issuer=metadata.issuer,
        started_at=(now or datetime.now(UTC)).timestamp(), next_path=next_path)
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": scope,
              "state": transaction.state, "nonce": transaction.nonce,
              "code_challenge": _code_challenge(transaction.code_verifier), "code_challenge_method": "S256"}
    separator = "&" if urlsplit(metadata.authorization_endpoint).query else "?"
    return metadata.authorization_endpoint + separator + urlencode(params, quote_via=quote), transaction


def check_authorization_response(params: Mapping[str, str], transaction: LoginTransaction,
                                 metadata: ProviderMetadata, *, now: datetime | None = None) -> str:
    """Core §3.1.2.5-§3.1.2.7 and RFC 9207 §2.4: the authorization code, once the response is ours."""
    state = params.get("state")
    if not isinstance(state, str) or not hmac.compare_digest(state.encode(), transaction.state.encode()):
        raise InvalidRequest("the login answer does not belong to the login started in this browser (state)")
    if (now or datetime.now(UTC)).timestamp() - transaction.started_at > LOGIN_TTL.total_seconds():
        raise InvalidRequest("the login took too long; start again")
    issuer = params.get("iss")
    if issuer is not None and issuer != metadata.issuer:
        raise InvalidRequest("the login answer came from another identity provider (iss)")
    if issuer is None and metadata.authorization_response_iss_parameter_supported:
        raise InvalidRequest("the login answer lacks the identity provider's iss parameter")
    if "error" in params:
        description = params.get("error_description")
        raise AccessDenied(f"the identity provider answered {params['error'][:100]}"
                           + (f": {description[:300]}" if description else ""))
    code = params.get("code")
    if not code:
        raise InvalidRequest("the login answer carries no authorization code")
    return code


def redeem_code(metadata: ProviderMetadata, fetcher: Fetcher, *, code: str, transaction: LoginTransaction,
                client_id: str, client_secret: str) -> TokenResponse:
    """Core §3.1.3.1: the Token Request, authenticated with the client secret (RFC 6749 §2.3.1)."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": transaction.redirect_uri,
            "code_verifier": transaction.code_verifier}
    headers: dict[str, str] = {}
    if "client_secret_basic" in metadata.token_endpoint_auth_methods_supported:
        # RFC 6749 §2.3.1: each part form-urlencoded before the Basic encoding.
        pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    elif "client_secret_post" in metadata.token_endpoint_auth_methods_supported:
        form.update(client_id=client_id, client_secret=client_secret)
    else:
        raise PartyError("the identity provider offers no client authentication this wallet uses")
    try:
        response = fetcher.post_form(metadata.token_endpoint, form, headers=headers)
    except FetchError as exc:
        raise _party_error("the token request", exc) from exc
    token: TokenResponse = _model(TokenResponse, response.json(), "token response")
    if token.token_type.lower() != "bearer":
        raise PartyError("the identity provider issued a token of an unknown type")
    return token


def fetch_jwks(metadata: ProviderMetadata, fetcher: Fetcher) -> list[dict[str, Any]]:
    """The provider's public keys (`jwks_uri`, RFC 7517 JWK Set)."""
    try:
        data = fetcher.get_json(metadata.jwks_uri, accept="application/jwk-set+json, application/json")
    except FetchError as exc:
        raise _party_error("the key set request", exc) from exc
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, list):
        raise PartyError("the identity provider's key set is malformed")
    return [key for key in keys if isinstance(key, dict)]


def _signing_key(keys: list[dict[str, Any]], header: Mapping[str, Any]) -> dict[str, Any]:
    """The JWK the header names (`kid`), or the only signing key there is (Core §10.1)."""
    usable = [k for k in keys if k.get("use") in (None, "sig") and k.get("alg") in (None, header.get("alg"))]
    kid = header.get("kid")
    found = [k for k in usable if k.get("kid") == kid] if kid is not None else usable
    if len(found) != 1:
        raise InvalidGrant("the ID token is not signed by a key the identity provider publishes")
    return {k: v for k, v in found[0].items() if k not in ("use", "alg", "kid", "key_ops", "x5c", "x5t", "x5t#S256")}


def _fail(reason: str) -> InvalidGrant:
    return InvalidGrant(f"the ID token was refused: {reason}")


def verify_id_token(id_token: str, *, metadata: ProviderMetadata, keys: list[dict[str, Any]], client_id: str,
                    nonce: str, now: datetime | None = None, skew: timedelta = timedelta(seconds=60),
                    ) -> IdTokenClaims:
    """Core §3.1.3.7: the ID Token's signature and claims, or `invalid_grant` with the reason."""
    try:
        decoded = decode_jws(id_token)  # 1. an encrypted (five-part) ID Token is not supported
    except VcError as exc:
        raise _fail("it is not a signed JWT") from exc
    allowed = [alg for alg in metadata.id_token_signing_alg_values_supported if alg in SIGNING_ALGORITHMS]
    if decoded.header.get("alg") not in allowed:  # 7. never `none`, never HMAC with the client secret here
        raise _fail(f"it is signed with {str(decoded.header.get('alg'))[:20]!r}, not an algorithm the provider "
                    "announced and this wallet accepts")
    try:  # 6-8. signed with an algorithm the provider announced, by one of its keys
        verify_jws(decoded, _signing_key(keys, decoded.header), algorithms=allowed, typ=None)
        raw = decoded.claims()
    except VcError as exc:
        raise _fail(str(exc)) from exc
    try:
        claims = IdTokenClaims.model_validate(raw)
    except ValidationError as exc:
        raise _fail("required claims are missing or malformed") from exc
    if claims.iss != metadata.issuer:  # 2.
        raise _fail("it was issued by another identity provider (iss)")
    audiences = [claims.aud] if isinstance(claims.aud, str) else claims.aud
    if client_id not in audiences:  # 3.
        raise _fail("it was issued to another client (aud)")
    if len(audiences) > 1 and claims.azp != client_id:  # 3-5. no other audience is trusted
        raise _fail("it names other audiences this wallet does not trust")
    if claims.azp is not None and claims.azp != client_id:
        raise _fail("it was issued to another client (azp)")
    moment = (now or datetime.now(UTC)).timestamp()
    if claims.exp <= moment - skew.total_seconds():  # 9.
        raise _fail("it has expired (exp)")
    if claims.iat > moment + skew.total_seconds():  # 10.
        raise _fail("it was issued in the future (iat)")
    if claims.nonce is None or not hmac.compare_digest(claims.nonce.encode(), nonce.encode()):  # 11.
        raise _fail("it does not answer this login (nonce)")
    return claims


def begin_login(*, issuer: str, client_id: str, redirect_uri: str, scope: str, fetcher: Fetcher,
                next_path: str = "/", now: datetime | None = None) -> tuple[str, LoginTransaction]:
    """Discover the provider and build the Authentication Request (steps 1 of the module docstring)."""
    metadata = discover_provider(issuer, fetcher)
    return create_authorization_request(metadata, client_id=client_id, redirect_uri=redirect_uri, scope=scope,
                                        next_path=next_path, now=now)


def finish_login(params: Mapping[str, str], transaction: LoginTransaction, *, issuer: str, client_id: str,
                 client_secret: str, fetcher: Fetcher, now: datetime | None = None,
                 skew: timedelta = timedelta(seconds=60)) -> IdTokenClaims:
    """Check the callback, redeem the code, validate the ID Token (step 2 of the module docstring)."""
    if transaction.issuer != issuer:
        raise InvalidRequest("the login was started with another identity provider; start again")
    metadata = discover_provider(issuer, fetcher)
    code = check_authorization_response(params, transaction, metadata, now=now)
    token = redeem_code(metadata, fetcher, code=code, transaction=transaction, client_id=client_id,
                        client_secret=client_secret)
    return verify_id_token(token.id_token, metadata=metadata, keys=fetch_jwks(metadata, fetcher),
                           client_id=client_id, nonce=transaction.nonce, now=now, skew=skew)
