"""The learner's credentials as the API and the pages show them: cards with their live status, and detail.

Both read the sealed summaries through `wallet.store`, render them with `wallet.rendering` in the
learner's language, and ask `wallet.status` for the state (dates, then the issuer's status list).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from wallet.accounts import LearnerContext
from wallet.rendering import card, detail, results
from wallet.services import WalletServices
from wallet.store import count_credentials, get_credential, list_credentials

__all__ = ["credential_cards", "credential_detail"]


def credential_cards(*, session: Session, learner: LearnerContext, services: WalletServices,
                     query: str | None = None, format: str | None = None, limit: int = 50,
                     offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """One page of the learner's credentials (newest first, `query` words all present) and the total count."""
    rows = list_credentials(session=session, learner=learner, query=query, format=format, limit=limit, offset=offset)
    checker = services.status_checker(session)
    cards = [{"id": row.id, "format": row.format, "received_at": row.received_at.isoformat(),
              **card(row.summary, locale=learner.locale, status=checker.status(row.summary))} for row in rows]
    return cards, count_credentials(session=session, learner=learner, query=query, format=format)


def credential_detail(*, session: Session, learner: LearnerContext, services: WalletServices,
                      credential_id: str) -> dict[str, Any]:
    """Everything the wallet shows about one of the learner's credentials (`not_found` for anyone else's)."""
    row = get_credential(session=session, learner=learner, credential_id=credential_id)
    state = services.status_checker(session).status(row.summary)
    return {"id": row.id, "format": row.format, "received_at": row.received_at.isoformat(), "claims": row.claims,
            "copies": len(row.copies), "results": results(row.claims),
            **detail(row.summary, locale=learner.locale, status=state)}
