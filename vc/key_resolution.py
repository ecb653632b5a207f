"""Find the public JWK that verifies a JOSE object, from its header and its issuer.

One function for every verifier and the wallet, `resolve_verification_key`, and a `KeyResolver`
(`vc.keys`) around it, `VerificationKeyResolver`. What the issuer is fixes the mechanism, so a
header cannot pick a weaker one (SD-JWT VC §10.2: "an attacker cannot influence the type of
verification method"):

* issuer is a DID (OB3 VC-JWT issuers, holders): its DID document (did:jwk, did:key, did:web);
  a DID URL `kid` must belong to that DID and its fragment must name a verification method of
  the document listed under the wanted relationship (`assertionMethod` by default; DID Core
  https://www.w3.org/TR/did-core/#verification-relationships). Without `kid`, a header `jwk`
  must be one of the document's keys, or the document must have exactly one.
* issuer is an https URL (SD-JWT VC): JWT VC Issuer Metadata, SD-JWT VC §5
  (https://datatracker.ietf.org/doc/draft-ietf-oauth-sd-jwt-vc/), as `vc.sd_jwt_vc` implements it:
  GET `https://<host>/.well-known/jwt-vc-issuer<path>`, `issuer` identical to `iss`, exactly one
  of `jwks`/`jwks_uri`, the key picked by `kid`.
* no issuer (holder proofs, KB-JWTs): a DID URL `kid`, or an embedded `jwk` header where the
  caller allows the method `"jwk"`.

Fetched DID documents and issuer key sets may be kept in a `KeyCache` (short TTL, injectable clock).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, TypeVar

from vc.did_jwk import resolve_did_jwk
from vc.did_key import multikey_to_jwk, resolve_did_key
from vc.did_web import resolve_did_web
from vc.errors import DidResolutionError, FetchError, KeyResolutionError, MalformedToken
from vc.fetch import Fetcher
from vc.jwk import jwk_thumbprint, public_key_from_jwk
from vc.sd_jwt_vc import jwt_vc_issuer_metadata_url, resolve_issuer_key

__all__ = [
    "DEFAULT_METHODS",
    "METHOD_JWK_HEADER",
    "METHOD_JWT_VC_ISSUER",
    "KeyCache",
    "VerificationKeyResolver",
    "resolve_did_document",
    "resolve_verification_key",
]

METHOD_JWT_VC_ISSUER = "jwt-vc-issuer"
#: An embedded `jwk` JOSE header (holder proofs); never on by default.
METHOD_JWK_HEADER = "jwk"
DEFAULT_METHODS = frozenset({"did:jwk", "did:key", "did:web", METHOD_JWT_VC_ISSUER})
_T = TypeVar("_T")


class KeyCache:
    """A small in-memory cache of fetched key material (DID documents, JWK Sets)."""

    def __init__(self, ttl: float = 300.0, *, clock: Callable[[], float] = time.monotonic,
                 max_entries: int = 256) -> None:
        self.ttl = ttl
        self._clock = clock
        self._max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_fetch(self, key: str, fetch: Callable[[], _T]) -> _T:
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] > now:
                return entry[1]  # type: ignore[no-any-return]
        value = fetch()
        with self._lock:
            self._entries[key] = (now + self.ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _cached(cache: KeyCache | None, key: str, fetch: Callable[[], _T]) -> _T:
    return fetch() if cache is None else cache.get_or_fetch(key, fetch)


# -- DID documents ---------------------------------------------------------------------------

def _did_method(did: str) -> str:
    parts = did.split(":")
    if len(parts) < 3 or parts[0] != "did" or not parts[1].isalnum() or not parts[2]:
        raise DidResolutionError(f"{did!r} is not a DID")
    return f"did:{parts[1]}"


def resolve_did_document(did: str, *, fetcher: Fetcher | None = None, cache: KeyCache | None = None,
                         allowed_methods: Collection[str] = DEFAULT_METHODS) -> dict[str, Any]:
    """The DID document of `did` (did:jwk, did:key, did:web; only methods in `allowed_methods`)."""
    method = _did_method(did)
    if method not in allowed_methods:
        raise DidResolutionError(f"{method} is not accepted here")
    if method == "did:jwk":
        return resolve_did_jwk(did)
    if method == "did:key":
        return resolve_did_key(did)
    if method == "did:web":
        if fetcher is None:
            raise DidResolutionError("resolving did:web needs a fetcher")
        return _cached(cache, f"did:{did}", lambda: resolve_did_web(did, fetcher))
    raise DidResolutionError(f"{method} is not supported")


def _absolute(method_id: Any, did: str) -> str | None:
    if not isinstance(method_id, str):
        return None
    return did + method_id if method_id.startswith("#") else method_id


def _verification_methods(document: dict[str, Any], did: str, relationship: str | None) -> list[dict[str, Any]]:
    """The verification methods of the document usable for `relationship` (all of them for None)."""
    declared = document.get("verificationMethod", [])
    declared = [m for m in declared if isinstance(m, dict)] if isinstance(declared, list) else []
    if relationship is None:
        return declared
    entries = document.get(relationship, [])
    if not isinstance(entries, list):
        return []
    by_id = {_absolute(m.get("id"), did): m for m in declared}
    usable = []
    for entry in entries:
        if isinstance(entry, dict):  # an embedded verification method
            usable.append(entry)
        elif (method := by_id.get(_absolute(entry, did))) is not None:
            usable.append(method)
    return usable


def _method_jwk(method: dict[str, Any], did: str) -> dict[str, Any]:
    if method.get("controller") != did:
        raise KeyResolutionError("the verification method is not controlled by the DID")
    jwk = method.get("publicKeyJwk")
    if jwk is None and isinstance(method.get("publicKeyMultibase"), str):
        jwk = multikey_to_jwk(method["publicKeyMultibase"])
    if not isinstance(jwk, dict):
        raise KeyResolutionError("the verification method has no usable public key")
    return jwk


def _key_from_did(did: str, fragment: str | None, header: dict[str, Any], *, fetcher: Fetcher | None,
                  cache: KeyCache | None, allowed_methods: Collection[str], relationship: str | None) -> dict[str, Any]:
    document = resolve_did_document(did, fetcher=fetcher, cache=cache, allowed_methods=allowed_methods)
    methods = _verification_methods(document, did, relationship)
    if fragment is not None:
        wanted = f"{did}#{fragment}"
        found = [m for m in methods if _absolute(m.get("id"), did) == wanted]
        if not found:
            raise KeyResolutionError(f"{wanted} is not a verification method for {relationship or 'any use'}")
        return _method_jwk(found[0], did)
    embedded = header.get("jwk")
    if isinstance(embedded, dict):  # no kid: the header's key must be one of the DID's keys
        thumbprint = _thumbprint(embedded)
        for method in methods:
            jwk = _method_jwk(method, did)
            if _thumbprint(jwk) == thumbprint:
                return jwk
        raise KeyResolutionError("the header jwk is not a key of the issuer's DID")
    if len(methods) != 1:
        raise KeyResolutionError("no kid, and the DID document does not have exactly one usable key")
    return _method_jwk(methods[0], did)


def _thumbprint(jwk: dict[str, Any]) -> str:
    try:
        return jwk_thumbprint(jwk)
    except MalformedToken as exc:
        raise KeyResolutionError(f"unusable JWK: {exc}") from exc


# -- JWT VC Issuer Metadata (SD-JWT VC §5, implemented in vc.sd_jwt_vc) ------------------------

@dataclass
class _CachedJson:
    """`get_json` through the fetcher and the cache (the metadata document and its `jwks_uri`)."""

    fetcher: Fetcher
    cache: KeyCache | None

    def get_json(self, url: str) -> Any:
        return _cached(self.cache, f"url:{url}", lambda: self.fetcher.get_json(url))


def _key_from_jwt_vc_issuer(iss: str, header: dict[str, Any], fetcher: Fetcher, cache: KeyCache | None) -> dict[str, Any]:
    source = _CachedJson(fetcher, cache)
    url = jwt_vc_issuer_metadata_url(iss, allow_http_loopback=fetcher.policy.allow_http_loopback)
    try:
        metadata = source.get_json(url)
    except FetchError as exc:
        raise KeyResolutionError(f"cannot fetch the JWT VC Issuer Metadata of {iss}: {exc}") from exc
    return resolve_issuer_key(metadata, iss=iss, header=header, fetcher=source)


# -- the one entry point -----------------------------------------------------------------------

def resolve_verification_key(
    header: dict[str, Any],
    *,
    issuer: str | None,
    fetcher: Fetcher | None = None,
    allowed_methods: Collection[str] = DEFAULT_METHODS,
    relationship: str | None = "assertionMethod",
    cache: KeyCache | None = None,
) -> dict[str, Any]:
    """The public JWK that should verify a JOSE object with `header`, issued by `issuer`.

    `allowed_methods` names the mechanisms accepted: DID methods (`"did:jwk"`, `"did:key"`,
    `"did:web"`), `"jwt-vc-issuer"` and `"jwk"` (an embedded header key, only without issuer).
    `relationship` is the DID Core verification relationship the key must be listed under
    (`"authentication"` for holder proofs; None for any). Raises `KeyResolutionError`.
    """
    if not isinstance(header, dict):
        raise KeyResolutionError("the JOSE header is not an object")
    kid = header.get("kid")
    did_url = kid if isinstance(kid, str) and kid.startswith("did:") else None
    if issuer is not None and not isinstance(issuer, str):
        raise KeyResolutionError("the issuer is not a string")

    def from_did(did: str, fragment: str | None) -> dict[str, Any]:
        return _key_from_did(did, fragment or None, header, fetcher=fetcher, cache=cache,
                             allowed_methods=allowed_methods, relationship=relationship)

    if issuer is not None and issuer.startswith("did:"):
        if "#" in issuer or "?" in issuer:
            raise KeyResolutionError("the issuer is a DID URL, not a DID")
        if did_url is not None:
            did, _, fragment = did_url.partition("#")
            if did != issuer:
                raise KeyResolutionError(f"kid {did_url} does not belong to the issuer {issuer}")
            jwk = from_did(did, fragment)
        else:
            jwk = from_did(issuer, None)
    elif issuer is not None:
        if did_url is not None:
            raise KeyResolutionError("a DID URL kid cannot speak for an https issuer")
        if METHOD_JWT_VC_ISSUER not in allowed_methods:
            raise KeyResolutionError("JWT VC Issuer Metadata is not accepted here")
        if fetcher is None:
            raise KeyResolutionError("resolving an https issuer needs a fetcher")
        jwk = _key_from_jwt_vc_issuer(issuer, header, fetcher, cache)
    elif did_url is not None:
        did, _, fragment = did_url.partition("#")
        jwk = from_did(did, fragment)
    elif isinstance(header.get("jwk"), dict):
        if METHOD_JWK_HEADER not in allowed_methods:
            raise KeyResolutionError("an embedded jwk header is not accepted here")
        jwk = header["jwk"]
    else:
        raise KeyResolutionError("no issuer, no DID URL kid and no accepted jwk header: no key to verify with")
    return _checked(jwk, header)


def _checked(jwk: dict[str, Any], header: dict[str, Any]) -> dict[str, Any]:
    """A public signature key whose own `alg`, if any, is the header's (RFC 7517 §4.4)."""
    try:
        public_key_from_jwk(jwk)
    except MalformedToken as exc:
        raise KeyResolutionError(f"unusable verification key: {exc}") from exc
    if jwk.get("use", "sig") != "sig":
        raise KeyResolutionError("the key is not for signatures")
    if "alg" in jwk and jwk["alg"] != header.get("alg"):
        raise KeyResolutionError(f"the key is for {jwk['alg']}, the header says {header.get('alg')}")
    return jwk


@dataclass
class VerificationKeyResolver:
    """`resolve_verification_key` as a `vc.keys.KeyResolver`: `resolver(issuer, header) -> jwk`."""

    fetcher: Fetcher | None = None
    allowed_methods: Collection[str] = DEFAULT_METHODS
    relationship: str | None = "assertionMethod"
    cache: KeyCache | None = field(default_factory=KeyCache)

    def __call__(self, issuer: str | None, header: dict[str, Any]) -> dict[str, Any]:
        return resolve_verification_key(header, issuer=issuer, fetcher=self.fetcher,
                                         allowed_methods=self.allowed_methods,
                                         relationship=self.relationship, cache=self.cache)
