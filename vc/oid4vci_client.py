"""OpenID for Verifiable Credential Issuance 1.0, the Wallet's side: protocol steps over a `Fetcher`.

https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html

Each function is one step of the Pre-Authorized Code Flow (§3.5), in order:

1. `resolve_credential_offer`: the offer from an `openid-credential-offer://` URI or https link,
   by value or by reference (§4.1.3: GET, `application/json`).
2. `fetch_issuer_metadata` (§12.2.2; `credential_issuer` must match exactly, §12.2.4) and
   `fetch_authorization_server_metadata` (RFC 8414 §3, `issuer` must match; §12.3).
3. `request_token`: the Token Request with `pre-authorized_code` and `tx_code` iff the offer
   asked for one (§6.1), and a DPoP proof (RFC 9449) when the wallet has a DPoP key and the
   authorization server lists its algorithm; later requests then present the token with a
   proof by that key (`authorization_headers`).
4. `request_nonce` (§7) and `create_proof_jwt` (App. F.1, `openid4vci-proof+jwt`).
5. `request_credential` (§8): `proofs` (one per key: batch issuance, §8.2); accepts
   `credentials` and the pre-final single `credential`.

`obtain_credentials` runs steps 4-5 for one configuration and retries once with a fresh
nonce on `invalid_nonce` (§8.3.1.2). Nothing here checks the credentials themselves; the
caller does, before keeping them. Everything fetched is untrusted and goes through
`vc.fetch.Fetcher` (https only, SSRF guard, size and time limits).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel

from schemas.oauth2 import ProtocolError
from schemas.oid4vci import (
    FORMAT_JWT_VC_JSON,
    OAUTH_AUTHORIZATION_SERVER_WELL_KNOWN,
    OFFER_SCHEME,
    PRE_AUTHORIZED_CODE_GRANT,
    PROOF_JWT_TYP,
    AuthorizationServerMetadata,
    CredentialConfiguration,
    CredentialIssuerMetadata,
    CredentialOffer,
    CredentialResponse,
    NonceResponse,
    TokenRequest,
    TokenResponse,
    authorization_server_metadata_url,
    credential_issuer_metadata_url,
    parse_credential_offer_uri,
    parse_model,
)
from vc.did_jwk import create_did_jwk
from vc.did_key import create_did_key
from vc.dpop import DpopClient
from vc.errors import FetchError, MalformedToken
from vc.fetch import Fetcher, FetchResponse, FetchStatusError, is_json_media_type
from vc.jws import sign_jws
from vc.keys import Signer

__all__ = [
    "HAIP_OFFER_SCHEME",
    "ErrorResponse",
    "IssuerContext",
    "ProofBinding",
    "authorization_server_for",
    "create_proof_jwt",
    "fetch_authorization_server_metadata",
    "fetch_issuer_metadata",
    "obtain_credentials",
    "parse_offer_link",
    "proof_binding_for",
    "request_credential",
    "request_nonce",
    "request_token",
    "resolve_credential_offer",
    "resolve_issuer",
]

#: HAIP 1.0 §4.1: optional custom scheme for credential offers.
HAIP_OFFER_SCHEME = "haip-vci://"
_OFFER_PARAMETERS = ("credential_offer", "credential_offer_uri")
_OPENID_CONFIGURATION = "/.well-known/openid-configuration"

M = TypeVar("M", bound=BaseModel)


class ErrorResponse(FetchError):
    """The other party answered with an OAuth-style error (`{"error", "error_description"}`)."""

    def __init__(self, endpoint: str, status: int, error: str | None, description: str | None) -> None:
        self.endpoint = endpoint
        self.status = status
        self.error = error
        self.description = description
        super().__init__(f"{endpoint} answered HTTP {status}" + (f" {error}" if error else "")
                         + (f": {description}" if description else ""))


def _error_response(endpoint: str, exc: FetchStatusError) -> FetchError:
    """An `ErrorResponse` when the failed response carries an OAuth error body, else `exc` itself."""
    response = exc.response
    if response is None or not response.content:
        return exc
    try:
        body = response.json()
    except FetchError:
        return exc
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return exc
    description = body.get("error_description")
    return ErrorResponse(endpoint, exc.status, body["error"][:100],
                         description[:300] if isinstance(description, str) else None)


def _parse(model: type[M], data: Any, what: str) -> M:
    """Validate something a party sent; a malformed message is a `MalformedToken` naming `what`."""
    try:
        return parse_model(model, data)
    except ProtocolError as exc:
        raise MalformedToken(f"{what}: {exc.description}") from exc


def _json(response: FetchResponse, what: str) -> Any:
    if response.content_type and not is_json_media_type(response.content_type):
        raise MalformedToken(f"{what} is not JSON ({response.content_type})")
    return response.json()


# -- 1. the offer ---------------------------------------------------------------------------------

def parse_offer_link(link: str) -> tuple[CredentialOffer | None, str | None]:
    """§4.1: (offer by value, None) or (None, URL to GET it from).

    Accepts `openid-credential-offer://?...`, `haip-vci://?...`, any link whose query carries
    `credential_offer` or `credential_offer_uri` (a Wallet's https Credential Offer Endpoint),
    and a bare https URL, taken as the `credential_offer_uri` itself.
    """
    if not isinstance(link, str) or not link.strip():
        raise MalformedToken("an offer link is a non-empty string")
    link = link.strip()
    query = parse_qs(urlsplit(link).query, keep_blank_values=True)
    if link.startswith((OFFER_SCHEME, HAIP_OFFER_SCHEME)) or any(p in query for p in _OFFER_PARAMETERS):
        try:
            parsed = parse_credential_offer_uri(link)
        except ProtocolError as exc:
            raise MalformedToken(f"credential offer: {exc.description}") from exc
        return parsed.credential_offer, parsed.credential_offer_uri
    parts = urlsplit(link)
    if parts.scheme in ("https", "http") and parts.hostname:
        return None, link
    raise MalformedToken("not a credential offer: expected openid-credential-offer:// or an https link")


def resolve_credential_offer(link: str, fetcher: Fetcher) -> CredentialOffer:
    """The Credential Offer behind `link`, fetched when it is by reference (§4.1.3)."""
    offer, reference = parse_offer_link(link)
    if offer is not None:
        return offer
    assert reference is not None
    # §4.1.3: the response MUST be application/json (never a signed or unsigned JWT).
    response = fetcher.request("GET", reference, accept="application/json")
    if response.content_type != "application/json":
        raise MalformedToken(f"the credential offer must be served as application/json, not {response.content_type!r}")
    return _parse(CredentialOffer, response.json(), "credential offer")


# -- 2. metadata ----------------------------------------------------------------------------------

def fetch_issuer_metadata(credential_issuer: str, fetcher: Fetcher, *,
                          accept_language: str | None = None) -> CredentialIssuerMetadata:
    """§12.2.2: GET the metadata (JSON) and keep it only if its `credential_issuer` is identical."""
    url = _well_known(credential_issuer, credential_issuer_metadata_url)
    headers = {"Accept-Language": accept_language} if accept_language else None
    response = fetcher.request("GET", url, headers=headers, accept="application/json")
    metadata = _parse(CredentialIssuerMetadata, _json(response, "issuer metadata"), "issuer metadata")
    if metadata.credential_issuer != credential_issuer:
        raise MalformedToken("the issuer metadata names another credential_issuer than the one it was fetched for")
    return metadata


def _well_known(identifier: str, build: Callable[[str], str]) -> str:
    try:
        return build(identifier)
    except ProtocolError as exc:
        raise MalformedToken(f"{identifier!r}: {exc.description}") from exc


def authorization_server_for(offer: CredentialOffer, metadata: CredentialIssuerMetadata) -> str:
    """§4.1.1 / §12.2.4: the AS named by the grant, else the only one listed, else the issuer itself."""
    listed = metadata.authorization_servers
    grant = offer.grants.pre_authorized_code if offer.grants else None
    named = grant.authorization_server if grant else None
    if named is not None:
        if not listed or named not in listed:
            raise MalformedToken("the offer names an authorization_server the issuer metadata does not list")
        return named
    if not listed:
        return metadata.credential_issuer
    if len(listed) > 1:
        raise MalformedToken("the issuer lists several authorization servers and the offer names none")
    return listed[0]


def fetch_authorization_server_metadata(issuer: str, fetcher: Fetcher) -> AuthorizationServerMetadata:
    """RFC 8414 §3 (well-known inserted before the path); on 404, OpenID Connect Discovery's
    `/.well-known/openid-configuration` appended to the issuer. `issuer` must match exactly (§3.3)."""
    url = _well_known(issuer, authorization_server_metadata_url)
    try:
        response = fetcher.request("GET", url, accept="application/json")
    except FetchStatusError as exc:
        if exc.status != 404:
            raise
        response = fetcher.request("GET", issuer.rstrip("/") + _OPENID_CONFIGURATION, accept="application/json")
    metadata = _parse(AuthorizationServerMetadata, _json(response, "authorization server metadata"),
                      "authorization server metadata")
    if metadata.issuer != issuer:
        raise MalformedToken(f"the {OAUTH_AUTHORIZATION_SERVER_WELL_KNOWN} metadata names another issuer")
    return metadata


@dataclass(frozen=True)
class IssuerContext:
    """What the Wallet knows after steps 1-2: the offer and both metadata documents."""

    offer: CredentialOffer
    issuer_metadata: CredentialIssuerMetadata
    authorization_server: AuthorizationServerMetadata

    def offered_configurations(self) -> dict[str, CredentialConfiguration]:
        """§4.1.1: every offered id must be a key of `credential_configurations_supported`."""
        supported = self.issuer_metadata.credential_configurations_supported
        unknown = [cid for cid in self.offer.credential_configuration_ids if cid not in supported]
        if unknown:
            raise MalformedToken(f"the offer names configurations the issuer does not support: {', '.join(unknown)}")
        return {cid: supported[cid] for cid in self.offer.credential_configuration_ids}


def resolve_issuer(offer: CredentialOffer, fetcher: Fetcher, *, accept_language: str | None = None) -> IssuerContext:
    """Steps 1-2 after the offer: fetch and check both metadata documents."""
    metadata = fetch_issuer_metadata(offer.credential_issuer, fetcher, accept_language=accept_language)
    server = fetch_authorization_server_metadata(authorization_server_for(offer, metadata), fetcher)
    context = IssuerContext(offer, metadata, server)
    context.offered_configurations()
    return context


# -- 3. token -------------------------------------------------------------------------------------

def request_token(context: IssuerContext, fetcher: Fetcher, *, tx_code: str | None = None,
                  client_id: str | None = None, dpop: DpopClient | None = None) -> TokenResponse:
    """§6.1: exchange the pre-authorized code; `tx_code` is sent iff the offer asked for one. With a `dpop`
    key whose algorithm the authorization server lists, a DPoP proof goes along (RFC 9449 §5) and the
    token is bound to that key: `token_type` `DPoP`, to be used with `dpop` again."""
    grant = context.offer.grants.pre_authorized_code if context.offer.grants else None
    if grant is None:
        raise MalformedToken("the offer has no pre-authorized code (only that flow is supported)")
    if grant.tx_code is not None and not tx_code:
        raise MalformedToken("this offer needs a transaction code (tx_code)")
    endpoint = context.authorization_server.token_endpoint
    if endpoint is None:
        raise MalformedToken("the authorization server metadata has no token_endpoint")
    request = TokenRequest.model_validate({
        "grant_type": PRE_AUTHORIZED_CODE_GRANT, "pre-authorized_code": grant.pre_authorized_code,
        "tx_code": tx_code if grant.tx_code is not None else None, "client_id": client_id})
    algorithms = context.authorization_server.dpop_signing_alg_values_supported or ()
    proving = dpop if dpop is not None and dpop.signer.alg in algorithms else None

    def headers() -> dict[str, str] | None:
        return {"DPoP": proving.proof(htm="POST", htu=endpoint)} if proving else None

    try:
        response = _send(endpoint, proving, headers,
                         lambda fresh: fetcher.post_form(endpoint, request.to_form(), headers=fresh))
    except FetchStatusError as exc:
        raise _error_response("the token endpoint", exc) from exc
    token = _parse(TokenResponse, _json(response, "token response"), "token response")
    if token.token_type.lower() not in (("bearer", "dpop") if proving else ("bearer",)):
        raise MalformedToken(f"token_type {token.token_type!r} is not supported here")
    return token


def authorization_headers(token: TokenResponse, *, url: str, dpop: DpopClient | None) -> dict[str, str]:
    """The headers that present `token` on a POST to `url`: `Bearer`, or `DPoP` with a fresh proof that
    names the URL and the token (RFC 9449 §7.1) when the token is bound to the `dpop` key."""
    if token.token_type.lower() != "dpop":
        return {"Authorization": f"Bearer {token.access_token}"}
    if dpop is None:
        raise ValueError("a DPoP-bound access token needs its DPoP key")
    return {"Authorization": f"DPoP {token.access_token}",
            "DPoP": dpop.proof(htm="POST", htu=url, access_token=token.access_token)}


def _asks_for_dpop_nonce(exc: FetchStatusError) -> bool:
    """RFC 9449 §8 (`{"error": "use_dpop_nonce"}`, 400) and §9 (`WWW-Authenticate: DPoP error="use_dpop_nonce"`)."""
    if exc.response is not None and 'error="use_dpop_nonce"' in exc.response.headers.get("www-authenticate", ""):
        return True
    answer = _error_response("", exc)
    return isinstance(answer, ErrorResponse) and answer.error == "use_dpop_nonce"


def _send(url: str, dpop: DpopClient | None, headers: Callable[[], dict[str, str] | None],
          send: Callable[[dict[str, str] | None], FetchResponse]) -> FetchResponse:
    """`send(headers())`, keeping any `DPoP-Nonce` the server gives; when it answers `use_dpop_nonce`, once
    more with fresh headers, whose proof then carries that nonce (RFC 9449 §8, §9)."""
    try:
        response = send(headers())
    except FetchStatusError as exc:
        if dpop is None or exc.response is None or not _asks_for_dpop_nonce(exc) or \
                not dpop.take_nonce(url, exc.response.headers):
            raise
        response = send(headers())
    if dpop is not None:
        dpop.take_nonce(url, response.headers)
    return response


# -- 4. nonce and key proofs ----------------------------------------------------------------------

def request_nonce(nonce_endpoint: str, fetcher: Fetcher, *, dpop: DpopClient | None = None) -> str:
    """§7.1: POST with no body and no access token; the answer carries `c_nonce` (and maybe a `DPoP-Nonce`
    for `dpop`, §7.2)."""
    try:
        response = fetcher.request("POST", nonce_endpoint, content=b"", accept="application/json")
    except FetchStatusError as exc:
        raise _error_response("the nonce endpoint", exc) from exc
    if dpop is not None:
        dpop.take_nonce(nonce_endpoint, response.headers)
    return _parse(NonceResponse, _json(response, "nonce response"), "nonce response").c_nonce


@dataclass(frozen=True)
class ProofBinding:
    """How a key proof names the key (App. F.1: exactly one of `jwk`, `kid`): `jwk`, `did:jwk` or `did:key`."""

    method: str

    def header(self, signer: Signer) -> dict[str, Any]:
        jwk = dict(signer.public_jwk)
        if self.method == "jwk":
            return {"jwk": jwk}
        if self.method == "did:jwk":
            return {"kid": create_did_jwk(jwk) + "#0"}
        did = create_did_key(jwk)
        return {"kid": f"{did}#{did.removeprefix('did:key:')}"}


#: Our preference among `cryptographic_binding_methods_supported`.
_BINDING_PREFERENCE = ("jwk", "did:jwk", "did:key")


def proof_binding_for(configuration: CredentialConfiguration, alg: str) -> ProofBinding | None:
    """The binding to use for `configuration`, None when it binds no key; refuses what we cannot do."""
    methods = configuration.cryptographic_binding_methods_supported
    if methods is None:
        return None
    proof_types = configuration.proof_types_supported or {}
    jwt = proof_types.get("jwt")
    if jwt is None:
        raise MalformedToken("the configuration wants key proofs but not of the jwt type")
    if alg not in jwt.proof_signing_alg_values_supported:
        raise MalformedToken(f"the issuer does not accept {alg} key proofs")
    if jwt.key_attestations_required is not None:
        raise MalformedToken("the issuer requires key attestations, which this wallet cannot provide")
    # OB3 (jwt_vc_json) binds the subject DID; a bare jwk becomes did:jwk there too.
    preference = _BINDING_PREFERENCE if configuration.format != FORMAT_JWT_VC_JSON else (
        "did:jwk", "jwk", "did:key")
    for method in preference:
        if method in methods:
            return ProofBinding(method)
    raise MalformedToken(f"none of the binding methods {methods} is supported by this wallet")


def create_proof_jwt(signer: Signer, *, credential_issuer: str, nonce: str | None, binding: ProofBinding,
                     now: datetime | None = None, client_id: str | None = None) -> str:
    """App. F.1: header `typ: openid4vci-proof+jwt`, the key as `jwk` or `kid`; claims `aud` =
    Credential Issuer Identifier, `iat`, `nonce` = c_nonce, `iss` only for a known client."""
    moment = now or datetime.now(UTC)
    claims: dict[str, Any] = {"aud": credential_issuer, "iat": int(moment.timestamp())}
    if nonce is not None:
        claims["nonce"] = nonce
    if client_id is not None:
        claims["iss"] = client_id
    return sign_jws(claims, signer, typ=PROOF_JWT_TYP, header=binding.header(signer), include_kid=False)


# -- 5. credential request ------------------------------------------------------------------------

def _credentials_from(body: Any) -> list[str]:
    """§8.3 `credentials` (and the pre-final `{"credential": ...}`, still sent by some issuers)."""
    if isinstance(body, dict) and "credentials" not in body and "credential" in body:
        body = {"credentials": [{"credential": body["credential"]}]}
    response = _parse(CredentialResponse, body, "credential response")
    if response.credentials is None:
        raise MalformedToken("the issuer deferred the credential; deferred issuance is not supported")
    found = [c.credential for c in response.credentials]
    if not all(isinstance(c, str) for c in found):
        raise MalformedToken("only JWT-based credentials (strings) are supported")
    return found  # type: ignore[return-value]


def request_credential(credential_endpoint: str, fetcher: Fetcher, *, token: TokenResponse,
                       credential_configuration_id: str | None = None, credential_identifier: str | None = None,
                       proofs: Sequence[str] = (), dpop: DpopClient | None = None) -> list[str]:
    """§8.2: one Credential Request under `token` (`authorization_headers`); `proofs` become `{"jwt": [...]}`."""
    if (credential_configuration_id is None) == (credential_identifier is None):
        raise ValueError("name exactly one of credential_configuration_id and credential_identifier")
    body: dict[str, Any] = ({"credential_identifier": credential_identifier} if credential_identifier is not None
                            else {"credential_configuration_id": credential_configuration_id})
    if proofs:
        body["proofs"] = {"jwt": list(proofs)}
    try:
        response = _send(credential_endpoint, dpop if token.token_type.lower() == "dpop" else None,
                         lambda: authorization_headers(token, url=credential_endpoint, dpop=dpop),
                         lambda headers: fetcher.post_json(credential_endpoint, body, headers=headers))
    except FetchStatusError as exc:
        raise _error_response("the credential endpoint", exc) from exc
    return _credentials_from(_json(response, "credential response"))


def _identifiers_for(token: TokenResponse, configuration_id: str) -> list[str]:
    """§6.2: `credential_identifiers` the Token Response granted for this configuration."""
    found: list[str] = []
    for detail in token.authorization_details or ():
        if detail.credential_configuration_id == configuration_id:
            found.extend(detail.credential_identifiers or ())
    return found


def obtain_credentials(context: IssuerContext, token: TokenResponse, configuration_id: str,
                       signers: Sequence[Signer], fetcher: Fetcher, *, now: datetime | None = None,
                       dpop: DpopClient | None = None) -> list[str]:
    """§7-§8 for one configuration: a proof per signer (batch when more than one), retried once
    with a fresh nonce on `invalid_nonce`; `dpop` is the key a DPoP-bound `token` needs. Returns the
    credentials as issued, unchecked."""
    metadata = context.issuer_metadata
    configuration = context.offered_configurations()[configuration_id]
    for encryption in (metadata.credential_request_encryption, metadata.credential_response_encryption):
        if encryption is not None and encryption.encryption_required:
            raise MalformedToken("the issuer requires encrypted credential requests or responses (not supported)")
    binding = proof_binding_for(configuration, signers[0].alg if signers else "ES256")
    if binding is not None and not signers:
        raise ValueError("this configuration binds keys: give at least one signer")
    limit = metadata.batch_credential_issuance.batch_size if metadata.batch_credential_issuance else 1
    signers = list(signers[:limit]) if binding is not None else []
    identifiers = _identifiers_for(token, configuration_id)
    target: Mapping[str, str] = ({"credential_identifier": identifiers[0]} if identifiers
                                 else {"credential_configuration_id": configuration_id})

    def attempt() -> list[str]:
        nonce = request_nonce(metadata.nonce_endpoint, fetcher, dpop=dpop) if metadata.nonce_endpoint else None
        proofs = [create_proof_jwt(s, credential_issuer=metadata.credential_issuer, nonce=nonce, binding=binding,
                                   now=now) for s in signers] if binding is not None else []
        return request_credential(metadata.credential_endpoint, fetcher, token=token, proofs=proofs, dpop=dpop,
                                  **target)

    try:
        return attempt()
    except ErrorResponse as exc:
        if exc.error != "invalid_nonce" or not metadata.nonce_endpoint:
            raise
        return attempt()  # §8.3.1.2: fetch a fresh c_nonce and try again, once
