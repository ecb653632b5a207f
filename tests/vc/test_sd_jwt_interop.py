"""Interop with an independent SD-JWT implementation: the OpenWallet Foundation `sd-jwt` package
(openwallet-foundation-labs/sd-jwt-python, PyPI `sd-jwt`), both ways.

Its issuer marks disclosable claims with `SDObj`, its keys are jwcrypto JWKs, and its default
header `typ` is `example+sd-jwt`, so `dc+sd-jwt` is set explicitly where an SD-JWT VC is made.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

from vc.jwk import private_jwk
from vc.keys import SoftwareSigner
from vc.sd_jwt import KeyBindingNonceMismatch, UnreferencedDisclosure, parse_sd_jwt, present_sd_jwt, verify_sd_jwt
from vc.sd_jwt_vc import DC_SD_JWT, issue_sd_jwt_vc, verify_sd_jwt_vc

ISS = "https://issuer.example.edu"
VCT = "https://issuer.example.edu/vct/microcredential/v1"
AUD = "x509_hash:verifier.example.com"
NONCE = "c2fQ1d8mXvY0pR7t"

CLAIMS: dict[str, Any] = {
    "iss": ISS,
    "iat": 1_790_000_000,
    "exp": 4_102_444_800,
    "vct": VCT,
    "given_name": "Ada",
    "family_name": "Lovelace",
    "achievement": {"name": "Web Security Essentials", "ects": 3, "criteria": {"narrative": "Pass the exam"}},
    "learning_outcomes": ["Secure API design", "Threat modelling", "Incident response"],
    "result": {"grade": "A", "score": 91.5},
}
DISCLOSABLE = [("given_name",), ("family_name",), ("achievement",), ("achievement", "name"),
               ("learning_outcomes", None), ("result", "grade")]
# The same choice in the reference library's notation.
THEIR_CLAIMS: dict[Any, Any] = {
    "iss": ISS, "iat": CLAIMS["iat"], "exp": CLAIMS["exp"], "vct": VCT,
    SDObj("given_name"): "Ada",
    SDObj("family_name"): "Lovelace",
    SDObj("achievement"): {SDObj("name"): "Web Security Essentials", "ects": 3,
                           "criteria": {"narrative": "Pass the exam"}},
    "learning_outcomes": [SDObj(o) for o in CLAIMS["learning_outcomes"]],
    "result": {SDObj("grade"): "A", "score": 91.5},
}


@pytest.fixture(scope="module")
def issuer() -> SoftwareSigner:
    return SoftwareSigner.generate("ES256", kid="issuer-key-1")


@pytest.fixture(scope="module")
def holder() -> SoftwareSigner:
    return SoftwareSigner.generate("ES256")


def _jwcrypto(signer: SoftwareSigner, *, private: bool = False) -> JWK:
    jwk = private_jwk(signer.private_key) if private else signer.public_jwk
    return JWK.from_json(json.dumps(jwk))


def _their_verifier(token: str, issuer: SoftwareSigner, *, key_binding: bool) -> dict[str, Any]:
    public = _jwcrypto(issuer)
    verifier = SDJWTVerifier(token, lambda iss, header: public, expected_aud=AUD if key_binding else None,
                             expected_nonce=NONCE if key_binding else None)
    return verifier.get_verified_payload()


def _their_issuance(issuer: SoftwareSigner, holder: SoftwareSigner, *, decoys: bool = True) -> str:
    made = SDJWTIssuer(THEIR_CLAIMS, _jwcrypto(issuer, private=True), holder_key=_jwcrypto(holder, private=True),
                       add_decoy_claims=decoys, extra_header_parameters={"typ": DC_SD_JWT, "kid": issuer.kid})
    return made.sd_jwt_issuance


# -- ours issues, theirs verifies ------------------------------------------------------------------

def test_ours_issues_and_presents_with_key_binding_theirs_verifies(issuer: SoftwareSigner,
                                                                   holder: SoftwareSigner) -> None:
    issued = issue_sd_jwt_vc(CLAIMS, issuer, disclosable=DISCLOSABLE, holder_jwk=holder.public_jwk, decoys=2)
    presentation = present_sd_jwt(issued.sd_jwt, disclose=[("achievement", "name"), ("learning_outcomes", 2),
                                                           ("result",)],
                                  holder=holder, audience=AUD, nonce=NONCE)
    claims = _their_verifier(presentation, issuer, key_binding=True)
    assert claims["achievement"] == CLAIMS["achievement"]
    assert claims["learning_outcomes"] == ["Incident response"]
    assert claims["result"] == CLAIMS["result"]
    assert "given_name" not in claims and claims["cnf"]["jwk"] == holder.public_jwk


def test_ours_issues_theirs_verifies_everything_disclosed(issuer: SoftwareSigner) -> None:
    issued = issue_sd_jwt_vc(CLAIMS, issuer, disclosable=DISCLOSABLE, decoys=1)
    assert _their_verifier(issued.sd_jwt, issuer, key_binding=False) == CLAIMS


def test_ours_issues_their_holder_presents_both_verify(issuer: SoftwareSigner, holder: SoftwareSigner) -> None:
    # no decoys: their holder picks array elements by position in the issued array, decoys included
    issued = issue_sd_jwt_vc(CLAIMS, issuer, disclosable=DISCLOSABLE, holder_jwk=holder.public_jwk)
    their_holder = SDJWTHolder(issued.sd_jwt)
    their_holder.create_presentation({"given_name": True, "learning_outcomes": [False, True]}, nonce=NONCE, aud=AUD,
                                     holder_key=_jwcrypto(holder, private=True))
    presentation = their_holder.sd_jwt_presentation
    theirs = _their_verifier(presentation, issuer, key_binding=True)
    ours = verify_sd_jwt_vc(presentation, issuer_key=lambda h, p: issuer.public_jwk, key_binding=True,
                            audience=AUD, nonce=NONCE).claims
    assert ours == theirs
    assert ours["given_name"] == "Ada" and ours["learning_outcomes"] == ["Threat modelling"]


# -- theirs issues, ours verifies ------------------------------------------------------------------

def test_theirs_issues_and_presents_with_key_binding_ours_verifies(issuer: SoftwareSigner,
                                                                   holder: SoftwareSigner) -> None:
    their_holder = SDJWTHolder(_their_issuance(issuer, holder))
    their_holder.create_presentation({"achievement": {"name": True}, "result": {"grade": True},
                                      "learning_outcomes": [True, False, True]},
                                     nonce=NONCE, aud=AUD, holder_key=_jwcrypto(holder, private=True))
    result = verify_sd_jwt_vc(their_holder.sd_jwt_presentation, issuer_key=lambda h, p: issuer.public_jwk,
                              key_binding=True, audience=AUD, nonce=NONCE)
    assert result.claims["achievement"] == CLAIMS["achievement"]
    assert result.claims["result"] == CLAIMS["result"]
    assert result.claims["learning_outcomes"] == ["Secure API design", "Incident response"]
    assert "given_name" not in result.claims and result.header["typ"] == DC_SD_JWT
    assert ("achievement", "name") in result.disclosed_paths


def test_theirs_issues_ours_verifies_everything_disclosed(issuer: SoftwareSigner, holder: SoftwareSigner) -> None:
    result = verify_sd_jwt_vc(_their_issuance(issuer, holder), issuer_key=lambda h, p: issuer.public_jwk,
                              key_binding=False)
    assert {k: v for k, v in result.claims.items() if k != "cnf"} == CLAIMS
    assert result.claims["cnf"]["jwk"]["x"] == holder.public_jwk["x"]


def test_theirs_issues_our_holder_presents_both_verify(issuer: SoftwareSigner, holder: SoftwareSigner) -> None:
    presentation = present_sd_jwt(_their_issuance(issuer, holder), disclose=[("family_name",), ("result", "grade")],
                                  holder=holder, audience=AUD, nonce=NONCE)
    theirs = _their_verifier(presentation, issuer, key_binding=True)
    ours = verify_sd_jwt_vc(presentation, issuer_key=lambda h, p: issuer.public_jwk, key_binding=True,
                            audience=AUD, nonce=NONCE).claims
    assert ours == theirs and ours["family_name"] == "Lovelace" and ours["result"] == {"grade": "A", "score": 91.5}


def test_their_presentation_for_another_nonce_is_refused(issuer: SoftwareSigner, holder: SoftwareSigner) -> None:
    their_holder = SDJWTHolder(_their_issuance(issuer, holder, decoys=False))
    their_holder.create_presentation({"given_name": True}, nonce="another-nonce", aud=AUD,
                                     holder_key=_jwcrypto(holder, private=True))
    with pytest.raises(KeyBindingNonceMismatch):
        verify_sd_jwt_vc(their_holder.sd_jwt_presentation, issuer_key=lambda h, p: issuer.public_jwk,
                         key_binding=True, audience=AUD, nonce=NONCE)


def test_their_issuance_with_a_foreign_disclosure_is_refused(issuer: SoftwareSigner, holder: SoftwareSigner) -> None:
    ours = issue_sd_jwt_vc(CLAIMS, issuer, disclosable=DISCLOSABLE)
    theirs = parse_sd_jwt(_their_issuance(issuer, holder))
    spliced = theirs.sd_jwt + ours.disclosures[0].encoded + "~"
    with pytest.raises(UnreferencedDisclosure):
        verify_sd_jwt(spliced, issuer_key=lambda h, p: issuer.public_jwk, typ=DC_SD_JWT, key_binding=False)
