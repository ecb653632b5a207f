"""The `jwt` key proof checks (OpenID4VCI 1.0 App. F.1), without HTTP."""

from __future__ import annotations

import time

import pytest

from issuer.services.proofs import verify_proof_jwt
from schemas.oid4vci import InvalidProof
from vc.did_jwk import create_did_jwk
from vc.did_key import create_did_key
from vc.jwk import private_jwk
from vc.jws import sign_jws
from vc.keys import SoftwareSigner

ISSUER = "http://localhost:8001"
NOW = 1_790_000_000


def _proof(holder: SoftwareSigner, *, header: dict | None = None, typ: str = "openid4vci-proof+jwt",
           **claims: object) -> str:
    body = {"aud": ISSUER, "iat": NOW, "nonce": "n-1", **claims}
    return sign_jws({k: v for k, v in body.items() if v is not None}, holder, typ=typ,
                    header=header if header is not None else {"jwk": holder.public_jwk}, include_kid=False)


def _verify(proof: str) -> object:
    return verify_proof_jwt(proof, credential_issuer=ISSUER, now=NOW, max_age_seconds=300, clock_skew_seconds=60)


def test_a_good_proof_names_the_holder_key_and_nonce() -> None:
    holder = SoftwareSigner.generate("ES256")
    verified = _verify(_proof(holder))
    assert verified.jwk == holder.public_jwk and verified.nonce == "n-1"  # type: ignore[attr-defined]
    assert verified.holder_did == create_did_jwk(holder.public_jwk)  # type: ignore[attr-defined]


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_did_key_and_did_jwk_kids_resolve(alg: str) -> None:
    holder = SoftwareSigner.generate(alg)
    did_key = create_did_key(holder.public_jwk)
    assert _verify(_proof(holder, header={"kid": f"{did_key}#{did_key[8:]}"})).holder_did == did_key  # type: ignore[attr-defined]
    did_jwk = create_did_jwk(holder.public_jwk)
    assert _verify(_proof(holder, header={"kid": f"{did_jwk}#0"})).holder_did == did_jwk  # type: ignore[attr-defined]


@pytest.mark.parametrize(("case", "make"), [
    ("wrong typ", lambda h: _proof(h, typ="JWT")),
    ("wrong aud", lambda h: _proof(h, aud="https://elsewhere.example")),
    ("stale iat", lambda h: _proof(h, iat=NOW - 301)),
    ("future iat", lambda h: _proof(h, iat=NOW + 61)),
    ("no iat", lambda h: _proof(h, iat=None)),
    ("no nonce", lambda h: _proof(h, nonce=None)),
    ("two keys", lambda h: _proof(h, header={"jwk": h.public_jwk, "kid": "did:jwk:x#0"})),
    ("no key", lambda h: _proof(h, header={})),
    ("x5c", lambda h: _proof(h, header={"x5c": ["MIIB"]})),
    ("https kid", lambda h: _proof(h, header={"kid": "https://example.org/key"})),
    ("private jwk", lambda h: _proof(h, header={"jwk": private_jwk(h.private_key)})),
    ("other key's jwk", lambda h: _proof(h, header={"jwk": SoftwareSigner.generate().public_jwk})),
    ("not a JWT", lambda h: "not.a.jwt"),
])
def test_bad_proofs_are_invalid_proof(case: str, make: object) -> None:
    with pytest.raises(InvalidProof):
        _verify(make(SoftwareSigner.generate("ES256")))  # type: ignore[operator]


def test_rs256_proofs_are_not_accepted() -> None:
    with pytest.raises(InvalidProof, match="alg"):
        _verify(_proof(SoftwareSigner.generate("RS256")))


def test_real_clock_window() -> None:
    holder = SoftwareSigner.generate()
    proof = _proof(holder, iat=int(time.time()))
    verify_proof_jwt(proof, credential_issuer=ISSUER, now=int(time.time()), max_age_seconds=300, clock_skew_seconds=0)
