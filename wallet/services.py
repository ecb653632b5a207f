"""What the wallet's service functions share per process: settings, keys, the one fetcher, key resolution."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from vc.fetch import Fetcher
from vc.key_resolution import VerificationKeyResolver
from vc.keys import MasterKey
from wallet.cache import DocumentCache
from wallet.settings import WalletSettings
from wallet.status import StatusChecker
from wallet.vault import IndexKey

__all__ = ["WalletServices"]


@dataclass
class WalletServices:
    settings: WalletSettings
    master_key: MasterKey
    #: Every outbound request goes through it (https only but loopback in development, SSRF guard, limits).
    fetcher: Fetcher
    #: Issuer (and status list) keys: did:web / did:jwk / did:key, JWT VC Issuer Metadata.
    resolve_key: VerificationKeyResolver
    cache_index: IndexKey

    @classmethod
    def create(cls, settings: WalletSettings, master_key: MasterKey, cache_index: IndexKey,
               fetcher: Fetcher | None = None) -> WalletServices:
        fetcher = fetcher or Fetcher(settings.fetch_policy())
        return cls(settings, master_key, fetcher, VerificationKeyResolver(fetcher=fetcher), cache_index)

    def document_cache(self, session: Session, now: datetime | None = None) -> DocumentCache:
        return DocumentCache(session, self.master_key, self.cache_index, now)

    def status_checker(self, session: Session, now: datetime | None = None) -> StatusChecker:
        return StatusChecker(self.fetcher, self.resolve_key, self.document_cache(session, now), now)
