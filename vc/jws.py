"""JSON Web Signature, compact serialization (RFC 7515) with RFC 7518 algorithms.

https://www.rfc-editor.org/rfc/rfc7515 , https://www.rfc-editor.org/rfc/rfc8725 (JWT BCP)

Every verification names the algorithms it accepts. Refused always: `alg: none`,
every HMAC algorithm (we only use asymmetric keys, so an HMAC "signature" can only
be the public key used as a secret), an algorithm that does not fit the key type,
a `crit` header this code does not understand, and a `typ` other than expected.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from vc.encoding import b64url_decode, b64url_encode, json_bytes, json_loads
from vc.errors import AlgorithmNotAllowed, HeaderInvalid, MalformedToken, SignatureInvalid
from vc.jwk import PRIVATE_MEMBERS, PublicKey, public_key_from_jwk
from vc.keys import SIGNING_ALGORITHMS, Signer

__all__ = [
    "DecodedJws",
    "decode_jws",
    "sign_jws",
    "typ_matches",
    "verify_jws",
    "verify_signature",
]

_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_PKCS1 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()


@dataclass(frozen=True)
class DecodedJws:
    """A compact JWS split into its parts; nothing verified yet."""

    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes

    def claims(self) -> dict[str, Any]:
        """The payload as a JSON object (JWT claims set)."""
        try:
            value = json_loads(self.payload)
        except ValueError as exc:
            raise MalformedToken("payload is not JSON") from exc
        if not isinstance(value, dict):
            raise MalformedToken("payload is not a JSON object")
        return value


def sign_jws(
    payload: dict[str, Any] | bytes,
    signer: Signer,
    *,
    typ: str | None,
    header: dict[str, Any] | None = None,
    include_kid: bool = True,
) -> str:
    """Sign `payload` and return the compact JWS. `header` adds members (e.g. `jwk`, `x5c`)."""
    protected: dict[str, Any] = {"alg": signer.alg}
    if typ is not None:
        protected["typ"] = typ
    if include_kid and signer.kid is not None:
        protected["kid"] = signer.kid
    if header:
        protected.update(header)
    if protected["alg"] != signer.alg:
        raise AlgorithmNotAllowed(f"the header says {protected['alg']!r}, the signer signs {signer.alg}")
    body = payload if isinstance(payload, bytes) else json_bytes(payload)
    signing_input = f"{b64url_encode(json_bytes(protected))}.{b64url_encode(body)}".encode("ascii")
    return f"{signing_input.decode('ascii')}.{b64url_encode(signer.sign(signing_input))}"


def decode_jws(token: str) -> DecodedJws:
    """Split a compact JWS without verifying it."""
    if not isinstance(token, str):
        raise MalformedToken("a JWS is a string")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedToken("a compact JWS has three parts")
    try:
        header = json_loads(b64url_decode(parts[0]))
    except ValueError as exc:
        raise MalformedToken("JWS header is not JSON") from exc
    if not isinstance(header, dict):
        raise MalformedToken("JWS header is not a JSON object")
    return DecodedJws(
        header=header,
        payload=b64url_decode(parts[1]),
        signing_input=f"{parts[0]}.{parts[1]}".encode("ascii"),
        signature=b64url_decode(parts[2]),
    )


def typ_matches(actual: Any, expected: str) -> bool:
    """RFC 7515 §4.1.9: `typ` compares case-insensitively, `application/` may be left out."""
    if not isinstance(actual, str):
        return False
    a, e = actual.lower(), expected.lower()
    a = a.removeprefix("application/") if "/" in a and a.count("/") == 1 else a
    e = e.removeprefix("application/")
    return a == e


def _check_header(header: dict[str, Any], algorithms: Collection[str], typ: str | Collection[str] | None,
                  understood_crit: Collection[str]) -> str:
    alg = header.get("alg")
    if not isinstance(alg, str) or not alg:
        raise AlgorithmNotAllowed("JWS header has no alg")
    if alg.lower() == "none":
        raise AlgorithmNotAllowed("alg none is never accepted")
    if alg.upper().startswith("HS"):
        raise AlgorithmNotAllowed("HMAC algorithms are never accepted")
    if alg not in algorithms or alg not in SIGNING_ALGORITHMS:
        raise AlgorithmNotAllowed(f"alg {alg} is not allowed here")
    if typ is not None:
        wanted = [typ] if isinstance(typ, str) else list(typ)
        if not any(typ_matches(header.get("typ"), w) for w in wanted):
            raise HeaderInvalid(f"typ must be {' or '.join(wanted)}, got {header.get('typ')!r}")
    crit = header.get("crit")
    if crit is not None:
        # RFC 7515 §4.1.11: a non-empty list of names that are present and understood.
        if not isinstance(crit, list) or not crit or not all(isinstance(c, str) for c in crit):
            raise HeaderInvalid("crit must be a non-empty list of header names")
        unknown = [c for c in crit if c not in understood_crit or c not in header]
        if unknown:
            raise HeaderInvalid(f"unsupported critical header(s): {', '.join(unknown)}")
    jwk = header.get("jwk")
    if isinstance(jwk, dict) and PRIVATE_MEMBERS & jwk.keys():
        raise HeaderInvalid("header jwk carries private key material")
    return alg


def verify_signature(alg: str, key: PublicKey, signing_input: bytes, signature: bytes) -> None:
    """Check one signature; the key type must be the algorithm's."""
    try:
        if alg == "ES256":
            if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
                raise AlgorithmNotAllowed("ES256 needs a P-256 key")
            if len(signature) != 64:
                raise SignatureInvalid("an ES256 signature is 64 bytes")
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            key.verify(der, signing_input, _ECDSA_SHA256)
        elif alg == "EdDSA":
            if not isinstance(key, ed25519.Ed25519PublicKey):
                raise AlgorithmNotAllowed("EdDSA needs an Ed25519 key")
            key.verify(signature, signing_input)
        elif alg == "RS256":
            if not isinstance(key, rsa.RSAPublicKey):
                raise AlgorithmNotAllowed("RS256 needs an RSA key")
            key.verify(signature, signing_input, _PKCS1, _SHA256)
        else:
            raise AlgorithmNotAllowed(f"alg {alg} is not supported")
    except InvalidSignature as exc:
        raise SignatureInvalid("signature does not verify") from exc


def verify_jws(
    token: str | DecodedJws,
    key: PublicKey | dict[str, Any],
    *,
    algorithms: Collection[str],
    typ: str | Collection[str] | None,
    understood_crit: Collection[str] = (),
) -> DecodedJws:
    """Verify a compact JWS with `key` (public key or public JWK). Returns the decoded parts.

    `typ=None` means "no expectation"; pass the exact media type wherever a spec fixes one.
    """
    decoded = token if isinstance(token, DecodedJws) else decode_jws(token)
    alg = _check_header(decoded.header, algorithms, typ, understood_crit)
    public_key = public_key_from_jwk(key) if isinstance(key, dict) else key
    verify_signature(alg, public_key, decoded.signing_input, decoded.signature)
    return decoded
