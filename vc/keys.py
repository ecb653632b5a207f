"""Signing keys: generation, the `Signer` interface, and sealing private keys at rest.

`vc` never loads a key by itself: the services hand it a `Signer`. The software
signer here is one implementation; an HSM or cloud KMS would be another (it only
has to offer `alg`, `kid`, `public_jwk` and `sign`).

Private keys at rest are sealed with AES-256-GCM under a master key
(`MasterKey.seal` / `open`), with associated data that names what is sealed, so a
blob cannot be moved to another row.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vc.encoding import b64url_decode, b64url_encode
from vc.errors import AlgorithmNotAllowed, MalformedToken, VcError
from vc.jwk import PrivateKey, private_jwk, private_key_from_jwk, public_jwk

__all__ = [
    "SIGNING_ALGORITHMS",
    "KeyResolver",
    "MasterKey",
    "Signer",
    "SoftwareSigner",
    "generate_private_key",
    "raw_sign",
]

#: Asymmetric JWS algorithms this project signs and verifies.
SIGNING_ALGORITHMS = ("ES256", "EdDSA", "RS256")


@runtime_checkable
class Signer(Protocol):
    """Something that signs JWS signing input with one key."""

    @property
    def alg(self) -> str: ...

    @property
    def kid(self) -> str | None: ...

    @property
    def public_jwk(self) -> dict[str, str]: ...

    def sign(self, data: bytes) -> bytes:
        """The JWS signature value (RFC 7518 encoding: raw R||S for ECDSA)."""
        ...


class KeyResolver(Protocol):
    """Finds the public JWK of an issuer (by issuer id and JOSE header)."""

    def __call__(self, issuer: str | None, header: dict[str, Any]) -> dict[str, Any]: ...


def generate_private_key(alg: str = "ES256") -> PrivateKey:
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise AlgorithmNotAllowed(f"cannot generate a key for {alg!r}")


_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


def raw_sign(key: PrivateKey, alg: str, data: bytes) -> bytes:
    """Sign `data` as JWS algorithm `alg` (RFC 7518 §3)."""
    if alg == "ES256" and isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        r, s = decode_dss_signature(key.sign(data, _ECDSA_SHA256))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if alg == "EdDSA" and isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    if alg == "RS256" and isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    raise AlgorithmNotAllowed(f"key type {type(key).__name__} cannot sign {alg}")


def _default_alg(key: PrivateKey) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "ES256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "EdDSA"
    return "RS256"


@dataclass(frozen=True)
class SoftwareSigner:
    """A `Signer` over a private key held in memory."""

    private_key: PrivateKey
    kid: str | None = None
    alg: str = ""
    public_jwk: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.alg:
            object.__setattr__(self, "alg", _default_alg(self.private_key))
        if not self.public_jwk:
            object.__setattr__(self, "public_jwk", public_jwk(self.private_key))

    @classmethod
    def generate(cls, alg: str = "ES256", kid: str | None = None) -> SoftwareSigner:
        return cls(generate_private_key(alg), kid=kid, alg=alg)

    def sign(self, data: bytes) -> bytes:
        return raw_sign(self.private_key, self.alg, data)

    def with_kid(self, kid: str | None) -> SoftwareSigner:
        return SoftwareSigner(self.private_key, kid=kid, alg=self.alg, public_jwk=self.public_jwk)


class MasterKey:
    """AES-256-GCM under a 32-byte master secret.

    Sealed format: base64url( version(1) || nonce(12) || ciphertext+tag ).
    `aad` binds a blob to its purpose (for example "issuer-key:<kid>").
    """

    VERSION = b"\x01"

    def __init__(self, secret: bytes) -> None:
        if len(secret) != 32:
            raise ValueError("a master key is 32 bytes")
        self._aead = AESGCM(secret)

    @classmethod
    def from_text(cls, text: str) -> MasterKey:
        """A master key from its base64url text form (as stored in settings or a key file)."""
        return cls(b64url_decode(text.strip()))

    @staticmethod
    def generate_text() -> str:
        return b64url_encode(os.urandom(32))

    def seal(self, plaintext: bytes, aad: str) -> str:
        nonce = os.urandom(12)
        return b64url_encode(self.VERSION + nonce + self._aead.encrypt(nonce, plaintext, aad.encode()))

    def open(self, sealed: str, aad: str) -> bytes:
        raw = b64url_decode(sealed)
        if raw[:1] != self.VERSION or len(raw) < 1 + 12 + 16:
            raise MalformedToken("unknown sealed-data format")
        try:
            return self._aead.decrypt(raw[1:13], raw[13:], aad.encode())
        except InvalidTag as exc:
            raise VcError("sealed data does not open under this master key") from exc

    def seal_private_key(self, key: PrivateKey, aad: str) -> str:
        return self.seal(json.dumps(private_jwk(key)).encode(), aad)

    def open_private_key(self, sealed: str, aad: str) -> PrivateKey:
        return private_key_from_jwk(json.loads(self.open(sealed, aad)))
