"""vc.did_jwk against the did:jwk spec's examples and PROTOCOLS.md §7's holder key."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import VECTORS
from vc.did_jwk import create_did_jwk, did_jwk_to_jwk, resolve_did_jwk
from vc.encoding import b64url_encode
from vc.errors import DidResolutionError, MalformedToken
from vc.jwk import private_jwk, public_jwk
from vc.keys import generate_private_key

EXAMPLES = json.loads((VECTORS / "did" / "did_jwk_examples.json").read_text())["cases"]
HOLDER = json.loads((VECTORS / "did" / "holder_key.json").read_text())


@pytest.mark.parametrize("case", EXAMPLES, ids=[c["name"] for c in EXAMPLES])
def test_spec_examples_resolve_to_the_spec_documents(case: dict[str, Any]) -> None:
    assert resolve_did_jwk(case["did"]) == case["document"]
    assert case["document"]["verificationMethod"][0]["id"] == case["did_url"]


@pytest.mark.parametrize("case", EXAMPLES, ids=[c["name"] for c in EXAMPLES])
def test_spec_examples_are_created_from_their_jwk(case: dict[str, Any]) -> None:
    assert create_did_jwk(did_jwk_to_jwk(case["did"])) == case["did"]


def test_the_holder_key_of_protocols_md() -> None:
    assert did_jwk_to_jwk(HOLDER["did_jwk"]) == HOLDER["jwk"]
    assert create_did_jwk(HOLDER["jwk"]) == HOLDER["did_jwk"]
    document = resolve_did_jwk(HOLDER["did_jwk"])
    assert document["assertionMethod"] == [HOLDER["did_jwk"] + "#0"]
    assert document["verificationMethod"][0]["publicKeyJwk"] == HOLDER["jwk"]


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "RS256"])
def test_round_trip_for_generated_keys(alg: str) -> None:
    jwk = public_jwk(generate_private_key(alg))
    did = create_did_jwk(jwk)
    assert did_jwk_to_jwk(did) == jwk
    assert resolve_did_jwk(did)["verificationMethod"][0]["publicKeyJwk"] == jwk


def test_use_sig_has_no_key_agreement_and_use_enc_only_key_agreement() -> None:
    jwk = public_jwk(generate_private_key("ES256"))
    signing = resolve_did_jwk(create_did_jwk({**jwk, "use": "sig"}))
    assert "keyAgreement" not in signing and signing["assertionMethod"]
    encryption = resolve_did_jwk(create_did_jwk({**jwk, "use": "enc"}))
    assert encryption["keyAgreement"] and "assertionMethod" not in encryption and "authentication" not in encryption


def test_private_keys_are_refused_both_ways() -> None:
    private = private_jwk(generate_private_key("ES256"))
    with pytest.raises(MalformedToken):
        create_did_jwk(private)
    smuggled = "did:jwk:" + b64url_encode(json.dumps(private).encode())
    with pytest.raises(DidResolutionError, match="private"):
        resolve_did_jwk(smuggled)


@pytest.mark.parametrize("did", [
    "did:jwk:",
    "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
    "did:jwk:not*base64",
    "did:jwk:" + b64url_encode(b"[1,2]"),
    "did:jwk:" + b64url_encode(b'{"crv":"P-256"}'),
    "did:jwk:" + b64url_encode(b'{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}'),
    "did:jwk:" + b64url_encode(b'{"kty":"oct","k":"c2VjcmV0"}'),
    "did:jwk:" + b64url_encode(b'{"kty":"OKP","crv":"X25519","x":"AAAA"}'),
    "did:jwk:" + b64url_encode(b"\xff\xfe"),
    "did:jwk:" + "A" * 5000,
])
def test_malformed_did_jwk_is_refused(did: str) -> None:
    with pytest.raises(DidResolutionError):
        resolve_did_jwk(did)
