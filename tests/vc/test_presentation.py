"""VP JWT for OpenID4VP `jwt_vc_json` (vc.presentation): holder side and verifier side."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from vc.did_jwk import create_did_jwk
from vc.did_key import create_did_key
from vc.encoding import b64url_decode, b64url_encode, json_bytes
from vc.errors import (
    ClaimInvalid,
    HeaderInvalid,
    KeyBindingError,
    MalformedToken,
    SignatureInvalid,
    TokenExpired,
    TokenNotYetValid,
)
from vc.jws import decode_jws, sign_jws
from vc.key_resolution import VerificationKeyResolver
from vc.keys import SoftwareSigner
from vc.presentation import VERIFIABLE_PRESENTATION, create_vp_jwt, verify_vp_jwt
from vc.vc_jwt import VCDM_1_1_CONTEXT, VCDM_2_0_CONTEXT, encode_ob3_jwt, verify_ob3_jwt

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
CLIENT_ID = "decentralized_identifier:did:web:verifier.example.com"
NONCE = "n-0S6_WzA2Mj"
resolve_holder = VerificationKeyResolver(relationship="authentication", cache=None)
resolve_issuer = VerificationKeyResolver(cache=None)


class Holder:
    def __init__(self, alg: str = "ES256", *, did_key: bool = False) -> None:
        key = SoftwareSigner.generate(alg)
        self.did = create_did_key(key.public_jwk) if did_key else create_did_jwk(key.public_jwk)
        fragment = self.did.removeprefix("did:key:") if did_key else "0"
        self.signer = key.with_kid(f"{self.did}#{fragment}")

    def present(self, vc_jwts: list[str], **changes: Any) -> str:
        options: dict[str, Any] = {"holder_signer": self.signer, "holder_did": self.did, "aud": CLIENT_ID,
                                   "nonce": NONCE, "iat": NOW}
        options.update(changes)
        return create_vp_jwt(vc_jwts, **options)


@pytest.fixture(scope="module")
def issuer() -> SoftwareSigner:
    key = SoftwareSigner.generate("ES256")
    return key.with_kid(f"{create_did_jwk(key.public_jwk)}#0")


@pytest.fixture(scope="module")
def holder() -> Holder:
    return Holder()


def issue(issuer: SoftwareSigner, subject_id: str, ob3_spec_dir: Path) -> str:
    credential = json.loads((ob3_spec_dir / "examples" / "1edtech" / "simple.json").read_text())
    del credential["proof"]
    assert issuer.kid is not None
    credential["issuer"]["id"] = issuer.kid.split("#")[0]
    credential["credentialSubject"]["id"] = subject_id
    return encode_ob3_jwt(credential, issuer)


def verify(token: str, **changes: Any) -> Any:
    options: dict[str, Any] = {"aud": CLIENT_ID, "nonce": NONCE, "now": NOW + timedelta(seconds=5),
                               "resolve_holder_key": resolve_holder}
    options.update(changes)
    return verify_vp_jwt(token, **options)


def resign(token: str, signer: SoftwareSigner, **claim_changes: Any) -> str:
    jws = decode_jws(token)
    claims = {**jws.claims(), **claim_changes}
    return sign_jws(claims, signer, typ=jws.header.get("typ"))


# --- the happy path --------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "RS256"])
def test_round_trip(issuer: SoftwareSigner, ob3_spec_dir: Path, alg: str) -> None:
    holder = Holder(alg)
    vc_jwts = [issue(issuer, holder.did, ob3_spec_dir), issue(issuer, holder.did, ob3_spec_dir)]
    token = holder.present(vc_jwts)
    result = verify(token)
    assert result.holder == holder.did
    assert result.holder_jwk == holder.signer.public_jwk
    assert result.verifiable_credential == vc_jwts
    for vc_jwt in result.verifiable_credential:  # the verifier then checks each issuer signature
        assert verify_ob3_jwt(vc_jwt, resolve_key=resolve_issuer, now=NOW).subject == holder.did


def test_vp_jwt_layout(issuer: SoftwareSigner, holder: Holder, ob3_spec_dir: Path) -> None:
    vc_jwt = issue(issuer, holder.did, ob3_spec_dir)
    jws = decode_jws(holder.present([vc_jwt], jti="urn:uuid:vp-1"))
    assert jws.header == {"alg": "ES256", "typ": "JWT", "kid": f"{holder.did}#0"}
    assert jws.claims() == {
        "iss": holder.did, "aud": CLIENT_ID, "nonce": NONCE, "iat": int(NOW.timestamp()),
        "exp": int((NOW + timedelta(minutes=5)).timestamp()), "jti": "urn:uuid:vp-1",
        "vp": {"@context": [VCDM_1_1_CONTEXT], "type": [VERIFIABLE_PRESENTATION], "holder": holder.did,
               "verifiableCredential": [vc_jwt]},
    }
    assert decode_jws(holder.present([vc_jwt])).claims()["jti"].startswith("urn:uuid:")


def test_aud_may_be_a_list(issuer: SoftwareSigner, holder: Holder, ob3_spec_dir: Path) -> None:
    token = holder.present([issue(issuer, holder.did, ob3_spec_dir)], aud="x")
    verify(resign(token, holder.signer, aud=["other", CLIENT_ID]))


def test_same_key_under_another_did_is_bound(issuer: SoftwareSigner, ob3_spec_dir: Path) -> None:
    holder = Holder()
    as_did_key = create_did_key(holder.signer.public_jwk)
    token = holder.present([issue(issuer, as_did_key, ob3_spec_dir)])
    assert verify(token).holder == holder.did


def test_did_key_holder(issuer: SoftwareSigner, ob3_spec_dir: Path) -> None:
    holder = Holder("EdDSA", did_key=True)
    assert verify(holder.present([issue(issuer, holder.did, ob3_spec_dir)])).holder == holder.did


# --- refused ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def presentation(issuer: SoftwareSigner, holder: Holder, ob3_spec_dir: Path) -> str:
    return holder.present([issue(issuer, holder.did, ob3_spec_dir)])


def test_wrong_aud_is_refused(presentation: str) -> None:
    with pytest.raises(ClaimInvalid, match="aud"):
        verify(presentation, aud="x509_hash:other-verifier")


def test_wrong_nonce_is_refused(presentation: str) -> None:
    with pytest.raises(ClaimInvalid, match="nonce"):
        verify(presentation, nonce="another-nonce")
    with pytest.raises(ClaimInvalid, match="nonce"):
        verify(presentation, nonce="n\u00f6nce")


def test_stale_presentation_is_refused(presentation: str) -> None:
    with pytest.raises(TokenExpired, match="stale|expired"):
        verify(presentation, now=NOW + timedelta(minutes=7))
    with pytest.raises(TokenExpired, match="stale"):
        verify(presentation, now=NOW + timedelta(minutes=4), max_age=timedelta(minutes=1))


def test_presentation_from_the_future_is_refused(presentation: str) -> None:
    with pytest.raises(TokenNotYetValid):
        verify(presentation, now=NOW - timedelta(minutes=5))


def test_expired_exp_is_refused(presentation: str, holder: Holder) -> None:
    token = resign(presentation, holder.signer, exp=int(NOW.timestamp()) - 120)
    with pytest.raises(TokenExpired, match="exp"):
        verify(token, now=NOW)


def test_missing_iat_is_refused(presentation: str, holder: Holder) -> None:
    token = resign(presentation, holder.signer, iat=None)
    with pytest.raises(ClaimInvalid, match="iat"):
        verify(token)


def test_holder_key_not_the_bound_key_is_refused(issuer: SoftwareSigner, ob3_spec_dir: Path) -> None:
    owner, thief = Holder(), Holder()
    stolen = issue(issuer, owner.did, ob3_spec_dir)
    with pytest.raises(KeyBindingError, match="bound"):
        verify(thief.present([stolen]))


def test_holder_claiming_anothers_did_is_refused(issuer: SoftwareSigner, ob3_spec_dir: Path) -> None:
    owner, thief = Holder(), Holder()
    stolen = issue(issuer, owner.did, ob3_spec_dir)
    with pytest.raises(KeyBindingError, match="kid"):  # thief's kid, owner's iss
        verify(thief.present([stolen], holder_did=owner.did))
    forged = thief.signer.with_kid(owner.signer.kid)  # owner's kid, thief's key
    with pytest.raises(SignatureInvalid):
        verify(create_vp_jwt([stolen], holder_signer=forged, holder_did=owner.did, aud=CLIENT_ID,
                             nonce=NONCE, iat=NOW))


def test_unbound_credential(issuer: SoftwareSigner, holder: Holder, ob3_spec_dir: Path) -> None:
    token = holder.present([issue(issuer, "https://students.example.edu/42", ob3_spec_dir)])
    with pytest.raises(KeyBindingError, match="not bound"):
        verify(token)
    assert verify(token, require_binding=False).holder == holder.did


def test_tampered_signature_is_refused(presentation: str) -> None:
    header, payload, signature = presentation.split(".")
    claims = json.loads(b64url_decode(payload))
    claims["nonce"] = NONCE
    claims["aud"] = "x"
    with pytest.raises(SignatureInvalid):
        verify(f"{header}.{b64url_encode(json_bytes(claims))}.{signature}", aud="x")


@pytest.mark.parametrize(
    ("vp", "error", "reason"),
    [
        (None, MalformedToken, "no vp claim"),
        ({"@context": [VCDM_2_0_CONTEXT], "type": [VERIFIABLE_PRESENTATION]}, ClaimInvalid, "VCDM 1.1 layout"),
        ({"@context": [VCDM_1_1_CONTEXT], "type": ["Other"]}, ClaimInvalid, "VerifiablePresentation"),
        ({"@context": [VCDM_1_1_CONTEXT], "type": [VERIFIABLE_PRESENTATION], "verifiableCredential": []},
         ClaimInvalid, "one or more"),
        ({"@context": [VCDM_1_1_CONTEXT], "type": [VERIFIABLE_PRESENTATION], "holder": "did:example:x",
          "verifiableCredential": ["a.b.c"]}, ClaimInvalid, "holder"),
    ],
)
def test_malformed_vp_claim_is_refused(
    presentation: str, holder: Holder, vp: dict[str, Any] | None, error: type[Exception], reason: str
) -> None:
    with pytest.raises(error, match=reason):
        verify(resign(presentation, holder.signer, vp=vp))


def test_wrong_typ_and_non_did_iss_are_refused(presentation: str, holder: Holder) -> None:
    claims = decode_jws(presentation).claims()
    with pytest.raises(HeaderInvalid):
        verify(sign_jws(claims, holder.signer, typ="kb+jwt"))
    with pytest.raises(ClaimInvalid, match="DID"):
        verify(resign(presentation, holder.signer, iss="https://wallet.example.org"))


def test_create_refuses_bad_input(holder: Holder) -> None:
    with pytest.raises(MalformedToken):
        holder.present([])
    with pytest.raises(ClaimInvalid):
        holder.present(["a.b.c"], holder_did="https://wallet.example.org")


@pytest.mark.parametrize(
    ("claims", "error", "reason"),
    [
        ({"nbf": int(NOW.timestamp()) + 600}, TokenNotYetValid, "nbf"),
        ({"iat": "now"}, ClaimInvalid, "NumericDate"),
        ({"iat": 1e20}, ClaimInvalid, "out of range"),
        ({"@context": [VCDM_1_1_CONTEXT]}, ClaimInvalid, "both"),
    ],
)
def test_bad_presentation_claims_are_refused(
    presentation: str, holder: Holder, claims: dict[str, Any], error: type[Exception], reason: str
) -> None:
    with pytest.raises(error, match=reason):
        verify(resign(presentation, holder.signer, **claims))


def test_a_single_credential_string_is_accepted(presentation: str, holder: Holder) -> None:
    vp = decode_jws(presentation).claims()["vp"]
    vp["verifiableCredential"] = vp["verifiableCredential"][0]
    assert verify(resign(presentation, holder.signer, vp=vp)).verifiable_credential == [vp["verifiableCredential"]]
