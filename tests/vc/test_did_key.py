"""vc.did_key against the did:key test vectors (w3c-ccg) and PROTOCOLS.md §7's holder key."""

from __future__ import annotations

import json
from typing import Any

import base58
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.conftest import VECTORS
from vc.did_key import create_did_key, did_key_to_jwk, multikey_to_jwk, resolve_did_key
from vc.encoding import b64url_decode
from vc.errors import DidResolutionError, MalformedToken
from vc.jwk import public_jwk
from vc.keys import generate_private_key

ED25519 = json.loads((VECTORS / "did" / "did_key_ed25519.json").read_text())["cases"]
P256 = json.loads((VECTORS / "did" / "did_key_p256.json").read_text())["cases"]
HOLDER = json.loads((VECTORS / "did" / "holder_key.json").read_text())


@pytest.mark.parametrize("case", ED25519, ids=[c["seed"][-1] for c in ED25519])
def test_ed25519_vectors(case: dict[str, Any]) -> None:
    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(case["seed"]))
    jwk = public_jwk(key)
    assert b64url_decode(jwk["x"]) == base58.b58decode(case["publicKeyBase58"])
    assert create_did_key(jwk) == case["did"]
    assert did_key_to_jwk(case["did"]) == jwk
    if "publicKeyJwk" in case:
        assert jwk == case["publicKeyJwk"]
    assert case["did"].startswith("did:key:z6Mk")


@pytest.mark.parametrize("case", P256, ids=[c["did"][-6:] for c in P256])
def test_p256_vectors(case: dict[str, Any]) -> None:
    assert did_key_to_jwk(case["did"]) == case["publicKeyJwk"]
    assert create_did_key(case["publicKeyJwk"]) == case["did"]
    assert case["did"].startswith("did:key:zDn")


def test_the_holder_key_of_protocols_md() -> None:
    assert create_did_key(HOLDER["jwk"]) == HOLDER["did_key"]
    assert did_key_to_jwk(HOLDER["did_key"]) == HOLDER["jwk"]


def test_document_has_the_did_key_verification_method() -> None:
    did = ED25519[0]["did"]
    value = did.removeprefix("did:key:")
    document = resolve_did_key(did)
    method = document["verificationMethod"][0]
    assert method == {"id": f"{did}#{value}", "type": "Multikey", "controller": did, "publicKeyMultibase": value}
    for relationship in ("authentication", "assertionMethod", "capabilityInvocation", "capabilityDelegation"):
        assert document[relationship] == [f"{did}#{value}"]
    assert document["@context"][0] == "https://www.w3.org/ns/did/v1"
    as_jwk = resolve_did_key(did, public_key_format="JsonWebKey2020")["verificationMethod"][0]
    assert as_jwk["type"] == "JsonWebKey2020" and as_jwk["publicKeyJwk"] == ED25519[0]["publicKeyJwk"]
    assert multikey_to_jwk(value) == ED25519[0]["publicKeyJwk"]


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_round_trip_for_generated_keys(alg: str) -> None:
    jwk = public_jwk(generate_private_key(alg))
    assert did_key_to_jwk(create_did_key(jwk)) == jwk


def test_rsa_keys_are_not_made_into_did_keys() -> None:
    with pytest.raises(MalformedToken):
        create_did_key(public_jwk(generate_private_key("RS256")))


def _did(codec_prefix: bytes, raw: bytes) -> str:
    return "did:key:z" + base58.b58encode(codec_prefix + raw).decode()


@pytest.mark.parametrize("did", [
    "did:jwk:eyJ9",
    "did:key:",
    "did:key:6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",  # no multibase prefix
    "did:key:z0OIl",  # not base58-btc
    "did:key:1:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
    _did(b"\xed\x01", b"\x01" * 31),  # invalidPublicKeyLength
    _did(b"\x80\x24", b"\x04" + b"\x01" * 32),  # not a compressed point
    _did(b"\x80\x24", b"\x02" + b"\xff" * 32),  # x is not on the curve
    _did(b"\xe7\x01", b"\x02" * 33),  # secp256k1: not supported
    _did(b"\xec\x01", b"\x01" * 32),  # X25519: no signatures
    _did(b"\xff\xff\xff", b""),  # runaway varint
    "did:key:z" + "2" * 200,
])
def test_malformed_did_key_is_refused(did: str) -> None:
    with pytest.raises(DidResolutionError):
        resolve_did_key(did)
