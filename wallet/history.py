"""What the learner shared, with whom and when: one sealed record per presentation (or refusal)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from wallet.accounts import LearnerContext
from wallet.models import PresentationRecord, aware, utcnow

__all__ = ["list_history", "record_presentation"]


def record_presentation(*, session: Session, learner: LearnerContext, record: dict[str, Any],
                        now: datetime | None = None) -> str:
    record_id = str(uuid.uuid4())
    session.add(PresentationRecord(id=record_id, learner_id=learner.id, created_at=now or utcnow(),
                                   record_sealed=learner.data_key.seal_json(record, f"presentation:{record_id}")))
    session.commit()
    return record_id


def list_history(*, session: Session, learner: LearnerContext, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """The learner's presentations, newest first."""
    rows = session.exec(select(PresentationRecord).where(PresentationRecord.learner_id == learner.id)
                        .order_by(col(PresentationRecord.created_at).desc()).limit(limit).offset(offset))
    return [{"id": row.id, "at": aware(row.created_at).isoformat(),
             **learner.data_key.open_json(row.record_sealed, f"presentation:{row.id}")} for row in rows]
