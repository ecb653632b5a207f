"""Selective Disclosure for JSON Web Tokens (SD-JWT), RFC 9901: issue, present, verify.

https://www.rfc-editor.org/rfc/rfc9901

Compact serialization (§4): ``<Issuer-signed JWT>~<Disclosure 1>~...~<Disclosure N>~[<KB-JWT>]``.

* Issuer (§4.1, §4.2): `issue_sd_jwt` hides the claims named by claim paths, object properties
  and array elements alike, nested and recursive, with decoy digests on request.
* Holder (§7.2): `present_sd_jwt` picks the Disclosures for some claim paths (their parents
  included) and can add a Key Binding JWT (§4.3).
* Verifier (§7.1, §7.3): `verify_sd_jwt` runs every check of §7, Key Binding by policy.

A claim path is a tuple of object keys (`str`), array indices (`int`) and `None` for "every
element of this array", as in SD-JWT VC claim paths: ``("learning_outcomes", None)``.
Salts and decoys come from `secrets`; `unsafe_randomness(seed)` makes them repeatable for tests.
"""

from __future__ import annotations

import hashlib
import logging
import random
import secrets
import time
import warnings
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, NamedTuple

from vc.claims_path import check_path, try_select_with_paths
from vc.encoding import b64url_decode, b64url_encode, json_bytes, json_loads
from vc.errors import (
    AlgorithmNotAllowed,
    ClaimInvalid,
    DisclosureError,
    HeaderInvalid,
    KeyBindingError,
    MalformedToken,
    SignatureInvalid,
    TokenExpired,
    TokenNotYetValid,
    VcError,
)
from vc.jwk import PRIVATE_MEMBERS, PublicKey
from vc.jws import decode_jws, sign_jws, verify_jws
from vc.keys import SIGNING_ALGORITHMS, Signer

__all__ = [
    "ARRAY_ELEMENT", "CNF", "DEFAULT_SD_ALG", "HASH_ALGORITHMS", "KB_JWT_TYP", "SD", "SD_ALG", "SD_HASH",
    "SEPARATOR", "ClaimNameCollision", "ClaimNotFound", "ClaimPath", "Disclosure", "DuplicateDigest",
    "IssuedSdJwt", "IssuerKeyCallback", "KeyBindingAudienceMismatch", "KeyBindingHeaderInvalid",
    "KeyBindingMissing", "KeyBindingNonceMismatch", "KeyBindingSignatureInvalid", "KeyBindingStale",
    "KeyBindingUnexpected", "MalformedDisclosure", "MisplacedDisclosure", "ReservedClaimName", "SdHashMismatch",
    "SdJwt", "UnreferencedDisclosure", "UnsupportedHashAlgorithm", "VerifiedSdJwt",
    "check_validity", "create_disclosure", "create_key_binding_jwt", "decode_disclosure", "digest",
    "issue_sd_jwt", "parse_sd_jwt", "present_sd_jwt", "select_claim_paths", "unsafe_randomness",
    "verify_sd_jwt",
]

logger = logging.getLogger(__name__)

SD = "_sd"  #: §4.2.4.1: digests of object-property Disclosures
SD_ALG = "_sd_alg"  #: §4.1.1: hash algorithm, top level only
ARRAY_ELEMENT = "..."  #: §4.2.4.2: ``{"...": "<digest>"}`` stands for a hidden array element
SEPARATOR = "~"
KB_JWT_TYP = "kb+jwt"  #: §4.3
SD_HASH = "sd_hash"  #: §4.3.1
CNF = "cnf"  #: RFC 7800 confirmation claim carrying the Holder key
DEFAULT_SD_ALG = "sha-256"  #: §4.1.1: the default, and the one every implementation MUST support
#: IANA "Named Information Hash Algorithm" names we accept in `_sd_alg`.
HASH_ALGORITHMS: dict[str, Callable[[bytes], Any]] = {
    "sha-256": hashlib.sha256, "sha-384": hashlib.sha384, "sha-512": hashlib.sha512,
}
SALT_BYTES = 16  #: §9.3: at least 128 bits of randomness per salt
RESERVED_NAMES = frozenset({SD, ARRAY_ELEMENT})
MAX_DEPTH = 64

