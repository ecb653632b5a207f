"""JSON Web Key (RFC 7517) import/export and JWK Thumbprint (RFC 7638).

https://www.rfc-editor.org/rfc/rfc7517 , https://www.rfc-editor.org/rfc/rfc7638

Supported key types: EC P-256 (ES256), OKP Ed25519 (EdDSA), RSA >= 2048 bits (RS256).
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from vc.encoding import b64url_decode, b64url_encode
from vc.errors import KeyResolutionError, MalformedToken

__all__ = [
    "PRIVATE_MEMBERS",
    "PrivateKey",
    "PublicKey",
    "jwk_thumbprint",
    "jwk_thumbprint_uri",
    "key_members",
    "private_jwk",
    "private_key_from_jwk",
    "public_jwk",
    "public_key_from_jwk",
]

PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey
PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey

#: JWK members that only private keys carry (RFC 7518 §6).
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})

# RFC 7638 §3.2: the required members of each key type, in lexicographic order.
_THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x"), "RSA": ("e", "kty", "n")}

MIN_RSA_BITS = 2048


def _int_to_b64(value: int, length: int | None = None) -> str:
    size = length if length is not None else max(1, (value.bit_length() + 7) // 8)
    return b64url_encode(value.to_bytes(size, "big"))


def _b64_to_int(value: Any) -> int:
    if not isinstance(value, str):
        raise MalformedToken("JWK member is not a string")
    return int.from_bytes(b64url_decode(value), "big")


def public_jwk(key: PublicKey | PrivateKey) -> dict[str, str]:
    """The public JWK of a key (private keys are reduced to their public half)."""
    if isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey):
        key = key.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise KeyResolutionError("only the P-256 curve is supported")
        point = key.public_numbers()
        return {"kty": "EC", "crv": "P-256", "x": _int_to_b64(point.x, 32), "y": _int_to_b64(point.y, 32)}
    if isinstance(key, ed25519.Ed25519PublicKey):
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        return {"kty": "RSA", "n": _int_to_b64(numbers.n), "e": _int_to_b64(numbers.e)}
    raise KeyResolutionError(f"unsupported key type {type(key).__name__}")


def private_jwk(key: PrivateKey) -> dict[str, str]:
    """The private JWK of a key (for sealing at rest; never publish it)."""
    jwk = public_jwk(key)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        jwk["d"] = _int_to_b64(key.private_numbers().private_value, 32)
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

        jwk["d"] = b64url_encode(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))
    elif isinstance(key, rsa.RSAPrivateKey):
        n = key.private_numbers()
        jwk.update(
            d=_int_to_b64(n.d), p=_int_to_b64(n.p), q=_int_to_b64(n.q),
            dp=_int_to_b64(n.dmp1), dq=_int_to_b64(n.dmq1), qi=_int_to_b64(n.iqmp),
        )
    return jwk


#: The members a public key is built from (RFC 7518 §6): they alone key the cache of parsed keys.
_KEY_MEMBERS = ("kty", "crv", "x", "y", "n", "e")


def _freeze(jwk: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple((member, jwk[member]) for member in _KEY_MEMBERS if member in jwk)


def key_members(jwk: dict[str, Any]) -> dict[str, Any]:
    """The JWK with only the members its public key is built from (no `kid`, `use`, `alg`, ...), in its order."""
    return {member: value for member, value in jwk.items() if member in _KEY_MEMBERS}


def public_key_from_jwk(jwk: dict[str, Any]) -> PublicKey:
    """Import a public JWK. Private members are refused: a public key must never carry them."""
    if not isinstance(jwk, dict):
        raise MalformedToken("JWK is not an object")
    if PRIVATE_MEMBERS & jwk.keys():
        raise MalformedToken("JWK carries private key material")
    try:
        return _public_key_cached(_freeze(jwk))
    except (TypeError, ValueError, RecursionError) as exc:
        raise MalformedToken(f"invalid JWK: {exc}") from exc


@lru_cache(maxsize=4096)
def _public_key_cached(frozen: tuple[tuple[str, Any], ...]) -> PublicKey:
    jwk = dict(frozen)
    kty = jwk.get("kty")
    if kty == "EC":
        if jwk.get("crv") != "P-256":
            raise MalformedToken("unsupported EC curve")
        x, y = b64url_decode(jwk.get("x", "")), b64url_decode(jwk.get("y", ""))
        if len(x) != 32 or len(y) != 32:
            raise MalformedToken("EC coordinates must be 32 bytes")
        return ec.EllipticCurvePublicNumbers(
            int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
        ).public_key()
    if kty == "OKP":
        if jwk.get("crv") != "Ed25519":
            raise MalformedToken("unsupported OKP curve")
        return ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(jwk.get("x", "")))
    if kty == "RSA":
        key = rsa.RSAPublicNumbers(_b64_to_int(jwk.get("e")), _b64_to_int(jwk.get("n"))).public_key()
        if key.key_size < MIN_RSA_BITS:
            raise MalformedToken(f"RSA keys must have at least {MIN_RSA_BITS} bits")
        return key
    raise MalformedToken(f"unsupported kty {kty!r}")


def private_key_from_jwk(jwk: dict[str, Any]) -> PrivateKey:
    """Import a private JWK (as unsealed from storage)."""
    kty = jwk.get("kty")
    try:
        if kty == "EC" and jwk.get("crv") == "P-256":
            public = public_key_from_jwk({k: v for k, v in jwk.items() if k not in PRIVATE_MEMBERS})
            assert isinstance(public, ec.EllipticCurvePublicKey)
            return ec.EllipticCurvePrivateNumbers(_b64_to_int(jwk["d"]), public.public_numbers()).private_key()
        if kty == "OKP" and jwk.get("crv") == "Ed25519":
            okp = ed25519.Ed25519PrivateKey.from_private_bytes(b64url_decode(jwk["d"]))
            if "x" in jwk and public_jwk(okp)["x"] != jwk["x"]:
                raise MalformedToken("invalid private JWK: x is not the public key of d")
            return okp
        if kty == "RSA":
            public_numbers = rsa.RSAPublicNumbers(_b64_to_int(jwk["e"]), _b64_to_int(jwk["n"]))
            return rsa.RSAPrivateNumbers(
                p=_b64_to_int(jwk["p"]), q=_b64_to_int(jwk["q"]), d=_b64_to_int(jwk["d"]),
                dmp1=_b64_to_int(jwk["dp"]), dmq1=_b64_to_int(jwk["dq"]), iqmp=_b64_to_int(jwk["qi"]),
                public_numbers=public_numbers,
            ).private_key()
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedToken(f"invalid private JWK: {exc}") from exc
    raise MalformedToken(f"unsupported private JWK kty={kty!r}")


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK Thumbprint with SHA-256, base64url."""
    kty = jwk.get("kty") if isinstance(jwk, dict) else None
    members = _THUMBPRINT_MEMBERS.get(kty) if isinstance(kty, str) else None
    if members is None or any(m not in jwk for m in members):
        raise MalformedToken("JWK lacks the members its thumbprint needs")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode("utf-8")).digest())


def jwk_thumbprint_uri(jwk: dict[str, Any]) -> str:
    """RFC 9278 JWK Thumbprint URI."""
    return f"urn:ietf:params:oauth:jwk-thumbprint:sha-256:{jwk_thumbprint(jwk)}"
