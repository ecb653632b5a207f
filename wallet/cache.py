"""A database cache of public documents the wallet fetched (status lists, type metadata).

Shared by every worker, kept until the document's own freshness (a status list's `ttl`,
never past its `exp`) runs out. Entries are sealed under the master key and keyed by a
keyed hash of kind and URL, so the cache does not list which issuers the learners use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from vc.keys import MasterKey
from wallet.models import CachedDocument, aware, utcnow
from wallet.vault import IndexKey

__all__ = ["DocumentCache"]

#: Nothing is kept longer than this, whatever the document says.
MAX_TTL = timedelta(days=1)


@dataclass
class DocumentCache:
    session: Session
    master_key: MasterKey
    index: IndexKey
    now: datetime | None = None

    def _moment(self) -> datetime:
        return self.now or utcnow()

    def get(self, kind: str, url: str, fetch: Callable[[], tuple[bytes, timedelta]]) -> bytes:
        """The cached document, or `fetch()`'s (body, how long it stays fresh), stored for next time."""
        key = self.index.hash(f"{kind} {url}")
        aad = f"cache|{key}"
        now = self._moment()
        row = self.session.get(CachedDocument, key)
        if row is not None and aware(row.expires_at) > now:
            return self.master_key.open(row.body_sealed, aad)
        body, ttl = fetch()
        ttl = min(ttl, MAX_TTL)
        if ttl.total_seconds() <= 0:
            return body
        sealed = self.master_key.seal(body, aad)
        if row is None:
            row = CachedDocument(key_hash=key, body_sealed=sealed, fetched_at=now, expires_at=now + ttl)
        else:
            row.body_sealed, row.fetched_at, row.expires_at = sealed, now, now + ttl
        self.session.add(row)
        try:
            self.session.commit()
        except IntegrityError:  # another request cached it meanwhile; theirs is as good
            self.session.rollback()
        return body