ClaimPath = tuple[str | int | None, ...]
#: Finds the Issuer's key: ``(issuer_jwt_header, issuer_jwt_payload) -> public JWK (or key)``.
IssuerKeyCallback = Callable[[dict[str, Any], dict[str, Any]], "dict[str, Any] | PublicKey"]

_B64URL_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _is_base64url(text: str) -> bool:
    return bool(text) and text.isascii() and not text.encode("ascii").translate(None, _B64URL_ALPHABET)


def _is_jwt(text: str) -> bool:
    """Three non-empty parts; their alphabet is checked when they are decoded."""
    parts = text.split(".")
    return len(parts) == 3 and all(parts)


class MalformedDisclosure(DisclosureError):
    """§4.2: a Disclosure is base64url of a JSON array [salt, name, value] or [salt, value]."""


class UnsupportedHashAlgorithm(DisclosureError):
    """§7.1 step 2.4: `_sd_alg` is not understood or not allowed."""


class DuplicateDigest(DisclosureError):
    """§7.1 step 4: a digest appears twice (or a Disclosure was sent twice)."""


class UnreferencedDisclosure(DisclosureError):
    """§7.1 step 5: a Disclosure no digest refers to (also what an altered Disclosure becomes)."""


class ReservedClaimName(DisclosureError):
    """§4.2.1, §7.1 step 3.3.2.2: `_sd` and `...` are never claim names."""


class ClaimNameCollision(DisclosureError):
    """§7.1 step 3.3.2.3: the disclosed name already exists at that level."""


class MisplacedDisclosure(DisclosureError):
    """§7.1 steps 3.3.2.1, 3.3.3.1: property Disclosures only in `_sd`, element ones only in arrays."""


class ClaimNotFound(DisclosureError):
    """A claim path that selects nothing (issuer or holder asked for a claim that is not there)."""


class KeyBindingMissing(KeyBindingError):
    """§7.3 step 2: Key Binding is required and the presentation has no KB-JWT."""


class KeyBindingUnexpected(KeyBindingError):
    """§7.2, §4: a KB-JWT where an SD-JWT (last component empty) was expected."""


class KeyBindingSignatureInvalid(KeyBindingError, SignatureInvalid):
    """§7.3 step 5.3: the KB-JWT is not signed by the key in `cnf`."""


class KeyBindingHeaderInvalid(KeyBindingError, HeaderInvalid):
    """§7.3 steps 5.2 and 5.4: wrong `typ`, a refused `alg`, or not a JWT at all."""


class KeyBindingStale(KeyBindingError):
    """§7.3 step 5.5: `iat` outside the acceptable window."""


class KeyBindingAudienceMismatch(KeyBindingError):
    """§7.3 step 5.6: `aud` is not this Verifier."""


class KeyBindingNonceMismatch(KeyBindingError):
    """§7.3 step 5.6: `nonce` is not this transaction's."""


class SdHashMismatch(KeyBindingError):
    """§7.3 step 5.7: `sd_hash` does not cover the presented SD-JWT."""


# -- randomness ---------------------------------------------------------------------------------

_seeded: ContextVar[random.Random | None] = ContextVar("sd_jwt_seeded_randomness", default=None)


@contextmanager
def unsafe_randomness(seed: int) -> Iterator[None]:
    """UNSAFE outside tests and spec examples: salts, decoys and their places from a seeded PRNG."""
    message = "SD-JWT salts are now PREDICTABLE (unsafe_randomness): never use this to issue real credentials"
    warnings.warn(message, RuntimeWarning, stacklevel=3)
    logger.warning(message)
    token = _seeded.set(random.Random(seed))
    try:
        yield
    finally:
        _seeded.reset(token)


def _random_bytes(n: int) -> bytes:
    rng = _seeded.get()
    return rng.randbytes(n) if rng is not None else secrets.token_bytes(n)


