"""vc.jws: the RFC examples verify, and every known way to forge a JWS is refused by name."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.conftest import VECTORS
from vc.encoding import b64url_decode, b64url_encode, json_bytes
from vc.errors import AlgorithmNotAllowed, HeaderInvalid, MalformedToken, SignatureInvalid
from vc.jwk import private_jwk, private_key_from_jwk, public_key_from_jwk
from vc.jws import decode_jws, sign_jws, typ_matches, verify_jws
from vc.keys import SoftwareSigner

RFC7515_A3 = json.loads((VECTORS / "jose" / "rfc7515_a3_es256.json").read_text())
RFC8037 = json.loads((VECTORS / "jose" / "rfc8037_a4_ed25519.json").read_text())
ALL = ("ES256", "EdDSA", "RS256")


def _public(jwk: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in jwk.items() if k != "d"}


def _forge(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    return f"{b64url_encode(json_bytes(header))}.{b64url_encode(json_bytes(payload))}.{b64url_encode(signature)}"


@pytest.fixture(scope="module")
def es256() -> SoftwareSigner:
    return SoftwareSigner.generate("ES256")


@pytest.fixture(scope="module")
def ed25519() -> SoftwareSigner:
    return SoftwareSigner.generate("EdDSA")


@pytest.fixture(scope="module")
def rs256() -> SoftwareSigner:
    return SoftwareSigner.generate("RS256")


# -- the RFC examples --------------------------------------------------------------------------

def test_rfc7515_a3_es256_example_verifies() -> None:
    decoded = verify_jws(RFC7515_A3["jws"], _public(RFC7515_A3["jwk"]), algorithms=["ES256"], typ=None)
    assert decoded.payload == RFC7515_A3["payload"].encode()
    assert decoded.claims()["iss"] == "joe"


def test_rfc8037_ed25519_example_verifies() -> None:
    decoded = verify_jws(RFC8037["jws"], _public(RFC8037["jwk"]), algorithms=["EdDSA"], typ=None)
    assert decoded.payload == RFC8037["payload"].encode()


def test_rfc8037_ed25519_example_is_reproduced_by_signing() -> None:
    # Ed25519 is deterministic: our signer must produce the RFC's exact JWS.
    signer = SoftwareSigner(private_key_from_jwk(RFC8037["jwk"]))
    assert sign_jws(RFC8037["payload"].encode(), signer, typ=None) == RFC8037["jws"]


@pytest.mark.parametrize("name", ALL)
def test_round_trip(name: str, request: pytest.FixtureRequest) -> None:
    signer = request.getfixturevalue({"ES256": "es256", "EdDSA": "ed25519", "RS256": "rs256"}[name])
    token = sign_jws({"sub": "x"}, signer.with_kid("k1"), typ="JWT", header={"x5u": "https://a.example"})
    decoded = verify_jws(token, signer.public_jwk, algorithms=ALL, typ="JWT")
    assert decoded.header == {"alg": name, "typ": "JWT", "kid": "k1", "x5u": "https://a.example"}
    assert decoded.claims() == {"sub": "x"}


# -- one named negative test each ----------------------------------------------------------------

@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_unsigned_token_is_refused(alg: str, es256: SoftwareSigner) -> None:
    token = _forge({"alg": alg, "typ": "JWT"}, {"iss": "attacker"})
    with pytest.raises(AlgorithmNotAllowed, match="none"):
        verify_jws(token, es256.public_jwk, algorithms=[*ALL, "none"], typ=None)


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_hmac_signed_with_the_public_key_bytes_is_refused(alg: str, rs256: SoftwareSigner) -> None:
    # The classic key-confusion attack: the verifier's *public* key used as an HMAC secret.
    pem = rs256.private_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    header, payload = {"alg": alg}, {"iss": "attacker"}
    signing_input = f"{b64url_encode(json_bytes(header))}.{b64url_encode(json_bytes(payload))}".encode()
    for secret in (pem, json_bytes(rs256.public_jwk)):
        token = _forge(header, payload, hmac.new(secret, signing_input, hashlib.sha256).digest())
        with pytest.raises(AlgorithmNotAllowed, match="HMAC"):
            verify_jws(token, rs256.public_jwk, algorithms=[*ALL, alg], typ=None)


def test_alg_that_does_not_fit_the_key_is_refused(es256: SoftwareSigner, ed25519: SoftwareSigner,
                                                   rs256: SoftwareSigner) -> None:
    rs_token = sign_jws({"a": 1}, rs256, typ=None)
    with pytest.raises(AlgorithmNotAllowed, match="RS256 needs an RSA key"):
        verify_jws(rs_token, es256.public_jwk, algorithms=ALL, typ=None)
    es_token = sign_jws({"a": 1}, es256, typ=None)
    with pytest.raises(AlgorithmNotAllowed, match="ES256 needs a P-256 key"):
        verify_jws(es_token, ed25519.public_jwk, algorithms=ALL, typ=None)
    ed_token = sign_jws({"a": 1}, ed25519, typ=None)
    with pytest.raises(AlgorithmNotAllowed, match="EdDSA needs an Ed25519 key"):
        verify_jws(ed_token, rs256.public_jwk, algorithms=ALL, typ=None)


def test_alg_outside_the_per_call_allowlist_is_refused(es256: SoftwareSigner) -> None:
    token = sign_jws({"a": 1}, es256, typ=None)
    with pytest.raises(AlgorithmNotAllowed, match="not allowed"):
        verify_jws(token, es256.public_jwk, algorithms=["EdDSA", "RS256"], typ=None)
    with pytest.raises(AlgorithmNotAllowed):  # allowed by the caller, but not an algorithm we verify
        verify_jws(_forge({"alg": "ES512"}, {}), es256.public_jwk, algorithms=["ES512"], typ=None)
    with pytest.raises(AlgorithmNotAllowed, match="no alg"):
        verify_jws(_forge({"typ": "JWT"}, {}), es256.public_jwk, algorithms=ALL, typ=None)


def test_unknown_crit_is_refused(es256: SoftwareSigner) -> None:
    token = sign_jws({"a": 1}, es256, typ=None, header={"crit": ["exp"], "exp": 1})
    with pytest.raises(HeaderInvalid, match="critical"):
        verify_jws(token, es256.public_jwk, algorithms=ALL, typ=None)
    assert verify_jws(token, es256.public_jwk, algorithms=ALL, typ=None, understood_crit=["exp"])
    absent = sign_jws({"a": 1}, es256, typ=None, header={"crit": ["exp"]})
    with pytest.raises(HeaderInvalid):  # named in crit but not present
        verify_jws(absent, es256.public_jwk, algorithms=ALL, typ=None, understood_crit=["exp"])
    for crit in ([], "exp", [1]):
        bad = sign_jws({"a": 1}, es256, typ=None, header={"crit": crit})
        with pytest.raises(HeaderInvalid):
            verify_jws(bad, es256.public_jwk, algorithms=ALL, typ=None, understood_crit=["exp"])


def test_wrong_typ_is_refused(es256: SoftwareSigner) -> None:
    token = sign_jws({"a": 1}, es256, typ="JWT")
    with pytest.raises(HeaderInvalid, match="typ"):
        verify_jws(token, es256.public_jwk, algorithms=ALL, typ="kb+jwt")
    untyped = sign_jws({"a": 1}, es256, typ=None)
    with pytest.raises(HeaderInvalid, match="typ"):
        verify_jws(untyped, es256.public_jwk, algorithms=ALL, typ="kb+jwt")
    assert verify_jws(token, es256.public_jwk, algorithms=ALL, typ=["dc+sd-jwt", "jwt"])


def test_typ_compares_like_rfc7515_says() -> None:
    assert typ_matches("application/kb+jwt", "kb+jwt") and typ_matches("KB+JWT", "kb+jwt")
    assert typ_matches("kb+jwt", "application/kb+jwt")
    assert not typ_matches("text/kb+jwt", "kb+jwt") and not typ_matches(None, "JWT")


def test_tampered_payload_is_refused(es256: SoftwareSigner) -> None:
    header, _, signature = sign_jws({"grade": "C"}, es256, typ=None).split(".")
    forged = f"{header}.{b64url_encode(json_bytes({'grade': 'A'}))}.{signature}"
    with pytest.raises(SignatureInvalid):
        verify_jws(forged, es256.public_jwk, algorithms=ALL, typ=None)


@pytest.mark.parametrize("name", ALL)
def test_tampered_signature_is_refused(name: str, request: pytest.FixtureRequest) -> None:
    signer = request.getfixturevalue({"ES256": "es256", "EdDSA": "ed25519", "RS256": "rs256"}[name])
    header, payload, signature = sign_jws({"a": 1}, signer, typ=None).split(".")
    raw = bytearray(b64url_decode(signature))
    raw[len(raw) // 2] ^= 0x01
    with pytest.raises(SignatureInvalid):
        verify_jws(f"{header}.{payload}.{b64url_encode(bytes(raw))}", signer.public_jwk, algorithms=ALL, typ=None)
    with pytest.raises(SignatureInvalid):  # truncated
        verify_jws(f"{header}.{payload}.{b64url_encode(bytes(raw[:-1]))}", signer.public_jwk, algorithms=ALL,
                   typ=None)


def test_a_signature_by_another_key_is_refused(es256: SoftwareSigner) -> None:
    token = sign_jws({"a": 1}, SoftwareSigner.generate("ES256"), typ=None)
    with pytest.raises(SignatureInvalid):
        verify_jws(token, es256.public_jwk, algorithms=ALL, typ=None)


def test_private_key_in_header_jwk_is_refused(es256: SoftwareSigner) -> None:
    token = sign_jws({"a": 1}, es256, typ=None, header={"jwk": private_jwk(es256.private_key)})
    with pytest.raises(HeaderInvalid, match="private"):
        verify_jws(token, es256.public_jwk, algorithms=ALL, typ=None)


def test_verify_with_a_private_jwk_as_the_key_is_refused(es256: SoftwareSigner) -> None:
    token = sign_jws({"a": 1}, es256, typ=None)
    with pytest.raises(MalformedToken):
        verify_jws(token, private_jwk(es256.private_key), algorithms=ALL, typ=None)


def test_verify_with_a_key_object(es256: SoftwareSigner) -> None:
    token = sign_jws({"a": 1}, es256, typ=None)
    assert verify_jws(token, public_key_from_jwk(es256.public_jwk), algorithms=ALL, typ=None).claims() == {"a": 1}


def test_signing_refuses_a_header_alg_the_signer_does_not_sign(es256: SoftwareSigner) -> None:
    with pytest.raises(AlgorithmNotAllowed):
        sign_jws({"a": 1}, es256, typ=None, header={"alg": "none"})


@pytest.mark.parametrize("token", [
    "a.b",
    "a.b.c.d",
    "!!.e30.AA",
    f"{b64url_encode(b'not json')}.e30.AA",
    f"{b64url_encode(b'[1]')}.e30.AA",
    f"{b64url_encode(b'[' * 100_000)}.e30.AA",
    f"{b64url_encode(json_bytes({'alg': 'ES256'}))}.e30=.AA",
    12345,
])
def test_malformed_tokens_are_refused(token: Any) -> None:
    with pytest.raises(MalformedToken):
        decode_jws(token)


@pytest.mark.parametrize("payload", [b"[1, 2]", b"not json", b"[" * 100_000, b"\xff"])
def test_claims_must_be_a_json_object(payload: bytes, es256: SoftwareSigner) -> None:
    decoded = verify_jws(sign_jws(payload, es256, typ=None), es256.public_jwk, algorithms=ALL, typ=None)
    with pytest.raises(MalformedToken):
        decoded.claims()
