"""Offers and presentation requests the wallet resolved and that wait for the learner.

Resolving fetches things that may be single-use (a `credential_offer_uri`, a `request_uri`
answered to a POST), so what was fetched is kept, sealed under the learner's data key,
until the learner answers (a transaction code, their consent) or it expires.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col

from schemas.oauth2 import NotFound
from wallet.accounts import LearnerContext
from wallet.models import PendingTransaction, aware, utcnow

__all__ = ["OFFER", "PRESENTATION", "drop_pending", "load_pending", "save_pending"]

OFFER = "offer"
PRESENTATION = "presentation"


def save_pending(*, session: Session, learner: LearnerContext, kind: str, state: dict[str, Any],
                 ttl: timedelta, now: datetime | None = None) -> str:
    pending_id = str(uuid.uuid4())
    session.add(PendingTransaction(id=pending_id, learner_id=learner.id, kind=kind,
                                   state_sealed=learner.data_key.seal_json(state, f"pending:{kind}:{pending_id}"),
                                   expires_at=(now or utcnow()) + ttl))
    session.commit()
    return pending_id


def load_pending(*, session: Session, learner: LearnerContext, pending_id: str, kind: str,
                 now: datetime | None = None) -> dict[str, Any]:
    """The state of a live pending transaction of this learner; `not_found` otherwise."""
    row = session.get(PendingTransaction, pending_id) if isinstance(pending_id, str) else None
    if row is None or row.learner_id != learner.id or row.kind != kind or aware(row.expires_at) <= (now or utcnow()):
        raise NotFound(f"no such {kind}, or it expired")
    return learner.data_key.open_json(row.state_sealed, f"pending:{kind}:{pending_id}")  # type: ignore[no-any-return]


def drop_pending(*, session: Session, learner: LearnerContext, pending_id: str) -> bool:
    """Remove it; True only for the one caller that removed it (single use under races)."""
    result = session.execute(delete(PendingTransaction).where(
        col(PendingTransaction.id) == pending_id, col(PendingTransaction.learner_id) == learner.id))
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]