def _random_below(n: int) -> int:
    rng = _seeded.get()
    return rng.randrange(n) if rng is not None else secrets.randbelow(n)


def _salt() -> str:
    return b64url_encode(_random_bytes(SALT_BYTES))


# -- Disclosures and digests (§4.2) -------------------------------------------------------------

def _hash_function(sd_alg: str) -> Callable[[bytes], Any]:
    try:
        return HASH_ALGORITHMS[sd_alg]
    except (KeyError, TypeError):
        raise UnsupportedHashAlgorithm(f"_sd_alg {sd_alg!r} is not supported") from None


def digest(text: str, sd_alg: str = DEFAULT_SD_ALG) -> str:
    """§4.2.3: base64url(hash(US-ASCII bytes of the Disclosure, or of the SD-JWT for `sd_hash`))."""
    return b64url_encode(_hash_function(sd_alg)(text.encode("ascii")).digest())


class Disclosure(NamedTuple):
    """One Disclosure: `encoded` is the exact string hashed and sent, never re-encoded."""

    encoded: str
    salt: str
    name: str | None  # None for an array element (§4.2.2)
    value: Any


def create_disclosure(salt: str, name: str | None, value: Any) -> Disclosure:
    """§4.2.1 / §4.2.2: base64url of the UTF-8 JSON array [salt, name, value] or [salt, value]."""
    if name in RESERVED_NAMES:
        raise ReservedClaimName(f"{name!r} cannot be a claim name")
    array = [salt, value] if name is None else [salt, name, value]
    encoded = b64url_encode(json_bytes(array))
    return Disclosure(encoded, salt, name, value)


def decode_disclosure(encoded: str) -> Disclosure:
    try:
        array = json_loads(b64url_decode(encoded))
    except (MalformedToken, ValueError) as exc:
        raise MalformedDisclosure("a Disclosure is base64url-encoded JSON") from exc
    if not isinstance(array, list) or len(array) not in (2, 3) or not isinstance(array[0], str):
        raise MalformedDisclosure("a Disclosure is [salt, name, value] or [salt, value] with a string salt")
    if len(array) == 2:
        return Disclosure(encoded, array[0], None, array[1])
    if not isinstance(array[1], str):
        raise MalformedDisclosure("a Disclosure's claim name is a string")
    return Disclosure(encoded, array[0], array[1], array[2])


# -- the compact serialization (§4) --------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SdJwt:
    """An SD-JWT or SD-JWT+KB split into its parts; nothing verified."""

    issuer_jwt: str
    disclosures: tuple[str, ...]
    kb_jwt: str | None = None

    @property
    def sd_jwt(self) -> str:
        """The SD-JWT without KB-JWT, ending in `~`: what `sd_hash` covers (§4.3.1)."""
        return SEPARATOR.join((self.issuer_jwt, *self.disclosures, ""))

    def serialize(self) -> str:
        return self.sd_jwt + (self.kb_jwt or "")


def parse_sd_jwt(text: str) -> SdJwt:
    """Split ``<jwt>~<d1>~...~<dn>~[<kb-jwt>]``, refusing anything that is not that shape."""
    if not isinstance(text, str):
        raise MalformedToken("an SD-JWT is a string")
    if SEPARATOR not in text:
        raise MalformedToken("an SD-JWT has a '~' after the Issuer-signed JWT")
    issuer_jwt, *disclosures, last = text.split(SEPARATOR)
    if not _is_jwt(issuer_jwt):
        raise MalformedToken("the Issuer-signed JWT is not a compact JWS")
    for disclosure in disclosures:
        if not _is_base64url(disclosure):
            raise MalformedDisclosure("a Disclosure is a non-empty base64url string")
    if last and not _is_jwt(last):
        raise MalformedToken("the last component is neither empty nor a KB-JWT")
    return SdJwt(issuer_jwt, tuple(disclosures), last or None)


# -- issuing (§4.1, §4.2) ------------------------------------------------------------------------

