"""vc.did_web: DID <-> URL (spec examples), the documents we publish, resolution through a Fetcher."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.conftest import VECTORS
from vc.did_web import (
    create_did_web_document,
    did_web_from_url,
    did_web_to_url,
    resolve_did_web,
    verification_method_id,
)
from vc.errors import DidResolutionError, FetchRefused, MalformedToken
from vc.fetch import Fetcher, FetchPolicy, static_resolver
from vc.jwk import jwk_thumbprint, private_jwk, public_jwk
from vc.keys import generate_private_key

URLS = json.loads((VECTORS / "did" / "did_web_urls.json").read_text())["cases"]
RESOLVER = static_resolver({"issuer.example.edu": "93.184.216.34", "intranet.example": "10.0.0.5"})


@pytest.mark.parametrize("case", URLS, ids=[c["did"] for c in URLS])
def test_did_to_url_spec_examples(case: dict[str, str]) -> None:
    assert did_web_to_url(case["did"]) == case["url"]


def test_loopback_gets_http_only_under_the_dev_flag() -> None:
    assert did_web_to_url("did:web:localhost%3A8001") == "https://localhost:8001/.well-known/did.json"
    assert did_web_to_url("did:web:localhost%3A8001:inst:7", allow_http_loopback=True) == (
        "http://localhost:8001/inst/7/did.json")
    assert did_web_to_url("did:web:issuer.example.edu", allow_http_loopback=True).startswith("https://")


@pytest.mark.parametrize("did", [
    "did:web:127.0.0.1",
    "did:web:10.0.0.1%3A8000",
    "did:web:169.254.169.254",
    "did:web:%5B%3A%3A1%5D",
    "did:web:[::1]",
    "did:web:",
    "did:web:example.com:..:admin",
    "did:web:example.com:.",
    "did:web:example.com::x",
    "did:web:example.com:a%2Fb",
    "did:web:example.com%2Fevil",
    "did:web:example.com#key-1",
    "did:web:example.com?versionId=1",
    "did:web:example.com%3A99999",
    "did:web:example.com%3Ahttp",
    "did:web:exa_mple.com",
    "did:web:-example.com",
    "did:jwk:eyJ9",
    "did:WEB:example.com",
])
def test_malformed_or_ip_did_web_is_refused(did: str) -> None:
    with pytest.raises(DidResolutionError):
        did_web_to_url(did, allow_http_loopback=True)


@pytest.mark.parametrize(("url", "did"), [
    ("http://localhost:8001", "did:web:localhost%3A8001"),
    ("http://localhost:8001/", "did:web:localhost%3A8001"),
    ("https://issuer.example.edu/inst/42", "did:web:issuer.example.edu:inst:42"),
    ("https://Issuer.Example.edu:8443/a%3Ab", "did:web:issuer.example.edu%3A8443:a%3Ab"),
])
def test_did_from_a_base_url(url: str, did: str) -> None:
    assert did_web_from_url(url) == did
    did_web_to_url(did, allow_http_loopback=True)  # and it is a valid did:web


@pytest.mark.parametrize("url", ["https://127.0.0.1:8001", "https://issuer.example/?a=1", "ftp://issuer.example",
                                 "https://user@issuer.example"])
def test_did_from_a_bad_base_url_is_refused(url: str) -> None:
    with pytest.raises((MalformedToken, DidResolutionError)):
        did_web_from_url(url)


def test_published_document_follows_vc_jose_cose() -> None:
    did = "did:web:issuer.example.edu:inst:42"
    es256 = public_jwk(generate_private_key("ES256"))
    rs256 = {**public_jwk(generate_private_key("RS256")), "kid": "key-rsa"}
    document = create_did_web_document(did, [es256, rs256])
    assert document["@context"][0] == "https://www.w3.org/ns/did/v1"
    assert document["id"] == did
    ids = [f"{did}#{jwk_thumbprint(es256)}", f"{did}#key-rsa"]
    assert [m["id"] for m in document["verificationMethod"]] == ids
    assert all(m["type"] == "JsonWebKey" and m["controller"] == did for m in document["verificationMethod"])
    assert document["verificationMethod"][0]["publicKeyJwk"] == es256
    assert document["assertionMethod"] == ids and document["authentication"] == ids
    assert verification_method_id(did, rs256) == ids[1]


def test_published_document_refuses_private_and_duplicate_keys() -> None:
    did = "did:web:issuer.example.edu"
    key = generate_private_key("ES256")
    with pytest.raises(MalformedToken):
        create_did_web_document(did, [private_jwk(key)])
    with pytest.raises(MalformedToken):
        create_did_web_document(did, [public_jwk(key), public_jwk(key)])
    with pytest.raises(MalformedToken):
        create_did_web_document(did, [{**public_jwk(key), "kid": "a b#c"}])
    with pytest.raises(DidResolutionError):
        create_did_web_document("did:web:10.0.0.1", [public_jwk(key)])


def _fetcher(routes: dict[str, httpx.Response]) -> Fetcher:
    return Fetcher(FetchPolicy(), transport=httpx.MockTransport(
        lambda request: routes.get(str(request.url), httpx.Response(404))), resolver=RESOLVER)


def test_resolve_checks_the_document_id() -> None:
    did = "did:web:issuer.example.edu:inst:42"
    url = "https://issuer.example.edu/inst/42/did.json"
    document = create_did_web_document(did, [public_jwk(generate_private_key("ES256"))])
    assert resolve_did_web(did, _fetcher({url: httpx.Response(200, json=document)})) == document
    wrapped = {"@context": "https://w3id.org/did-resolution/v1", "didDocument": document}
    assert resolve_did_web(did, _fetcher({url: httpx.Response(200, json=wrapped)})) == document
    other = {**document, "id": "did:web:issuer.example.edu"}
    with pytest.raises(DidResolutionError, match="id"):
        resolve_did_web(did, _fetcher({url: httpx.Response(200, json=other)}))
    with pytest.raises(DidResolutionError):
        resolve_did_web(did, _fetcher({url: httpx.Response(200, json=[document])}))
    with pytest.raises(DidResolutionError, match="cannot fetch"):
        resolve_did_web(did, _fetcher({}))


def test_resolve_never_fetches_from_a_private_address() -> None:
    with pytest.raises(DidResolutionError) as caught:
        resolve_did_web("did:web:intranet.example", _fetcher({}))
    assert isinstance(caught.value.__cause__, FetchRefused)


class _DidHandler(BaseHTTPRequestHandler):
    documents: dict[str, dict[str, Any]] = {}

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        document = self.documents.get(self.path)
        body = json.dumps(document).encode() if document else b""
        self.send_response(200 if document else 404)
        self.send_header("Content-Type", "application/did+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def did_server() -> Iterator[tuple[int, dict[str, dict[str, Any]]]]:
    documents: dict[str, dict[str, Any]] = {}
    handler = type("Handler", (_DidHandler,), {"documents": documents})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], documents
    finally:
        server.shutdown()
        server.server_close()


def test_resolve_from_a_real_server_on_loopback(did_server: tuple[int, dict[str, dict[str, Any]]]) -> None:
    port, documents = did_server
    did = did_web_from_url(f"http://localhost:{port}")
    document = create_did_web_document(did, [public_jwk(generate_private_key("EdDSA"))])
    documents["/.well-known/did.json"] = document
    with Fetcher(FetchPolicy(allow_http_loopback=True)) as fetcher:
        assert resolve_did_web(did, fetcher) == document
    with Fetcher(FetchPolicy()) as fetcher, pytest.raises(DidResolutionError):  # no dev flag: https, loopback refused
        resolve_did_web(did, fetcher)
