"""The verifier's verification services: keys, status lists and trust, wired into `vc.checks`.

- Issuer keys: did:web, did:jwk, did:key, or `/.well-known/jwt-vc-issuer` for https issuers
  (`vc.key_resolution`), fetched through the one guarded `Fetcher` and cached briefly; each
  resolved key is remembered as long (`CachedKeyResolver`), so a presentation does not resolve
  its issuer's key again.
- Holder keys (VP JWT): the holder's DID, `authentication` relationship.
- Token Status Lists: fetched as `application/statuslist+jwt`, verified with the credential
  issuer's key, cached for their `ttl` (capped by `status_cache_max_seconds`).
- Bitstring Status Lists: the status list credential fetched as a VC-JWT, verified, its
  issuer the credential's, cached up to `status_cache_max_seconds`.
- Trusted issuers: the request's own list, else the verifier's (settings + database), else
  none; with `trust_any_issuer` an empty list means "any issuer".
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.engine import Connection
from sqlmodel import Session, select

from vc.bitstring_status_list import validate_bitstring_status
from vc.checks import CheckContext, HolderBinding
from vc.errors import MalformedToken, StatusError
from vc.fetch import Fetcher, FetchPolicy
from vc.key_resolution import KeyCache, VerificationKeyResolver
from vc.keys import KeyResolver
from vc.token_status_list import StatusListCache, check_status, status_list_token_fetcher
from vc.vc_jwt import verify_vc_jwt
from verifier.models import TrustedIssuer
from verifier.settings import VerifierSettings

__all__ = ["CachedKeyResolver", "VerificationService", "trusted_issuers_for"]

_STATUS_LIST_ACCEPT = "application/vc+jwt, application/jwt;q=0.9"
HOLDER_DID_METHODS = frozenset({"did:jwk", "did:key", "did:web"})
#: How long fetched DID documents and issuer key sets, and the keys resolved from them, are kept.
KEY_CACHE_SECONDS = 300.0


class CachedKeyResolver:
    """A `KeyResolver` that remembers what `resolver` answered, by issuer and the header members
    resolution reads (`kid`, `alg`, `jwk`), for as long as the fetched key material is cached.
    Failures are not remembered."""

    def __init__(self, resolver: KeyResolver, *, ttl: float = KEY_CACHE_SECONDS) -> None:
        self.resolver = resolver
        self.cache = KeyCache(ttl=ttl)

    def __call__(self, issuer: str | None, header: dict[str, Any]) -> dict[str, Any]:
        key = repr((issuer, header.get("kid"), header.get("alg"), header.get("jwk")))
        return self.cache.get_or_fetch(key, lambda: self.resolver(issuer, header))


class VerificationService:
    """Long-lived, shared by all requests of one worker: its fetcher and caches."""

    def __init__(self, settings: VerifierSettings, *, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self.fetcher = Fetcher(FetchPolicy(allow_http_loopback=settings.allow_http_loopback,
                                           timeout=settings.fetch_timeout_seconds), transport=transport)
        cache_seconds = float(settings.status_cache_max_seconds)
        self.key_cache = KeyCache(ttl=KEY_CACHE_SECONDS)
        self.issuer_keys = CachedKeyResolver(VerificationKeyResolver(fetcher=self.fetcher, cache=self.key_cache))
        self.holder_keys = CachedKeyResolver(VerificationKeyResolver(
            fetcher=self.fetcher, cache=self.key_cache, relationship="authentication",
            allowed_methods=HOLDER_DID_METHODS))
        self.token_status_lists = StatusListCache(max_ttl=timedelta(seconds=cache_seconds),
                                                  default_ttl=timedelta(seconds=min(300.0, cache_seconds)))
        self.bitstring_lists = KeyCache(ttl=cache_seconds)
        self._fetch_token = status_list_token_fetcher(self.fetcher)
        self._clock_skew = timedelta(seconds=settings.clock_skew_seconds)
        self._holder_binding_max_age = timedelta(seconds=settings.holder_binding_max_age_seconds)

    def close(self) -> None:
        self.fetcher.close()

    def token_status(self, status_claim: Any, issuer: str | None, now: datetime | None = None) -> int:
        """The Token Status List value of a credential; the list must be signed by the credential's issuer."""
        cache = self.token_status_lists if self.settings.status_cache_max_seconds > 0 else None
        return check_status(status_claim, fetch_token=self._fetch_token, now=now, cache=cache,
                            resolve_key=lambda _iss, header: self.issuer_keys(issuer, header))

    def _status_list_credential(self, url: str, issuer: str | None) -> dict[str, Any]:
        def fetch() -> dict[str, Any]:
            _media_type, body = self.fetcher.get_bytes(url, accept=_STATUS_LIST_ACCEPT)
            try:
                token = body.decode("ascii").strip()
            except UnicodeDecodeError as exc:
                raise MalformedToken("the status list credential is not a VC-JWT") from exc
            verified = verify_vc_jwt(token, resolve_key=self.issuer_keys)
            if verified.issuer != issuer:
                raise StatusError("the status list credential is not issued by the credential's issuer")
            return verified.credential

        return self.bitstring_lists.get_or_fetch(f"{issuer}|{url}", fetch)

    def bitstring_status(self, entry: Any, issuer: str | None, now: datetime | None = None) -> dict[str, Any]:
        return validate_bitstring_status(entry, now=now,
                                         dereference=lambda url: self._status_list_credential(url, issuer))

    def context(
        self,
        *,
        trusted_issuers: Collection[str] | None,
        holder_binding: HolderBinding | None = None,
        require_holder_binding: bool = True,
        now: datetime | None = None,
    ) -> CheckContext:
        return CheckContext(
            issuer_key=self.issuer_keys,
            holder_key=self.holder_keys,
            now=now,
            clock_skew=self._clock_skew,
            holder_binding=holder_binding,
            require_holder_binding=require_holder_binding,
            token_status=lambda claim, issuer: self.token_status(claim, issuer, now),
            bitstring_status=lambda entry, issuer: self.bitstring_status(entry, issuer, now),
            trusted_issuers=trusted_issuers,
        )

    def holder_binding(self, *, client_id: str, nonce: str) -> HolderBinding:
        return HolderBinding(audience=client_id, nonce=nonce, max_age=self._holder_binding_max_age)


def trusted_issuers_for(session: Session | Connection, settings: VerifierSettings,
                        request_list: list[str] | None) -> Collection[str] | None:
    """The issuers trusted for one verification; None when any issuer is accepted."""
    if request_list:
        return frozenset(request_list)
    stored = session.execute(select(TrustedIssuer.identifier)).scalars().all()
    trusted = frozenset(settings.trusted_issuers) | frozenset(stored)
    if not trusted and settings.trust_any_issuer:
        return None
    return trusted

