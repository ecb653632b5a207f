"""vc.jwk: RFC 7517 import/export and the RFC 7638 thumbprint."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.conftest import VECTORS
from vc.encoding import b64url_encode
from vc.errors import KeyResolutionError, MalformedToken
from vc.jwk import (
    PRIVATE_MEMBERS,
    jwk_thumbprint,
    jwk_thumbprint_uri,
    private_jwk,
    private_key_from_jwk,
    public_jwk,
    public_key_from_jwk,
)
from vc.keys import generate_private_key

RFC7638 = json.loads((VECTORS / "jose" / "rfc7638_3_1_thumbprint.json").read_text())
RFC7515_A3 = json.loads((VECTORS / "jose" / "rfc7515_a3_es256.json").read_text())
RFC8037 = json.loads((VECTORS / "jose" / "rfc8037_a4_ed25519.json").read_text())


def test_rfc7638_thumbprint_example() -> None:
    assert jwk_thumbprint(RFC7638["jwk"]) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" == RFC7638["thumbprint"]
    assert jwk_thumbprint_uri(RFC7638["jwk"]) == (
        "urn:ietf:params:oauth:jwk-thumbprint:sha-256:NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")


def test_thumbprint_ignores_member_order_and_optional_members() -> None:
    reordered = {"e": RFC7638["jwk"]["e"], "n": RFC7638["jwk"]["n"], "kty": "RSA", "use": "sig"}
    assert jwk_thumbprint(reordered) == RFC7638["thumbprint"]


@pytest.mark.parametrize("jwk", [{"kty": "EC", "crv": "P-256", "x": "AA"}, {"kty": "oct", "k": "AA"},
                                 {"kty": ["EC"]}, {}, "not a jwk"])
def test_thumbprint_of_an_incomplete_or_odd_jwk_is_refused(jwk: Any) -> None:
    with pytest.raises(MalformedToken):
        jwk_thumbprint(jwk)


def test_the_rfc_example_keys_import() -> None:
    ec_key = private_key_from_jwk(RFC7515_A3["jwk"])
    assert public_jwk(ec_key) == {k: v for k, v in RFC7515_A3["jwk"].items() if k != "d"}
    ed_key = private_key_from_jwk(RFC8037["jwk"])
    assert public_jwk(ed_key)["x"] == RFC8037["jwk"]["x"]
    assert public_key_from_jwk(RFC7638["jwk"]).key_size == 2048  # type: ignore[union-attr]


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "RS256"])
def test_round_trips(alg: str) -> None:
    key = generate_private_key(alg)
    public = public_jwk(key)
    assert public_jwk(public_key_from_jwk(public)) == public
    assert not PRIVATE_MEMBERS & public.keys()
    private = private_jwk(key)
    assert public_jwk(private_key_from_jwk(private)) == public
    assert private_jwk(private_key_from_jwk(private)) == private


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "RS256"])
def test_private_members_are_refused_on_public_import(alg: str) -> None:
    private = private_jwk(generate_private_key(alg))
    with pytest.raises(MalformedToken, match="private"):
        public_key_from_jwk(private)
    with pytest.raises(MalformedToken, match="private"):
        public_key_from_jwk({**public_jwk(generate_private_key(alg)), "d": "AA"})


def test_symmetric_keys_are_refused() -> None:
    with pytest.raises(MalformedToken):
        public_key_from_jwk({"kty": "oct", "k": b64url_encode(b"secret")})


def test_rsa_below_2048_bits_is_refused() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(MalformedToken, match="2048"):
        public_key_from_jwk(public_jwk(small))


def _p256_with(**members: str) -> dict[str, str]:
    return {**public_jwk(generate_private_key("ES256")), **members}


@pytest.mark.parametrize("jwk", [
    {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"},
    _p256_with(x=b64url_encode(b"\x01" * 31)),
    _p256_with(y=b64url_encode(b"\x01" * 32)),  # not on the curve
    {"kty": "EC", "crv": "P-256"},
    {"kty": "OKP", "crv": "X25519", "x": b64url_encode(b"\x01" * 32)},
    {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(b"\x01" * 31)},
    {"kty": "RSA", "n": 12345, "e": "AQAB"},
    {"kty": "RSA", "n": "AQAB"},
    {"kty": "XYZ"},
    {"crv": "P-256"},
    {"kty": "EC", "crv": "P-256", "x": "AA=", "y": "AA"},
    ["kty", "EC"],
])
def test_malformed_public_jwks_are_refused(jwk: Any) -> None:
    with pytest.raises(MalformedToken):
        public_key_from_jwk(jwk)


def test_only_p256_keys_are_exported() -> None:
    with pytest.raises(KeyResolutionError):
        public_jwk(ec.generate_private_key(ec.SECP384R1()))


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_a_private_jwk_whose_public_half_is_not_its_own_is_refused(alg: str) -> None:
    private = private_jwk(generate_private_key(alg))
    other = public_jwk(generate_private_key(alg))
    with pytest.raises(MalformedToken):
        private_key_from_jwk({**private, **{k: v for k, v in other.items() if k in ("x", "y")}})


def test_incomplete_private_jwks_are_refused() -> None:
    with pytest.raises(MalformedToken):
        private_key_from_jwk(public_jwk(generate_private_key("RS256")))
    with pytest.raises(MalformedToken):
        private_key_from_jwk({"kty": "oct", "k": "AA"})
