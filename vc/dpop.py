"""DPoP proofs: OAuth 2.0 Demonstrating Proof of Possession (RFC 9449).

https://www.rfc-editor.org/rfc/rfc9449

A DPoP proof is a JWT the client signs with a key it holds, sent in the `DPoP` header of one HTTP
request (§4.2). Header: `typ: dpop+jwt`, an asymmetric `alg`, and the public key as `jwk`.
Claims: `jti` (unique), `htm` (the HTTP method), `htu` (the target URI without query and
fragment), `iat`; `ath` (base64url SHA-256 of the access token) when an access token goes with it;
`nonce` when the server gave one. The authorization server binds the access token it issues to the
key's RFC 7638 thumbprint (`jkt`); the resource server then accepts that token only with a proof
by the same key (§7). `verify_dpop_proof` makes the checks of §4.3 that need nothing but the
request; remembering `jti`s (§11.1), checking a server-provided `nonce` (§8, §9) and matching `jkt`
against the token are the caller's.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from vc.encoding import b64url_encode
from vc.errors import VcError
from vc.jwk import PRIVATE_MEMBERS, jwk_thumbprint, key_members
from vc.jws import decode_jws, sign_jws, verify_jws
from vc.keys import SIGNING_ALGORITHMS, Signer

__all__ = [
    "DPOP_JWT_TYP",
    "DPOP_SIGNING_ALGORITHMS",
    "DpopClient",
    "DpopProofInvalid",
    "VerifiedDpopProof",
    "access_token_hash",
    "create_dpop_proof",
    "normalize_htu",
    "verify_dpop_proof",
]

DPOP_JWT_TYP = "dpop+jwt"
#: What we verify; also `dpop_signing_alg_values_supported` in our metadata.
DPOP_SIGNING_ALGORITHMS = SIGNING_ALGORITHMS
_DEFAULT_PORTS = {"http": 80, "https": 443}


class DpopProofInvalid(VcError):
    """The DPoP proof fails a check of RFC 9449 §4.3 (the error code is `invalid_dpop_proof`)."""


@dataclass(frozen=True)
class VerifiedDpopProof:
    """A proof that checked out: its key, that key's thumbprint (`jkt`), its `jti`, `iat` and `nonce` (the
    server-provided nonce it names, §8; checking it is the server's)."""

    jwk: dict[str, Any]
    jkt: str
    jti: str
    iat: int
    nonce: str | None = None


def access_token_hash(access_token: str) -> str:
    """§4.2 `ath`: base64url of the SHA-256 of the access token's ASCII bytes (UTF-8, so that a
    token that is not ASCII gets a hash that matches nothing instead of an error)."""
    return b64url_encode(hashlib.sha256(access_token.encode("utf-8")).digest())


def normalize_htu(uri: str) -> str:
    """§4.3 item 9: the URI without query and fragment, with RFC 3986 §6.2.2-6.2.3 normalization
    (scheme and host in lower case, no default port, an empty path as `/`)."""
    parts = urlsplit(uri)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError as exc:
        raise DpopProofInvalid("htu has an invalid port") from exc
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))


def create_dpop_proof(signer: Signer, *, htm: str, htu: str, access_token: str | None = None,
                      nonce: str | None = None, now: datetime | None = None) -> str:
    """A DPoP proof for one request (§4.2): a fresh `jti`, the key as `jwk`, `ath` with an access token."""
    claims: dict[str, Any] = {"jti": b64url_encode(secrets.token_bytes(18)), "htm": htm,
                              "htu": normalize_htu(htu), "iat": int((now or datetime.now(UTC)).timestamp())}
    if access_token is not None:
        claims["ath"] = access_token_hash(access_token)
    if nonce is not None:
        claims["nonce"] = nonce
    return sign_jws(claims, signer, typ=DPOP_JWT_TYP, header={"jwk": dict(signer.public_jwk)}, include_kid=False)


@dataclass
class DpopClient:
    """A client's DPoP key and the nonces servers gave it (`DPoP-Nonce`, §8 and §9), kept per origin."""

    signer: Signer
    nonces: dict[str, str] = field(default_factory=dict)

    def proof(self, *, htm: str, htu: str, access_token: str | None = None, now: datetime | None = None) -> str:
        """A fresh proof for one request, with the latest nonce `htu`'s server gave."""
        return create_dpop_proof(self.signer, htm=htm, htu=htu, access_token=access_token,
                                 nonce=self.nonces.get(_origin(htu)), now=now)

    def take_nonce(self, url: str, headers: Mapping[str, str]) -> bool:
        """Keep the `DPoP-Nonce` of a response from `url` (lower-case header names); whether there was one."""
        nonce = headers.get("dpop-nonce", "").strip()
        if not nonce or len(nonce) > 512:
            return False
        self.nonces[_origin(url)] = nonce
        return True


def _origin(url: str) -> str:
    return normalize_htu(url).split("/", 3)[2]


def verify_dpop_proof(proof: str, *, htm: str, htu: str, now: int, max_age_seconds: int, clock_skew_seconds: int,
                      access_token: str | None = None, algorithms: Collection[str] = DPOP_SIGNING_ALGORITHMS
                      ) -> VerifiedDpopProof:
    """§4.3 items 2-9, 11 and 12 (`ath`): raise `DpopProofInvalid` naming what is wrong."""
    try:
        decoded = decode_jws(proof)
        claims = decoded.claims()
    except VcError as exc:
        raise DpopProofInvalid(f"the DPoP proof is not a JWT: {exc}") from exc
    jwk = decoded.header.get("jwk")
    if not isinstance(jwk, dict):
        raise DpopProofInvalid("the DPoP proof header has no jwk")
    if PRIVATE_MEMBERS & jwk.keys():
        raise DpopProofInvalid("the DPoP proof header carries private key material")
    public = key_members(jwk)
    try:
        verify_jws(decoded, public, algorithms=algorithms, typ=DPOP_JWT_TYP)
        jkt = jwk_thumbprint(public)
    except VcError as exc:
        raise DpopProofInvalid(f"the DPoP proof does not verify: {exc}") from exc
    jti, iat = claims.get("jti"), claims.get("iat")
    if not isinstance(jti, str) or not jti or len(jti) > 256:
        raise DpopProofInvalid("the DPoP proof needs a jti (a string of at most 256 characters)")
    if claims.get("htm") != htm:
        raise DpopProofInvalid(f"the DPoP proof's htm must be {htm}")
    claimed_htu = claims.get("htu")
    if not isinstance(claimed_htu, str) or normalize_htu(claimed_htu) != normalize_htu(htu):
        raise DpopProofInvalid(f"the DPoP proof's htu must be {normalize_htu(htu)}")
    if not isinstance(iat, int) or isinstance(iat, bool):
        raise DpopProofInvalid("the DPoP proof needs iat (seconds since the epoch)")
    if iat > now + clock_skew_seconds or iat < now - max_age_seconds - clock_skew_seconds:
        raise DpopProofInvalid("the DPoP proof's iat is outside the accepted window: make a fresh proof")
    if access_token is not None and claims.get("ath") != access_token_hash(access_token):
        raise DpopProofInvalid("the DPoP proof's ath is not the hash of the access token it came with")
    nonce = claims.get("nonce")
    if nonce is not None and not isinstance(nonce, str):
        raise DpopProofInvalid("the DPoP proof's nonce must be a string")
    return VerifiedDpopProof(public, jkt, jti, iat, nonce)
