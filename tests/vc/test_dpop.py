"""DPoP proofs (RFC 9449): the RFC's own examples, a second opinion from joserfc, and every refusal of §4.3."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from joserfc import jwt as joserfc_jwt
from joserfc.jwk import ECKey

from vc.dpop import DpopProofInvalid, access_token_hash, create_dpop_proof, normalize_htu, verify_dpop_proof
from vc.encoding import b64url_decode, b64url_encode
from vc.jwk import jwk_thumbprint, private_jwk
from vc.jws import sign_jws
from vc.keys import SoftwareSigner

# RFC 9449 Figure 2: a proof for a token request, and §7.1 Figure 12: a proof that goes with an access token.
RFC_TOKEN_REQUEST_PROOF = (
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0Rsc"
    "EJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In"
    "19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiw"
    "iaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg")
RFC_RESOURCE_PROOF = (
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0Rsc"
    "EJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In"
    "19.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0"
    "ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2o"
    "W9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA")
RFC_ACCESS_TOKEN = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
RFC_JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"  # Figure 9
URL = "https://issuer.example.nl/oid4vci/credential"
NOW = 1_780_000_000
WINDOW = {"max_age_seconds": 300, "clock_skew_seconds": 60}


def test_the_rfc_token_request_proof_verifies_with_the_rfc_thumbprint() -> None:
    proof = verify_dpop_proof(RFC_TOKEN_REQUEST_PROOF, htm="POST", htu="https://server.example.com/token",
                              now=1562262616, **WINDOW)
    assert proof.jkt == RFC_JKT and proof.jti == "-BwC3ESc6acc2lTc" and proof.iat == 1562262616
    with pytest.raises(DpopProofInvalid, match="iat"):  # the same proof a day later
        verify_dpop_proof(RFC_TOKEN_REQUEST_PROOF, htm="POST", htu="https://server.example.com/token",
                          now=1562262616 + 86400, **WINDOW)


def test_the_rfc_resource_proof_verifies_with_its_access_token_only() -> None:
    assert access_token_hash(RFC_ACCESS_TOKEN) == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
    where = {"htm": "GET", "htu": "https://resource.example.org/protectedresource", "now": 1562262618, **WINDOW}
    assert verify_dpop_proof(RFC_RESOURCE_PROOF, access_token=RFC_ACCESS_TOKEN, **where).jkt == RFC_JKT
    with pytest.raises(DpopProofInvalid, match="ath"):
        verify_dpop_proof(RFC_RESOURCE_PROOF, access_token=RFC_ACCESS_TOKEN + "x", **where)
    with pytest.raises(DpopProofInvalid, match="htm"):
        verify_dpop_proof(RFC_RESOURCE_PROOF, access_token=RFC_ACCESS_TOKEN, **{**where, "htm": "POST"})


def test_our_proof_verifies_with_joserfc_and_names_what_rfc_9449_asks() -> None:
    signer = SoftwareSigner.generate("ES256")
    proof = create_dpop_proof(signer, htm="POST", htu=URL + "?ignored=1#fragment", access_token="at-1",
                              now=datetime.fromtimestamp(NOW, UTC))
    key = ECKey.import_key(private_jwk(signer.private_key))
    token = joserfc_jwt.decode(proof, key, algorithms=["ES256"])
    assert token.header["typ"] == "dpop+jwt" and token.header["jwk"] == signer.public_jwk and "kid" not in token.header
    claims = token.claims
    assert claims["htm"] == "POST" and claims["htu"] == URL and claims["iat"] == NOW
    assert claims["ath"] == access_token_hash("at-1") and len(claims["jti"]) >= 16
    assert verify_dpop_proof(proof, htm="POST", htu=URL, now=NOW, access_token="at-1", **WINDOW).jkt == \
        jwk_thumbprint(signer.public_jwk)
    again = create_dpop_proof(signer, htm="POST", htu=URL, now=datetime.fromtimestamp(NOW, UTC))
    assert json.loads(b64url_decode(again.split(".")[1]))["jti"] != claims["jti"], "a fresh jti per proof"


def test_htu_is_compared_after_rfc_3986_normalization() -> None:
    assert normalize_htu("HTTPS://Issuer.Example.NL:443/oid4vci/credential?x=1#y") == URL
    assert normalize_htu("http://localhost:8001") == "http://localhost:8001/"
    assert normalize_htu("http://localhost:80/token") == "http://localhost/token"


def _forged(signer: SoftwareSigner, *, header: dict[str, Any] | None = None, drop: str | None = None,
            typ: str = "dpop+jwt", **claims: Any) -> str:
    body: dict[str, Any] = {"jti": "j-1", "htm": "POST", "htu": URL, "iat": NOW, **claims}
    if drop:
        body.pop(drop)
    return sign_jws(body, signer, typ=typ, header={"jwk": dict(signer.public_jwk), **(header or {})},
                    include_kid=False)


def _alg_none(signer: SoftwareSigner) -> str:
    head = b64url_encode(json.dumps({"typ": "dpop+jwt", "alg": "none", "jwk": signer.public_jwk}).encode())
    body = b64url_encode(json.dumps({"jti": "j", "htm": "POST", "htu": URL, "iat": NOW}).encode())
    return f"{head}.{body}."


def _other_key(signer: SoftwareSigner) -> str:
    other = SoftwareSigner.generate("ES256")
    return sign_jws({"jti": "j", "htm": "POST", "htu": URL, "iat": NOW}, signer, typ="dpop+jwt",
                    header={"jwk": other.public_jwk}, include_kid=False)


def _tampered(signer: SoftwareSigner) -> str:
    head, _, signature = _forged(signer).split(".")
    body = b64url_encode(json.dumps({"jti": "j-1", "htm": "POST", "htu": URL, "iat": NOW + 1}).encode())
    return f"{head}.{body}.{signature}"


REFUSALS: dict[str, tuple[Callable[[SoftwareSigner], str], str]] = {
    "not a JWT": (lambda s: "not-a-jwt", "not a JWT"),
    "alg none": (_alg_none, "alg none"),
    "wrong typ": (lambda s: _forged(s, typ="JWT"), "typ"),
    "no jwk": (lambda s: sign_jws({"jti": "j", "htm": "POST", "htu": URL, "iat": NOW}, s, typ="dpop+jwt"),
               "no jwk"),
    "private key in jwk": (lambda s: _forged(s, header={"jwk": private_jwk(s.private_key)}), "private key"),
    "signed by another key than its jwk": (_other_key, "does not verify"),
    "tampered claims": (_tampered, "does not verify"),
    "no jti": (lambda s: _forged(s, drop="jti"), "jti"),
    "other method": (lambda s: _forged(s, htm="GET"), "htm"),
    "other URL": (lambda s: _forged(s, htu="https://issuer.example.nl/oid4vci/notification"), "htu"),
    "other host": (lambda s: _forged(s, htu="https://evil.example/oid4vci/credential"), "htu"),
    "no iat": (lambda s: _forged(s, drop="iat"), "iat"),
    "iat as a string": (lambda s: _forged(s, iat=str(NOW)), "iat"),
    "too old": (lambda s: _forged(s, iat=NOW - 361), "iat"),
    "from the future": (lambda s: _forged(s, iat=NOW + 61), "iat"),
    "no ath with a token": (lambda s: _forged(s), "ath"),
    "ath of another token": (lambda s: _forged(s, ath=access_token_hash("another")), "ath"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_every_section_4_3_check_refuses_a_forged_proof(case: str) -> None:
    make, reason = REFUSALS[case]
    signer = SoftwareSigner.generate("ES256")
    token = "at-1" if "ath" in case else None
    with pytest.raises(DpopProofInvalid, match=reason):
        verify_dpop_proof(make(signer), htm="POST", htu=URL, now=NOW, access_token=token, **WINDOW)


def test_a_proof_within_the_window_and_the_skew_is_accepted() -> None:
    signer = SoftwareSigner.generate("EdDSA")
    for iat in (NOW - 360, NOW + 60):
        assert verify_dpop_proof(_forged(signer, iat=iat), htm="POST", htu=URL, now=NOW, **WINDOW).iat == iat
