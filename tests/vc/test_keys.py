"""vc.keys: sealing private keys at rest, and the software signer."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from vc.encoding import b64url_decode, b64url_encode
from vc.errors import AlgorithmNotAllowed, MalformedToken, VcError
from vc.jwk import public_jwk
from vc.jws import decode_jws, sign_jws, verify_jws
from vc.keys import MasterKey, Signer, SoftwareSigner, generate_private_key, raw_sign

AAD = "issuer-key:did:web:issuer.example#k1"


@pytest.fixture
def master() -> MasterKey:
    return MasterKey.from_text(MasterKey.generate_text())


def test_seal_open_round_trip(master: MasterKey) -> None:
    sealed = master.seal(b"secret bytes", AAD)
    assert master.open(sealed, AAD) == b"secret bytes"
    assert b"secret" not in b64url_decode(sealed)
    assert master.seal(b"secret bytes", AAD) != sealed  # a fresh nonce every time


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "RS256"])
def test_private_keys_seal_and_open(alg: str, master: MasterKey) -> None:
    key = generate_private_key(alg)
    assert public_jwk(master.open_private_key(master.seal_private_key(key, AAD), AAD)) == public_jwk(key)


def test_wrong_aad_is_refused(master: MasterKey) -> None:
    sealed = master.seal(b"secret", AAD)
    with pytest.raises(VcError, match="does not open"):
        master.open(sealed, "issuer-key:did:web:issuer.example#k2")


def test_wrong_master_key_is_refused(master: MasterKey) -> None:
    sealed = master.seal(b"secret", AAD)
    with pytest.raises(VcError, match="does not open"):
        MasterKey.from_text(MasterKey.generate_text()).open(sealed, AAD)


def test_tampered_ciphertext_is_refused(master: MasterKey) -> None:
    raw = bytearray(b64url_decode(master.seal(b"secret", AAD)))
    raw[-20] ^= 0x01
    with pytest.raises(VcError, match="does not open"):
        master.open(b64url_encode(bytes(raw)), AAD)


def test_unknown_format_and_truncation_are_refused(master: MasterKey) -> None:
    raw = b64url_decode(master.seal(b"secret", AAD))
    with pytest.raises(MalformedToken):
        master.open(b64url_encode(b"\x02" + raw[1:]), AAD)
    with pytest.raises(MalformedToken):
        master.open(b64url_encode(raw[:20]), AAD)
    with pytest.raises(MalformedToken):
        master.open("not=base64url", AAD)


def test_a_master_key_is_32_bytes() -> None:
    with pytest.raises(ValueError):
        MasterKey(b"\x00" * 16)
    assert len(b64url_decode(MasterKey.generate_text())) == 32


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "RS256"])
def test_software_signer_signs_what_verifies(alg: str) -> None:
    signer = SoftwareSigner.generate(alg, kid="k1")
    assert isinstance(signer, Signer)
    assert signer.alg == alg and signer.kid == "k1"
    assert signer.public_jwk == public_jwk(signer.private_key)
    token = sign_jws({"sub": "learner"}, signer, typ="JWT")
    assert decode_jws(token).header["kid"] == "k1"
    assert verify_jws(token, signer.public_jwk, algorithms=[alg], typ="JWT").claims() == {"sub": "learner"}


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "RS256"])
def test_software_signer_takes_its_alg_from_the_key(alg: str) -> None:
    signer = SoftwareSigner(generate_private_key(alg))
    assert signer.alg == alg and signer.kid is None
    renamed = signer.with_kid("k2")
    assert renamed.kid == "k2" and renamed.alg == alg and renamed.public_jwk == signer.public_jwk


def test_es256_signatures_are_raw_r_and_s() -> None:
    signer = SoftwareSigner.generate("ES256")
    assert len(signer.sign(b"data")) == 64


def test_a_key_never_signs_another_algorithm() -> None:
    with pytest.raises(AlgorithmNotAllowed):
        raw_sign(generate_private_key("ES256"), "RS256", b"data")
    with pytest.raises(AlgorithmNotAllowed):
        raw_sign(generate_private_key("EdDSA"), "ES256", b"data")
    with pytest.raises(AlgorithmNotAllowed):
        raw_sign(ec.generate_private_key(ec.SECP384R1()), "ES256", b"data")
    with pytest.raises(AlgorithmNotAllowed):
        SoftwareSigner(generate_private_key("ES256"), alg="EdDSA").sign(b"data")
    with pytest.raises(AlgorithmNotAllowed):
        generate_private_key("HS256")
