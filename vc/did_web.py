"""did:web: a DID whose document is served over HTTPS by the domain it names.

https://w3c-ccg.github.io/did-method-web/ (w3c-ccg/did-method-web `index.html`, § Read (Resolve))

* Method-specific id: a domain name (MUST NOT be an IP address), an optional port with its colon
  percent-encoded (`%3A`), then optional path segments separated by `:`.
* Read: replace `:` by `/`, percent-decode the port colon, prefix `https://`, append
  `/.well-known` when there is no path, then `/did.json`; GET it. The document `id` must be the
  DID. `did:web:example.com%3A3000:user:alice` → `https://example.com:3000/user/alice/did.json`.
* Development only: `http://` for a loopback host (`did:web:localhost%3A8001`) when the fetch
  policy allows plain http to loopback.

Documents we publish follow VC-JOSE-COSE § 4.2 (https://www.w3.org/TR/vc-jose-cose/#using-controlled-identifier-documents):
verification methods of type `JsonWebKey` with `publicKeyJwk`, signed with `kid` = the full DID URL.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, unquote

import httpx

from vc.errors import DidResolutionError, FetchError, MalformedToken
from vc.fetch import Fetcher, is_loopback_host
from vc.jwk import jwk_thumbprint, public_key_from_jwk

__all__ = [
    "DID_WEB_CONTEXT",
    "DID_WEB_PREFIX",
    "create_did_web_document",
    "did_web_from_url",
    "did_web_to_url",
    "resolve_did_web",
    "verification_method_id",
]

DID_WEB_PREFIX = "did:web:"
#: DID Core v1 + the JsonWebKey vocabulary (VC Data Integrity lists it among the contexts to treat as known).
DID_WEB_CONTEXT = ("https://www.w3.org/ns/did/v1", "https://w3id.org/security/jwk/v1")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
_FRAGMENT = re.compile(r"^[A-Za-z0-9._~!$&'()*+,;=:@/?%-]+$")
_ACCEPT = "application/did+json, application/json;q=0.9"


def _split_authority(authority: str) -> tuple[str, int | None]:
    host, _, port = authority.partition(":")
    host = host.lower()
    if port:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise DidResolutionError("invalid port in did:web")
        return host, int(port)
    return host, None


def _check_host(host: str) -> None:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        raise DidResolutionError("a did:web must not name an IP address")
    if not _DOMAIN.match(host):
        raise DidResolutionError(f"{host!r} is not a domain name")


def did_web_to_url(did: str, *, allow_http_loopback: bool = False) -> str:
    """The URL of the DID document of `did` (§ Read, steps 1-5)."""
    if not isinstance(did, str) or not did.startswith(DID_WEB_PREFIX):
        raise DidResolutionError("not a did:web")
    if any(c in did for c in "#?/") or len(did) > 2048:
        raise DidResolutionError("a did:web has no fragment, query or slash")
    segments = did[len(DID_WEB_PREFIX):].split(":")
    host, port = _split_authority(unquote(segments[0]))
    _check_host(host)
    path = [unquote(s) for s in segments[1:]]
    if any(not s or s in (".", "..") or any(c in s for c in "/\\?#") for s in path):
        raise DidResolutionError("invalid path segment in did:web")
    scheme = "http" if allow_http_loopback and is_loopback_host(host) else "https"
    authority = host if port is None else f"{host}:{port}"
    suffix = "/".join(quote(s, safe="") for s in path) if path else ".well-known"
    return f"{scheme}://{authority}/{suffix}/did.json"


def did_web_from_url(base_url: str) -> str:
    """The did:web of a site's base URL: `http://localhost:8001/inst/42` → `did:web:localhost%3A8001:inst:42`."""
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise MalformedToken("not a URL") from exc
    if url.scheme not in ("https", "http") or url.userinfo or url.query or url.fragment:
        raise MalformedToken("a did:web base URL is http(s) without userinfo, query or fragment")
    host = url.raw_host.decode("ascii").lower()
    _check_host(host)
    authority = host if url.port is None else f"{host}%3A{url.port}"
    path = [unquote(s) for s in url.path.split("/") if s]
    return ":".join([DID_WEB_PREFIX + authority, *(quote(s, safe="") for s in path)])


def verification_method_id(did: str, jwk: dict[str, Any]) -> str:
    """The DID URL of `jwk` in the document of `did`: `did#<kid>` when the JWK names itself, else
    `did#<RFC 7638 thumbprint>` (VC-JOSE-COSE § 4.2 recommends thumbprint-based key ids)."""
    kid = jwk.get("kid")
    if kid is None:
        return f"{did}#{jwk_thumbprint(jwk)}"
    if not isinstance(kid, str) or not _FRAGMENT.match(kid):
        raise MalformedToken("the JWK kid cannot be a DID URL fragment")
    return f"{did}#{kid}"


def create_did_web_document(did: str, keys: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The DID document to publish for `did` with these public JWKs (for assertion and authentication)."""
    did_web_to_url(did, allow_http_loopback=True)  # validates the DID
    methods = []
    for jwk in keys:
        public_key_from_jwk(jwk)  # refuses private members and unsupported keys
        methods.append({"id": verification_method_id(did, jwk), "type": "JsonWebKey", "controller": did,
                        "publicKeyJwk": dict(jwk)})
    ids = [m["id"] for m in methods]
    if len(set(ids)) != len(ids):
        raise MalformedToken("two keys have the same verification method id")
    return {
        "@context": list(DID_WEB_CONTEXT),
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": list(ids),
        "authentication": list(ids),
    }


def resolve_did_web(did: str, fetcher: Fetcher) -> dict[str, Any]:
    """Fetch the DID document of `did` through `fetcher` and check its `id`."""
    url = did_web_to_url(did, allow_http_loopback=fetcher.policy.allow_http_loopback)
    try:
        document = fetcher.get_json(url, accept=_ACCEPT)
    except FetchError as exc:
        raise DidResolutionError(f"cannot fetch the DID document of {did}: {exc}") from exc
    if isinstance(document, dict) and "id" not in document and isinstance(document.get("didDocument"), dict):
        document = document["didDocument"]  # the spec's "DID Resolution Document" wrapping
    if not isinstance(document, dict):
        raise DidResolutionError("a DID document is a JSON object")
    if document.get("id") != did:
        raise DidResolutionError("the DID document id is not the DID that was resolved")
    return document
