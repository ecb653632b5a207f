"""Failures of the credential library.

The services map these to protocol errors; nothing here knows HTTP.

    VcError
     ├── MalformedToken            not a JWS / SD-JWT / JSON we can parse
     ├── AlgorithmNotAllowed       alg missing, `none`, HMAC, outside the allowlist, or not the key's
     ├── HeaderInvalid             wrong `typ`, unknown `crit`, private key in header, ...
     ├── SignatureInvalid          the signature does not verify
     ├── KeyResolutionError        no key for this issuer / kid / DID
     │    └── DidResolutionError
     ├── ClaimInvalid              a required claim is missing or has the wrong value
     │    ├── TokenExpired
     │    └── TokenNotYetValid
     ├── DisclosureError           SD-JWT disclosure problems
     ├── KeyBindingError           KB-JWT / holder binding problems
     ├── SchemaInvalid             JSON Schema validation failed
     ├── StatusError               status list problems
     │    ├── StatusRevoked
     │    └── StatusSuspended
     └── FetchError                an outbound fetch failed or was refused
          └── FetchRefused         refused before sending (SSRF guard, scheme)
"""

from __future__ import annotations

__all__ = [
    "AlgorithmNotAllowed",
    "ClaimInvalid",
    "DidResolutionError",
    "DisclosureError",
    "FetchError",
    "FetchRefused",
    "HeaderInvalid",
    "KeyBindingError",
    "KeyResolutionError",
    "MalformedToken",
    "SchemaInvalid",
    "SignatureInvalid",
    "StatusError",
    "StatusRevoked",
    "StatusSuspended",
    "TokenExpired",
    "TokenNotYetValid",
    "VcError",
]


class VcError(Exception):
    """Base of every failure raised by `vc`."""


class MalformedToken(VcError):
    pass


class AlgorithmNotAllowed(VcError):
    pass


class HeaderInvalid(VcError):
    pass


class SignatureInvalid(VcError):
    pass


class KeyResolutionError(VcError):
    pass


class DidResolutionError(KeyResolutionError):
    pass


class ClaimInvalid(VcError):
    pass


class TokenExpired(ClaimInvalid):
    pass


class TokenNotYetValid(ClaimInvalid):
    pass


class DisclosureError(VcError):
    pass


class KeyBindingError(VcError):
    pass


class SchemaInvalid(VcError):
    pass


class StatusError(VcError):
    pass


class StatusRevoked(StatusError):
    pass


class StatusSuspended(StatusError):
    pass


class FetchError(VcError):
    pass


class FetchRefused(FetchError):
    pass
