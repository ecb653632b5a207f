"""vc.key_resolution: which key verifies a JOSE object, for DID, https and header-key issuers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from vc.did_jwk import create_did_jwk
from vc.did_key import create_did_key
from vc.did_web import create_did_web_document, did_web_to_url, verification_method_id
from vc.errors import KeyResolutionError
from vc.fetch import Fetcher, FetchPolicy, static_resolver
from vc.jwk import private_jwk
from vc.jws import decode_jws, sign_jws, verify_jws
from vc.key_resolution import (
    METHOD_JWK_HEADER,
    KeyCache,
    VerificationKeyResolver,
    resolve_verification_key,
)
from vc.keys import SoftwareSigner

WEB_DID = "did:web:issuer.example.edu:inst:42"
ISS = "https://issuer.example.edu/inst/42"
RESOLVER = static_resolver({"issuer.example.edu": "93.184.216.34", "localhost": "127.0.0.1"})


class Server:
    """Documents served over httpx.MockTransport; counts the requests per URL."""

    def __init__(self, routes: dict[str, Any] | None = None) -> None:
        self.routes: dict[str, Any] = routes or {}
        self.hits: dict[str, int] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.hits[url] = self.hits.get(url, 0) + 1
        return httpx.Response(200, json=self.routes[url]) if url in self.routes else httpx.Response(404)

    def fetcher(self, policy: FetchPolicy | None = None) -> Fetcher:
        return Fetcher(policy, transport=httpx.MockTransport(self), resolver=RESOLVER)


@pytest.fixture
def signer() -> SoftwareSigner:
    return SoftwareSigner.generate("ES256")


def web_server(document: dict[str, Any]) -> Server:
    return Server({did_web_to_url(WEB_DID): document})


def verify_with(token: str, resolve: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    decoded = decode_jws(token)
    return verify_jws(decoded, resolve(decoded.header), algorithms=["ES256", "EdDSA"], typ=None).claims()


# -- DID URL kids ------------------------------------------------------------------------------

def test_did_jwk_holder_key_verifies_its_signature(signer: SoftwareSigner) -> None:
    did = create_did_jwk(signer.public_jwk)
    token = sign_jws({"nonce": "n"}, signer.with_kid(f"{did}#0"), typ="kb+jwt")
    claims = verify_with(token, lambda h: resolve_verification_key(h, issuer=None, relationship="authentication"))
    assert claims == {"nonce": "n"}


def test_did_key_holder_key(signer: SoftwareSigner) -> None:
    did = create_did_key(signer.public_jwk)
    kid = f"{did}#{did.removeprefix('did:key:')}"
    assert resolve_verification_key({"alg": "ES256", "kid": kid}, issuer=did) == signer.public_jwk


def test_did_web_issuer_key_verifies_its_signature(signer: SoftwareSigner) -> None:
    document = create_did_web_document(WEB_DID, [signer.public_jwk])
    kid = verification_method_id(WEB_DID, signer.public_jwk)
    token = sign_jws({"iss": WEB_DID}, signer.with_kid(kid), typ="JWT")
    fetcher = web_server(document).fetcher()
    assert verify_with(token, lambda h: resolve_verification_key(h, issuer=WEB_DID, fetcher=fetcher)) == {
        "iss": WEB_DID}


def test_kid_of_another_did_is_refused(signer: SoftwareSigner) -> None:
    other = create_did_jwk(signer.public_jwk)
    with pytest.raises(KeyResolutionError, match="does not belong"):
        resolve_verification_key({"alg": "ES256", "kid": f"{other}#0"}, issuer=WEB_DID)
    with pytest.raises(KeyResolutionError, match="https issuer"):
        resolve_verification_key({"alg": "ES256", "kid": f"{other}#0"}, issuer=ISS, fetcher=Server().fetcher())


def test_fragment_must_name_a_verification_method(signer: SoftwareSigner) -> None:
    fetcher = web_server(create_did_web_document(WEB_DID, [signer.public_jwk])).fetcher()
    with pytest.raises(KeyResolutionError, match="not a verification method"):
        resolve_verification_key({"alg": "ES256", "kid": f"{WEB_DID}#key-9"}, issuer=WEB_DID, fetcher=fetcher)
    did = create_did_jwk(signer.public_jwk)
    with pytest.raises(KeyResolutionError):
        resolve_verification_key({"alg": "ES256", "kid": f"{did}#1"}, issuer=did)


def test_key_agreement_only_keys_do_not_sign(signer: SoftwareSigner) -> None:
    did = create_did_jwk({**signer.public_jwk, "use": "enc"})
    with pytest.raises(KeyResolutionError):
        resolve_verification_key({"alg": "ES256", "kid": f"{did}#0"}, issuer=did)


def test_the_verification_relationship_is_checked(signer: SoftwareSigner) -> None:
    kid = f"{WEB_DID}#auth"
    document = {
        "id": WEB_DID,
        "verificationMethod": [{"id": "#auth", "type": "JsonWebKey", "controller": WEB_DID,
                                "publicKeyJwk": signer.public_jwk}],
        "authentication": ["#auth"],
    }
    fetcher = web_server(document).fetcher()
    header = {"alg": "ES256", "kid": kid}
    with pytest.raises(KeyResolutionError, match="assertionMethod"):
        resolve_verification_key(header, issuer=WEB_DID, fetcher=fetcher)
    assert resolve_verification_key(header, issuer=WEB_DID, fetcher=fetcher,
                                    relationship="authentication") == signer.public_jwk


def test_embedded_verification_methods_and_foreign_controllers(signer: SoftwareSigner) -> None:
    method = {"id": f"{WEB_DID}#k", "type": "JsonWebKey", "controller": WEB_DID, "publicKeyJwk": signer.public_jwk}
    fetcher = web_server({"id": WEB_DID, "assertionMethod": [method]}).fetcher()
    assert resolve_verification_key({"alg": "ES256", "kid": f"{WEB_DID}#k"}, issuer=WEB_DID,
                                    fetcher=fetcher) == signer.public_jwk
    foreign = {**method, "controller": "did:web:attacker.example"}
    fetcher = web_server({"id": WEB_DID, "verificationMethod": [foreign], "assertionMethod": [method["id"]]}).fetcher()
    with pytest.raises(KeyResolutionError, match="controlled"):
        resolve_verification_key({"alg": "ES256", "kid": f"{WEB_DID}#k"}, issuer=WEB_DID, fetcher=fetcher)


def test_issuer_did_without_kid(signer: SoftwareSigner) -> None:
    second = SoftwareSigner.generate("ES256")
    one = web_server(create_did_web_document(WEB_DID, [signer.public_jwk])).fetcher()
    assert resolve_verification_key({"alg": "ES256"}, issuer=WEB_DID, fetcher=one) == signer.public_jwk
    two = web_server(create_did_web_document(WEB_DID, [signer.public_jwk, second.public_jwk])).fetcher()
    with pytest.raises(KeyResolutionError, match="exactly one"):
        resolve_verification_key({"alg": "ES256"}, issuer=WEB_DID, fetcher=two)
    # a header jwk picks one of the DID's keys, never a key of its own
    assert resolve_verification_key({"alg": "ES256", "jwk": second.public_jwk}, issuer=WEB_DID,
                                    fetcher=two) == second.public_jwk
    stranger = SoftwareSigner.generate("ES256").public_jwk
    with pytest.raises(KeyResolutionError, match="not a key of the issuer"):
        resolve_verification_key({"alg": "ES256", "jwk": stranger}, issuer=WEB_DID, fetcher=two)


def test_allowed_methods_limit_the_did_methods(signer: SoftwareSigner) -> None:
    did = create_did_jwk(signer.public_jwk)
    with pytest.raises(KeyResolutionError, match="not accepted"):
        resolve_verification_key({"alg": "ES256", "kid": f"{did}#0"}, issuer=None, allowed_methods={"did:key"})
    with pytest.raises(KeyResolutionError):
        resolve_verification_key({"alg": "ES256", "kid": "did:example:123#k"}, issuer=None)
    with pytest.raises(KeyResolutionError, match="fetcher"):
        resolve_verification_key({"alg": "ES256", "kid": f"{WEB_DID}#k"}, issuer=WEB_DID)


# -- embedded jwk header -----------------------------------------------------------------------

def test_embedded_jwk_only_when_the_caller_allows_it(signer: SoftwareSigner) -> None:
    header = {"alg": "ES256", "jwk": signer.public_jwk}
    with pytest.raises(KeyResolutionError, match="not accepted"):
        resolve_verification_key(header, issuer=None)
    allowed = {METHOD_JWK_HEADER}
    assert resolve_verification_key(header, issuer=None, allowed_methods=allowed) == signer.public_jwk
    with pytest.raises(KeyResolutionError, match="private"):
        resolve_verification_key({"alg": "ES256", "jwk": private_jwk(signer.private_key)}, issuer=None,
                                 allowed_methods=allowed)
    with pytest.raises(KeyResolutionError):
        resolve_verification_key({"alg": "ES256"}, issuer=None, allowed_methods=allowed)


def test_a_key_declared_for_another_alg_is_refused(signer: SoftwareSigner) -> None:
    header = {"alg": "ES256", "jwk": {**signer.public_jwk, "alg": "ES384"}}
    with pytest.raises(KeyResolutionError, match="ES384"):
        resolve_verification_key(header, issuer=None, allowed_methods={METHOD_JWK_HEADER})


# -- https issuers: JWT VC Issuer Metadata ---------------------------------------------------------

METADATA_URL = "https://issuer.example.edu/.well-known/jwt-vc-issuer/inst/42"


def test_jwt_vc_issuer_metadata_with_jwks(signer: SoftwareSigner) -> None:
    key = {**signer.public_jwk, "kid": "k1"}
    other = {**SoftwareSigner.generate("ES256").public_jwk, "kid": "k2"}
    server = Server({METADATA_URL: {"issuer": ISS, "jwks": {"keys": [other, key]}}})
    token = sign_jws({"iss": ISS}, signer.with_kid("k1"), typ="dc+sd-jwt")
    fetcher = server.fetcher()
    assert verify_with(token, lambda h: resolve_verification_key(h, issuer=ISS, fetcher=fetcher)) == {"iss": ISS}
    with pytest.raises(KeyResolutionError):
        resolve_verification_key({"alg": "ES256", "kid": "k9"}, issuer=ISS, fetcher=fetcher)


def test_jwt_vc_issuer_metadata_with_jwks_uri(signer: SoftwareSigner) -> None:
    key = {**signer.public_jwk, "kid": "k1"}
    server = Server({METADATA_URL: {"issuer": ISS, "jwks_uri": "https://issuer.example.edu/jwks.json"},
                     "https://issuer.example.edu/jwks.json": {"keys": [key]}})
    assert resolve_verification_key({"alg": "ES256", "kid": "k1"}, issuer=ISS, fetcher=server.fetcher()) == key


@pytest.mark.parametrize("metadata", [
    {"issuer": "https://issuer.example.edu/inst/43", "jwks": {"keys": []}},
    {"issuer": ISS, "jwks": {"keys": []}, "jwks_uri": "https://issuer.example.edu/jwks.json"},
    {"issuer": ISS},
    {"issuer": ISS, "jwks_uri": "https://10.0.0.1/jwks.json"},
    [ISS],
])
def test_bad_jwt_vc_issuer_metadata_is_refused(metadata: Any, signer: SoftwareSigner) -> None:
    server = Server({METADATA_URL: metadata})
    with pytest.raises(KeyResolutionError):
        resolve_verification_key({"alg": "ES256", "kid": "k1"}, issuer=ISS, fetcher=server.fetcher())


def test_an_https_issuer_ignores_a_header_key(signer: SoftwareSigner) -> None:
    # SD-JWT VC §10.2: the header cannot choose the mechanism; the issuer's published key wins.
    published = {**signer.public_jwk, "kid": "k1"}
    server = Server({METADATA_URL: {"issuer": ISS, "jwks": {"keys": [published]}}})
    attacker = SoftwareSigner.generate("ES256").public_jwk
    header = {"alg": "ES256", "jwk": attacker}
    assert resolve_verification_key(header, issuer=ISS, fetcher=server.fetcher(),
                                    allowed_methods={"jwt-vc-issuer", METHOD_JWK_HEADER}) == published


def test_https_issuers_need_the_method_and_https(signer: SoftwareSigner) -> None:
    server = Server()
    with pytest.raises(KeyResolutionError, match="not accepted"):
        resolve_verification_key({"alg": "ES256"}, issuer=ISS, fetcher=server.fetcher(), allowed_methods={"did:web"})
    with pytest.raises(KeyResolutionError):
        resolve_verification_key({"alg": "ES256"}, issuer="http://issuer.example.edu", fetcher=server.fetcher())
    with pytest.raises(KeyResolutionError):
        resolve_verification_key({"alg": "ES256"}, issuer="urn:example:issuer", fetcher=server.fetcher())
    assert server.hits == {}


def test_loopback_http_issuer_under_the_dev_flag(signer: SoftwareSigner) -> None:
    iss = "http://localhost:8001"
    server = Server({"http://localhost:8001/.well-known/jwt-vc-issuer": {"issuer": iss, "jwks": {
        "keys": [signer.public_jwk]}}})
    dev = server.fetcher(FetchPolicy(allow_http_loopback=True))
    assert resolve_verification_key({"alg": "ES256"}, issuer=iss, fetcher=dev) == signer.public_jwk
    with pytest.raises(KeyResolutionError):
        resolve_verification_key({"alg": "ES256"}, issuer=iss, fetcher=server.fetcher())


# -- cache and the KeyResolver -------------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_cache_keeps_documents_for_the_ttl(signer: SoftwareSigner) -> None:
    server = web_server(create_did_web_document(WEB_DID, [signer.public_jwk]))
    clock = Clock()
    cache = KeyCache(ttl=60, clock=clock)
    fetcher = server.fetcher()
    header = {"alg": "ES256", "kid": verification_method_id(WEB_DID, signer.public_jwk)}
    for _ in range(3):
        resolve_verification_key(header, issuer=WEB_DID, fetcher=fetcher, cache=cache)
    assert server.hits == {did_web_to_url(WEB_DID): 1}
    clock.now += 61
    resolve_verification_key(header, issuer=WEB_DID, fetcher=fetcher, cache=cache)
    assert server.hits == {did_web_to_url(WEB_DID): 2}


def test_cache_does_not_keep_failures(signer: SoftwareSigner) -> None:
    server = Server()
    cache = KeyCache(ttl=60, clock=Clock())
    header = {"alg": "ES256", "kid": "k1"}
    with pytest.raises(KeyResolutionError):
        resolve_verification_key(header, issuer=ISS, fetcher=server.fetcher(), cache=cache)
    server.routes[METADATA_URL] = {"issuer": ISS, "jwks": {"keys": [{**signer.public_jwk, "kid": "k1"}]}}
    assert resolve_verification_key(header, issuer=ISS, fetcher=server.fetcher(), cache=cache)["kid"] == "k1"


def test_cache_is_bounded() -> None:
    cache = KeyCache(ttl=60, clock=Clock(), max_entries=2)
    calls: list[str] = []

    def fetch(name: str) -> Callable[[], str]:
        def run() -> str:
            calls.append(name)
            return name
        return run

    for name in ("a", "b", "c", "c", "a"):
        assert cache.get_or_fetch(name, fetch(name)) == name
    assert calls == ["a", "b", "c", "a"]  # "a" was evicted by "c", "c" came from the cache


def test_verification_key_resolver_is_a_key_resolver(signer: SoftwareSigner) -> None:
    server = web_server(create_did_web_document(WEB_DID, [signer.public_jwk]))
    resolver = VerificationKeyResolver(fetcher=server.fetcher())
    kid = verification_method_id(WEB_DID, signer.public_jwk)
    assert resolver(WEB_DID, {"alg": "ES256", "kid": kid}) == signer.public_jwk
    assert resolver(WEB_DID, {"alg": "ES256", "kid": kid}) == signer.public_jwk
    assert server.hits == {did_web_to_url(WEB_DID): 1}


def test_header_must_be_an_object() -> None:
    with pytest.raises(KeyResolutionError):
        resolve_verification_key(["kid"], issuer=None)  # type: ignore[arg-type]
    with pytest.raises(KeyResolutionError):
        resolve_verification_key({"alg": "ES256"}, issuer=f"{WEB_DID}#k")
