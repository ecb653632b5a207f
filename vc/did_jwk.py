"""did:jwk: a DID that is a base64url-encoded public JWK.

https://github.com/quartzjer/did-jwk/blob/main/spec.md

Create: `did:jwk:` + base64url(UTF-8 JSON of the JWK) (JCS not required, so the DID is kept as
given, never re-serialised). Read: decode, validate, and expand into a DID document with one
verification method `#0` of type `JsonWebKey2020`. A JWK with `use: "sig"` gets no
`keyAgreement`; with `use: "enc"` it gets *only* `keyAgreement`. A JWK carrying private key
material "must be rejected by all implementations" (Security section).
"""

from __future__ import annotations

import json
from typing import Any

from vc.encoding import b64url_decode, b64url_encode, json_bytes
from vc.errors import DidResolutionError, MalformedToken
from vc.jwk import PRIVATE_MEMBERS, public_key_from_jwk

__all__ = [
    "DID_JWK_PREFIX",
    "create_did_jwk",
    "did_jwk_to_jwk",
    "resolve_did_jwk",
]

DID_JWK_PREFIX = "did:jwk:"
_CONTEXT = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"]
_SIGNING_RELATIONSHIPS = ("assertionMethod", "authentication", "capabilityInvocation", "capabilityDelegation")
#: Upper bound for the encoded JWK: an RSA-4096 public JWK is about 1 kB.
_MAX_LENGTH = 4096


def create_did_jwk(jwk: dict[str, Any]) -> str:
    """The did:jwk of a public JWK (its members in the order given)."""
    _check_public(jwk, MalformedToken)
    return DID_JWK_PREFIX + b64url_encode(json_bytes(jwk))


def did_jwk_to_jwk(did: str) -> dict[str, Any]:
    """Decode and validate the JWK inside a did:jwk (no fragment)."""
    if not isinstance(did, str) or not did.startswith(DID_JWK_PREFIX):
        raise DidResolutionError("not a did:jwk")
    value = did[len(DID_JWK_PREFIX):]
    if not value or len(value) > _MAX_LENGTH:
        raise DidResolutionError("the did:jwk value is empty or too long")
    try:
        jwk = json.loads(b64url_decode(value).decode("utf-8"))
    except (MalformedToken, UnicodeDecodeError, ValueError) as exc:
        raise DidResolutionError("the did:jwk value is not base64url-encoded JSON") from exc
    _check_public(jwk, DidResolutionError)
    return jwk  # type: ignore[no-any-return]


def resolve_did_jwk(did: str) -> dict[str, Any]:
    """Expand a did:jwk into its DID document (Read operation)."""
    jwk = did_jwk_to_jwk(did)
    method_id = f"{did}#0"
    document: dict[str, Any] = {
        "@context": list(_CONTEXT),
        "id": did,
        "verificationMethod": [
            {"id": method_id, "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": jwk},
        ],
    }
    use = jwk.get("use")
    if use != "enc":
        for relationship in _SIGNING_RELATIONSHIPS:
            document[relationship] = [method_id]
    if use != "sig":
        document["keyAgreement"] = [method_id]
    return document


def _check_public(jwk: Any, error: type[Exception]) -> None:
    """A public key we can use: signature keys are imported in full; X25519 (`enc`) by its length."""
    if not isinstance(jwk, dict) or not isinstance(jwk.get("kty"), str):
        raise error("a did:jwk holds a JWK object with a kty")
    if PRIVATE_MEMBERS & jwk.keys():
        raise error("a did:jwk must never carry private key material")
    if jwk.get("kty") == "OKP" and jwk.get("crv") == "X25519":
        try:
            if len(b64url_decode(jwk.get("x", ""))) == 32:
                return
        except MalformedToken:
            pass
        raise error("an X25519 key is 32 bytes")
    try:
        public_key_from_jwk(jwk)
    except MalformedToken as exc:
        raise error(f"unsupported or invalid JWK in did:jwk: {exc}") from exc
