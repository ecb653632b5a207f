"""did:key: a DID that is a multibase-encoded multicodec public key (v0.7).

https://w3c-ccg.github.io/did-key-spec/ (w3c-ccg/did-key-spec `index.html`);
multicodec table: https://github.com/multiformats/multicodec/blob/master/table.csv

`did:key:` + MULTIBASE(base58-btc `z`, varint(multicodec) || raw public key). Supported here:

* Ed25519 — `ed25519-pub` 0xed (varint `ed 01`), 32 bytes, DIDs start `z6Mk`;
* P-256 — `p256-pub` 0x1200 (varint `80 24`), 33-byte compressed point, DIDs start `zDn`.

Read expands the DID into a document whose one verification method is `did:key:<mb>#<mb>`
(§ Signature Method Creation Algorithm), as `Multikey` (default) or `JsonWebKey2020`.
Key lengths and points are validated (`invalidPublicKeyLength`, `invalidPublicKey`). The optional
X25519 key-agreement derivation for Ed25519 is not offered: we never encrypt to a did:key.
"""

from __future__ import annotations

from typing import Any, Literal

import base58
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from vc.errors import DidResolutionError, MalformedToken
from vc.jwk import public_jwk, public_key_from_jwk

__all__ = [
    "DID_KEY_PREFIX",
    "ED25519_PUB",
    "P256_PUB",
    "create_did_key",
    "did_key_to_jwk",
    "multikey_to_jwk",
    "resolve_did_key",
]

DID_KEY_PREFIX = "did:key:"
ED25519_PUB = 0xED
P256_PUB = 0x1200
#: multicodec → expected raw key length.
_KEY_LENGTHS = {ED25519_PUB: 32, P256_PUB: 33}
_CONTEXTS = {
    "Multikey": "https://w3id.org/security/multikey/v1",
    "JsonWebKey2020": "https://w3id.org/security/suites/jws-2020/v1",
}
_RELATIONSHIPS = ("authentication", "assertionMethod", "capabilityInvocation", "capabilityDelegation")
_MAX_LENGTH = 128

PublicKeyFormat = Literal["Multikey", "JsonWebKey2020"]


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: bytes) -> tuple[int, int]:
    """(value, bytes used) of the unsigned varint at the start of `data` (at most 3 bytes here)."""
    value = 0
    for index, byte in enumerate(data[:3]):
        value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            return value, index + 1
    raise DidResolutionError("invalid multicodec varint")


def create_did_key(jwk: dict[str, Any]) -> str:
    """The did:key of a public Ed25519 or P-256 JWK."""
    key = public_key_from_jwk(jwk)
    if isinstance(key, ed25519.Ed25519PublicKey):
        codec, raw = ED25519_PUB, key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        codec, raw = P256_PUB, key.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    else:
        raise MalformedToken("did:key is made here for Ed25519 and P-256 keys only")
    return DID_KEY_PREFIX + "z" + base58.b58encode(_varint(codec) + raw).decode("ascii")


def multikey_to_jwk(multibase_value: str) -> dict[str, str]:
    """Decode a `z...` multibase multicodec public key (a did:key value, or `publicKeyMultibase`)."""
    if not isinstance(multibase_value, str) or not multibase_value.startswith("z"):
        raise DidResolutionError("a did:key value is base58-btc multibase (starts with z)")
    if len(multibase_value) > _MAX_LENGTH:
        raise DidResolutionError("the did:key value is too long")
    try:
        data = base58.b58decode(multibase_value[1:])
    except ValueError as exc:
        raise DidResolutionError("the did:key value is not base58-btc") from exc
    codec, used = _read_varint(data)
    raw = data[used:]
    expected = _KEY_LENGTHS.get(codec)
    if expected is None:
        raise DidResolutionError(f"unsupported did:key key type 0x{codec:x}")
    if len(raw) != expected:
        raise DidResolutionError("invalidPublicKeyLength")
    try:
        if codec == ED25519_PUB:
            return public_jwk(ed25519.Ed25519PublicKey.from_public_bytes(raw))
        return public_jwk(ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw))
    except ValueError as exc:
        raise DidResolutionError("invalidPublicKey") from exc


def _multibase_value(did: str) -> str:
    if not isinstance(did, str) or not did.startswith(DID_KEY_PREFIX):
        raise DidResolutionError("not a did:key")
    parts = did.split(":")
    if len(parts) != 3:  # `did:key:<version>:<mb>` forms are not supported (version 1 is implicit)
        raise DidResolutionError("invalidDid")
    return parts[2]


def did_key_to_jwk(did: str) -> dict[str, str]:
    """The public JWK of a did:key (no fragment)."""
    return multikey_to_jwk(_multibase_value(did))


def resolve_did_key(did: str, *, public_key_format: PublicKeyFormat = "Multikey") -> dict[str, Any]:
    """Expand a did:key into its DID document (§ Document Creation Algorithm)."""
    value = _multibase_value(did)
    jwk = multikey_to_jwk(value)
    method: dict[str, Any] = {"id": f"{did}#{value}", "type": public_key_format, "controller": did}
    if public_key_format == "Multikey":
        method["publicKeyMultibase"] = value
    elif public_key_format == "JsonWebKey2020":
        method["publicKeyJwk"] = jwk
    else:
        raise DidResolutionError("unsupportedPublicKeyType")
    document: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/did/v1", _CONTEXTS[public_key_format]],
        "id": did,
        "verificationMethod": [method],
    }
    for relationship in _RELATIONSHIPS:
        document[relationship] = [method["id"]]
    return document