@dataclass(frozen=True)
class IssuedSdJwt:
    sd_jwt: str  # compact, ending in '~'
    payload: dict[str, Any]  # the Issuer-signed payload
    disclosures: tuple[Disclosure, ...]


_SELF: Any = object()  # marks "this node itself is disclosable" inside a path tree


def _path_tree(paths: Iterable[ClaimPath]) -> dict[Any, Any]:
    tree: dict[Any, Any] = {}
    for path in paths:
        if not isinstance(path, tuple) or not path:
            raise TypeError(f"a claim path is a non-empty tuple, got {path!r}")
        node = tree
        for part in path:
            if isinstance(part, bool) or not (part is None or isinstance(part, str | int)):
                raise TypeError(f"claim path components are str, int or None, got {part!r}")
            node = node.setdefault(part, {})
        node[_SELF] = True
    return tree


def _merge(a: dict[Any, Any] | None, b: dict[Any, Any] | None) -> dict[Any, Any] | None:
    if not a or not b:
        return a or b
    merged = dict(a)
    for key, value in b.items():
        merged[key] = True if key == _SELF else _merge(merged.get(key), value)
    return merged


class _Encoder:
    def __init__(self, sd_alg: str, decoys: int) -> None:
        self.sd_alg, self.decoys = sd_alg, decoys
        self.disclosures: list[Disclosure] = []

    def hide(self, name: str | None, value: Any) -> str:
        disclosure = create_disclosure(_salt(), name, value)
        self.disclosures.append(disclosure)
        return digest(disclosure.encoded, self.sd_alg)

    def decoy(self) -> str:
        return digest(b64url_encode(_random_bytes(SALT_BYTES)), self.sd_alg)  # §4.2.5

    def encode(self, value: Any, tree: dict[Any, Any] | None, path: ClaimPath) -> Any:
        children = [k for k in tree or () if k != _SELF]
        if isinstance(value, dict):
            return self._object(value, tree or {}, path)
        if isinstance(value, list):
            return self._array(value, tree or {}, path)
        if children:
            raise ClaimNotFound(f"claim path {path + (children[0],)} goes through a value that is not a container")
        return value

    def _object(self, obj: dict[str, Any], tree: dict[Any, Any], path: ClaimPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        digests: list[str] = []
        for name, value in obj.items():
            if name in RESERVED_NAMES or name == SD_ALG:
                raise ReservedClaimName(f"{name!r} at {path} is reserved by SD-JWT")
            sub = tree.get(name)
            encoded = self.encode(value, sub, path + (name,))
            if sub and sub.get(_SELF):
                digests.append(self.hide(name, encoded))
            else:
                out[name] = encoded
        missing = [k for k in tree if k != _SELF and k not in obj]
        if missing:
            raise ClaimNotFound(f"claim path {path + (missing[0],)} selects nothing")
        if digests:
            digests.extend(self.decoy() for _ in range(self.decoys))
            out[SD] = sorted(digests)  # §4.2.4.1: hide the original order
        return out

    def _array(self, array: list[Any], tree: dict[Any, Any], path: ClaimPath) -> list[Any]:
        out: list[Any] = []
        hidden = False
        for index, element in enumerate(array):
            sub = _merge(tree.get(None), tree.get(index))
            encoded = self.encode(element, sub, path + (index,))
            if sub and sub.get(_SELF):
                out.append({ARRAY_ELEMENT: self.hide(None, encoded)})
                hidden = True
            else:
                out.append(encoded)
        wrong = [k for k in tree if k != _SELF and k is not None and not (isinstance(k, int) and k < len(array))]
        if wrong:
            raise ClaimNotFound(f"claim path {path + (wrong[0],)} selects nothing")
        if hidden:
            for _ in range(self.decoys):
                out.insert(_random_below(len(out) + 1), {ARRAY_ELEMENT: self.decoy()})
        return out


def issue_sd_jwt(
    claims: Mapping[str, Any],
    signer: Signer,
    *,
    typ: str | None,
    disclosable: Iterable[ClaimPath] = (),
    holder_jwk: Mapping[str, Any] | None = None,
    sd_alg: str = DEFAULT_SD_ALG,
    decoys: int = 0,
    header: dict[str, Any] | None = None,
) -> IssuedSdJwt:
    """Issue an SD-JWT whose `disclosable` claim paths are selectively disclosable.

    A path and one of its sub-paths together give recursive disclosure (§4.2.6). `decoys` decoy
    digests go into every `_sd` array and every array with hidden elements (§4.2.5). `holder_jwk`
    becomes ``cnf.jwk`` for Key Binding (§4.1.2).
    """
    _hash_function(sd_alg)
    if _seeded.get() is not None:
        logger.warning("issuing an SD-JWT with PREDICTABLE salts (unsafe_randomness)")
    encoder = _Encoder(sd_alg, decoys)
    payload = encoder.encode(dict(claims), _path_tree(disclosable), ())
    payload[SD_ALG] = sd_alg
    if holder_jwk is not None:
        if CNF in claims:
            raise ClaimInvalid("give either a cnf claim or holder_jwk, not both")
        if PRIVATE_MEMBERS & holder_jwk.keys():
            raise ClaimInvalid("the holder JWK carries private key material")
        payload[CNF] = {"jwk": dict(holder_jwk)}
    issuer_jwt = sign_jws(payload, signer, typ=typ, header=header)
    disclosures = tuple(encoder.disclosures)
    return IssuedSdJwt(SdJwt(issuer_jwt, tuple(d.encoded for d in disclosures)).sd_jwt, payload, disclosures)


# -- processing the payload (§7.1 step 3) --------------------------------------------------------

class _Unpacker:
    """Replaces digests by disclosed claims, checking every rule of §7.1 on the way.

    Works in place on JSON it owns (just parsed), so nothing is copied or re-encoded.
    """

    def __init__(self, by_digest: dict[str, str]) -> None:
        self.by_digest = by_digest
        self.seen: set[str] = set()
        self.disclosed: list[tuple[ClaimPath, str]] = []

    def _take(self, digest_value: Any) -> Disclosure | None:
        if type(digest_value) is not str:
            raise MalformedDisclosure("a digest is a string")
        if digest_value in self.seen:
            raise DuplicateDigest(f"digest {digest_value} appears more than once")
        self.seen.add(digest_value)
        encoded = self.by_digest.get(digest_value)
        return None if encoded is None else decode_disclosure(encoded)

    def value(self, value: Any, path: ClaimPath) -> Any:
        cls = type(value)
        if cls is dict:
            return self.object(value, path)
        if cls is list:
            return self.array(value, path)
        return value

    def object(self, obj: dict[str, Any], path: ClaimPath) -> dict[str, Any]:
        if len(path) > MAX_DEPTH:
            raise MalformedToken("the SD-JWT payload is nested too deeply")
        digests = obj.pop(SD, None)
        if not _NOT_CLAIM_NAMES.isdisjoint(obj):
            name = next(name for name in obj if name in _NOT_CLAIM_NAMES)
            raise ReservedClaimName(f"{name!r} is not allowed at {path}")
        for name, value in obj.items():
            cls = type(value)
            if cls is dict:
                self.object(value, path + (name,))
            elif cls is list:
                obj[name] = self.array(value, path + (name,))
        if digests is None:
            return obj
        if type(digests) is not list:
            raise MalformedDisclosure("_sd is an array of digests")
        for digest_value in digests:
            disclosure = self._take(digest_value)
            if disclosure is None:
                continue  # a decoy, or a claim the holder did not disclose
            claim = disclosure.name
            if claim is None:
                raise MisplacedDisclosure("an array-element Disclosure is referenced from _sd")
            if claim in _NOT_CLAIM_NAMES:
                raise ReservedClaimName(f"a Disclosure uses the reserved name {claim!r}")
            if claim in obj:
                raise ClaimNameCollision(f"claim {claim!r} already exists at {path}")
            child = path + (claim,)
            self.disclosed.append((child, disclosure.encoded))
            obj[claim] = self.value(disclosure.value, child)
        return obj

    def array(self, array: list[Any], path: ClaimPath) -> list[Any]:
        if len(path) > MAX_DEPTH:
            raise MalformedToken("the SD-JWT payload is nested too deeply")
        out: list[Any] = []
        for element in array:
            cls = type(element)
            if cls is dict and len(element) == 1 and ARRAY_ELEMENT in element:
                disclosure = self._take(element[ARRAY_ELEMENT])
                if disclosure is None:
                    continue  # §7.1 step 3.4: drop elements whose Disclosure was not sent
                if disclosure.name is not None:
                    raise MisplacedDisclosure("an object-property Disclosure is referenced from an array")
                child = path + (len(out),)
                self.disclosed.append((child, disclosure.encoded))
                out.append(self.value(disclosure.value, child))
            elif cls is dict or cls is list:
                out.append(self.value(element, path + (len(out),)))
            else:
                out.append(element)
        return out


_NOT_CLAIM_NAMES = RESERVED_NAMES | {SD_ALG}


def _unpack(payload: dict[str, Any], disclosures: tuple[str, ...], sd_alg: str
            ) -> tuple[dict[str, Any], list[tuple[ClaimPath, str]]]:
    """§7.1 step 3-5 over `payload`, which is changed in place into the processed payload."""
    hash_function = _hash_function(sd_alg)
    by_digest: dict[str, str] = {}
    for encoded in disclosures:  # §7.1 step 3.1: hash each Disclosure once
        key = b64url_encode(hash_function(encoded.encode("ascii")).digest())
        if key in by_digest:
            raise DuplicateDigest("the same Disclosure was sent twice")
        by_digest[key] = encoded
    unpacker = _Unpacker(by_digest)
    payload.pop(SD_ALG, None)  # §7.1 step 3.6
    claims = unpacker.object(payload, ())
    if len(unpacker.disclosed) != len(disclosures):  # §7.1 step 5
        raise UnreferencedDisclosure("a Disclosure is not referenced by any digest in the SD-JWT")
    return claims, unpacker.disclosed


# -- holder: presentation and Key Binding JWT (§7.2, §4.3) ----------------------------------------

def select_claim_paths(claims: Any, pattern: ClaimPath) -> list[ClaimPath]:
    """The concrete paths a claim path selects (`None` = every element), by the claims path
    processing of `vc.claims_path` (OpenID4VP §7.1.1, SD-JWT VC "Claim Path"); [] when it selects
    nothing or aborts. A malformed path raises `ClaimInvalid`."""
    check_path(pattern)
    selected = try_select_with_paths(claims, pattern)
    return [path for path, _ in selected] if selected else []


def _now(now: datetime | None) -> float:
    if now is None:
        return time.time()
    return (now if now.tzinfo else now.replace(tzinfo=UTC)).timestamp()


def create_key_binding_jwt(sd_jwt: str, signer: Signer, *, audience: str, nonce: str,
                           now: datetime | None = None, sd_alg: str = DEFAULT_SD_ALG) -> str:
    """§4.3: a KB-JWT over `sd_jwt` (the presented SD-JWT, ending in '~'), signed by the Holder key."""
    if not sd_jwt.endswith(SEPARATOR):
        raise MalformedToken("sd_hash covers an SD-JWT ending in '~'")
    payload = {"iat": int(_now(now)), "aud": audience, "nonce": nonce, SD_HASH: digest(sd_jwt, sd_alg)}
    return sign_jws(payload, signer, typ=KB_JWT_TYP, include_kid=False)


def present_sd_jwt(
    sd_jwt: str | SdJwt,
    *,
    disclose: Iterable[ClaimPath] = (),
    holder: Signer | None = None,
    audience: str | None = None,
    nonce: str | None = None,
    now: datetime | None = None,
) -> str:
    """§7.2: keep the Disclosures of the claims at `disclose` (with the parents needed to reach
    them and everything below them), then add a KB-JWT when `holder` is given."""
    parsed = parse_sd_jwt(sd_jwt.serialize() if isinstance(sd_jwt, SdJwt) else sd_jwt)
    if parsed.kb_jwt is not None:
        raise KeyBindingUnexpected("an issued SD-JWT carries no KB-JWT (RFC 9901 §7.2)")
    payload = decode_jws(parsed.issuer_jwt).claims()
    sd_alg = payload.get(SD_ALG, DEFAULT_SD_ALG)
    claims, disclosed = _unpack(payload, parsed.disclosures, sd_alg)
    wanted: list[ClaimPath] = []
    for pattern in disclose:
        matches = select_claim_paths(claims, tuple(pattern))
        if not matches:
            raise ClaimNotFound(f"claim path {tuple(pattern)} selects nothing in this SD-JWT")
        wanted.extend(matches)
    keep = {encoded for path, encoded in disclosed
            if any(path[:len(w)] == w or w[:len(path)] == path for w in wanted)}
    chosen = SdJwt(parsed.issuer_jwt, tuple(d for d in parsed.disclosures if d in keep))
    if holder is None:
        return chosen.sd_jwt
    if audience is None or nonce is None:
        raise ValueError("a KB-JWT needs audience and nonce")
    return chosen.sd_jwt + create_key_binding_jwt(chosen.sd_jwt, holder, audience=audience, nonce=nonce,
                                                  now=now, sd_alg=sd_alg)


# -- verifier (§7.1, §7.3) -----------------------------------------------------------------------

@dataclass(frozen=True)
class VerifiedSdJwt:
    claims: dict[str, Any]  # the processed SD-JWT payload (§7.1)
    header: dict[str, Any]  # Issuer-signed JWT header
    disclosed_paths: tuple[ClaimPath, ...]  # where each presented Disclosure landed in `claims`
    kb_header: dict[str, Any] | None
    kb_payload: dict[str, Any] | None
    sd_jwt: SdJwt

    @cached_property
    def payload(self) -> dict[str, Any]:
        """The Issuer-signed JWT payload as signed, digests and all (decoded again on first use)."""
        return decode_jws(self.sd_jwt.issuer_jwt).claims()


def _numeric(claims: Mapping[str, Any], name: str, error: type[VcError] = ClaimInvalid) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise error(f"{name} must be a NumericDate")
    return float(value)


def check_validity(claims: Mapping[str, Any], *, now: datetime | None = None,
                   clock_skew: timedelta = timedelta(seconds=60)) -> None:
    """§7.1 step 6 (RFC 7519 §4.1.4-4.1.6): `exp`, `nbf`, `iat` against `now` with `clock_skew`."""
    t, skew = _now(now), clock_skew.total_seconds()
    exp, nbf, iat = _numeric(claims, "exp"), _numeric(claims, "nbf"), _numeric(claims, "iat")
    if exp is not None and t - skew >= exp:
        raise TokenExpired("the SD-JWT has expired")
    if nbf is not None and t + skew < nbf:
        raise TokenNotYetValid("the SD-JWT is not valid yet (nbf)")
    if iat is not None and t + skew < iat:
        raise TokenNotYetValid("the SD-JWT was issued in the future (iat)")


_KB_ERRORS: tuple[tuple[type[VcError], type[KeyBindingError]], ...] = (
    (SignatureInvalid, KeyBindingSignatureInvalid),
    (AlgorithmNotAllowed, KeyBindingHeaderInvalid),
    (HeaderInvalid, KeyBindingHeaderInvalid),
    (MalformedToken, KeyBindingHeaderInvalid),
)


def _verify_key_binding(parsed: SdJwt, claims: dict[str, Any], sd_alg: str, *, algorithms: Collection[str],
                        audience: str, nonce: str, now: datetime | None, clock_skew: timedelta,
                        max_age: timedelta) -> tuple[dict[str, Any], dict[str, Any]]:
    cnf = claims.get(CNF)
    jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    if not isinstance(jwk, dict):
        raise KeyBindingError("the SD-JWT has no cnf.jwk to check Key Binding with")
    assert parsed.kb_jwt is not None
    try:  # §7.3 steps 5.1-5.4: signature with the cnf key, alg allowlist, typ kb+jwt
        decoded = verify_jws(decode_jws(parsed.kb_jwt), jwk, algorithms=algorithms, typ=KB_JWT_TYP)
        kb = decoded.claims()
    except VcError as exc:
        for base, wrapped in _KB_ERRORS:
            if isinstance(exc, base):
                raise wrapped(f"KB-JWT: {exc}") from exc
        raise KeyBindingError(f"KB-JWT: {exc}") from exc
    iat = _numeric(kb, "iat", KeyBindingStale)  # step 5.5
    t, skew = _now(now), clock_skew.total_seconds()
    if iat is None or iat > t + skew or iat < t - max_age.total_seconds() - skew:
        raise KeyBindingStale("the KB-JWT iat is missing or outside the acceptable window")
    if kb.get("nonce") != nonce:  # step 5.6
        raise KeyBindingNonceMismatch("the KB-JWT nonce is not the expected one")
    if kb.get("aud") != audience:
        raise KeyBindingAudienceMismatch("the KB-JWT aud is not this verifier")
    if kb.get(SD_HASH) != digest(parsed.sd_jwt, sd_alg):  # step 5.7
        raise SdHashMismatch("sd_hash does not match the presented SD-JWT")
    return decoded.header, kb


def verify_sd_jwt(
    token: str | SdJwt,
    *,
    issuer_key: IssuerKeyCallback,
    typ: str | Collection[str] | None,
    key_binding: bool,
    audience: str | None = None,
    nonce: str | None = None,
    algorithms: Collection[str] = SIGNING_ALGORITHMS,
    sd_algs: Collection[str] = tuple(HASH_ALGORITHMS),
    now: datetime | None = None,
    clock_skew: timedelta = timedelta(seconds=60),
    kb_max_age: timedelta = timedelta(minutes=5),
    understood_crit: Collection[str] = (),
) -> VerifiedSdJwt:
    """Verify an SD-JWT (`key_binding=False`, e.g. a Holder receiving one) or an SD-JWT+KB.

    `key_binding` is the Verifier's policy (§7.3 step 1); a KB-JWT where none is expected is
    refused too. `issuer_key` is asked for the Issuer key with the unverified header and payload
    (read it there; the payload object becomes the processed claims afterwards).
    """
    parsed = parse_sd_jwt(token.serialize() if isinstance(token, SdJwt) else token)  # checks every part
    if key_binding and parsed.kb_jwt is None:
        raise KeyBindingMissing("Key Binding is required and the presentation has no KB-JWT")
    if not key_binding and parsed.kb_jwt is not None:
        raise KeyBindingUnexpected("an SD-JWT without KB-JWT was expected")
    if key_binding and (audience is None or nonce is None):
        raise ValueError("checking Key Binding needs the expected audience and nonce")
    decoded = decode_jws(parsed.issuer_jwt)
    payload = decoded.claims()
    verify_jws(decoded, issuer_key(decoded.header, payload), algorithms=algorithms, typ=typ,
               understood_crit=understood_crit)  # §7.1 steps 2.1-2.3
    sd_alg = payload.get(SD_ALG, DEFAULT_SD_ALG)
    if sd_alg not in sd_algs:  # step 2.4
        raise UnsupportedHashAlgorithm(f"_sd_alg {sd_alg!r} is not accepted")
    claims, disclosed = _unpack(payload, parsed.disclosures, sd_alg)
    check_validity(claims, now=now, clock_skew=clock_skew)
    kb_header = kb_payload = None
    if key_binding:
        assert audience is not None and nonce is not None
        kb_header, kb_payload = _verify_key_binding(
            parsed, claims, sd_alg, algorithms=algorithms, audience=audience, nonce=nonce, now=now,
            clock_skew=clock_skew, max_age=kb_max_age)
    return VerifiedSdJwt(claims, decoded.header, tuple(p for p, _ in disclosed), kb_header, kb_payload, parsed)
