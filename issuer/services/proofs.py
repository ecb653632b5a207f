"""The `jwt` key proof of a Credential Request (OpenID4VCI 1.0 App. F.1, checked per §8.2 / App. F.4).

https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html#name-jwt-proof-type

Header: `typ` MUST be `openid4vci-proof+jwt`; `alg` asymmetric (not `none`) and one we list in
`proof_signing_alg_values_supported`; exactly one of `kid` (a DID URL: did:jwk or did:key here),
`jwk` (a public key, never a private one) or `x5c` (not supported here).
Claims: `aud` = the Credential Issuer Identifier, `iat` within our window, `nonce` = a `c_nonce`
from our Nonce Endpoint (consumed by the caller, atomically, after the signature checks out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.oid4vci import PROOF_JWT_TYP, InvalidProof
from vc.did_jwk import DID_JWK_PREFIX, create_did_jwk, did_jwk_to_jwk
from vc.did_key import DID_KEY_PREFIX, did_key_to_jwk
from vc.errors import VcError
from vc.jwk import PRIVATE_MEMBERS, jwk_thumbprint, key_members
from vc.jws import decode_jws, verify_jws

__all__ = ["PROOF_SIGNING_ALGORITHMS", "VerifiedProof", "verify_proof_jwt"]

#: `proof_signing_alg_values_supported` of every configuration.
PROOF_SIGNING_ALGORITHMS = ("ES256", "EdDSA")


@dataclass(frozen=True)
class VerifiedProof:
    """A proof that checked out: the holder's public key, how to name it, and the nonce to consume."""

    jwk: dict[str, Any]
    #: The holder's DID (`did:jwk` made from a `jwk` header, or the DID of the `kid`).
    holder_did: str
    nonce: str
    thumbprint: str


def _holder_key(header: dict[str, Any]) -> tuple[dict[str, Any], str]:
    present = [name for name in ("kid", "jwk", "x5c") if name in header]
    if len(present) != 1:
        raise InvalidProof("the proof header must carry exactly one of kid, jwk and x5c")
    if present == ["x5c"]:
        raise InvalidProof("x5c key proofs are not supported: use jwk or a did:jwk / did:key kid")
    if present == ["jwk"]:
        jwk = header["jwk"]
        if not isinstance(jwk, dict):
            raise InvalidProof("jwk must be a JSON object")
        if PRIVATE_MEMBERS & jwk.keys():
            raise InvalidProof("the proof header carries private key material")
        public = key_members(jwk)
        return public, create_did_jwk(public)
    kid = header["kid"]
    if not isinstance(kid, str):
        raise InvalidProof("kid must be a string")
    did, _, _fragment = kid.partition("#")
    try:
        if did.startswith(DID_JWK_PREFIX):
            return did_jwk_to_jwk(did), did
        if did.startswith(DID_KEY_PREFIX):
            return did_key_to_jwk(did), did
    except VcError as exc:
        raise InvalidProof(f"kid does not resolve: {exc}") from exc
    raise InvalidProof("kid must be a did:jwk or did:key DID URL")


def verify_proof_jwt(proof: str, *, credential_issuer: str, now: int, max_age_seconds: int,
                     clock_skew_seconds: int) -> VerifiedProof:
    """Check one `jwt` key proof; raise `invalid_proof` naming what is wrong."""
    try:
        decoded = decode_jws(proof)
    except VcError as exc:
        raise InvalidProof(f"the proof is not a JWT: {exc}") from exc
    header = decoded.header
    if header.get("typ") != PROOF_JWT_TYP:
        raise InvalidProof(f"the proof typ must be {PROOF_JWT_TYP}")
    if header.get("alg") not in PROOF_SIGNING_ALGORITHMS:
        raise InvalidProof(f"proof alg must be one of {', '.join(PROOF_SIGNING_ALGORITHMS)}")
    jwk, holder_did = _holder_key(header)
    try:
        verify_jws(decoded, jwk, algorithms=PROOF_SIGNING_ALGORITHMS, typ=PROOF_JWT_TYP)
        claims = decoded.claims()
    except VcError as exc:
        raise InvalidProof(f"the proof signature does not verify: {exc}") from exc
    if claims.get("aud") != credential_issuer:
        raise InvalidProof("the proof aud must be the Credential Issuer Identifier")
    iat = claims.get("iat")
    if not isinstance(iat, int | float) or isinstance(iat, bool):
        raise InvalidProof("the proof needs a numeric iat")
    if iat > now + clock_skew_seconds:
        raise InvalidProof("the proof iat is in the future")
    if iat < now - max_age_seconds:
        raise InvalidProof("the proof is too old (iat)")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise InvalidProof("the proof must carry the c_nonce from the Nonce Endpoint")
    return VerifiedProof(jwk=jwk, holder_did=holder_did, nonce=nonce, thumbprint=jwk_thumbprint(jwk))
