"""What the verifier tells about a request: its status and, once answered, the verdict.

Only the verdict, the named checks and the *disclosed* claims are kept (in
`PresentationRequest.result`); nothing else of a presentation is stored. Results are
deleted `retention_days` after the request was made (`delete_expired_results`).

Same-device flow (OpenID4VP 1.0 §13.3, session fixation): when the request sent the wallet
back with a `response_code`, the result is shown only to whoever presents that code.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col

from schemas.oauth2 import AccessDenied
from verifier.models import PresentationRequest, RequestStatus, as_utc, utcnow

__all__ = ["delete_expired_results", "presentation_result", "status_now"]


def status_now(request: PresentationRequest, now: datetime | None = None) -> str:
    """The request's status as a poll would tell it now (a pending request past its expiry is expired),
    without writing anything: for lists."""
    if (request.status == RequestStatus.PENDING and request.answered_at is None
            and as_utc(request.expires_at) <= (now or utcnow())):
        return RequestStatus.EXPIRED
    return request.status


def _mark_expired(session: Session, request: PresentationRequest, now: datetime) -> None:
    if request.status == RequestStatus.PENDING and request.answered_at is None and as_utc(request.expires_at) <= now:
        session.execute(update(PresentationRequest)
                        .where(col(PresentationRequest.id) == request.id)
                        .where(col(PresentationRequest.status) == RequestStatus.PENDING)
                        .where(col(PresentationRequest.answered_at).is_(None))
                        .values(status=RequestStatus.EXPIRED))
        session.commit()
        session.refresh(request)


def presentation_result(session: Session, request: PresentationRequest, *, response_code: str | None = None,
                        now: datetime | None = None) -> dict[str, Any]:
    """The poll answer: `{id, status, expires_at, answered_at?, verdict?, error?, checks, claims, credentials}`."""
    _mark_expired(session, request, now or utcnow())
    body: dict[str, Any] = {
        "id": request.id,
        "status": request.status,
        "client_id": request.client_id,
        "created_at": as_utc(request.created_at).isoformat(),
        "expires_at": as_utc(request.expires_at).isoformat(),
        "answered_at": as_utc(request.answered_at).isoformat() if request.answered_at else None,
        "checks": {},
        "claims": {},
    }
    if request.result is None:
        return body
    if request.response_code is not None and not (
            response_code is not None and hmac.compare_digest(response_code.encode(), request.response_code.encode())):
        raise AccessDenied("this result is shown only with the response_code of the same-device flow")
    body.update(request.result)
    return body


def delete_expired_results(session: Session, *, retention_days: int, now: datetime | None = None) -> int:
    """Delete requests (and their results) older than `retention_days`; returns how many."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    deleted = session.execute(delete(PresentationRequest).where(col(PresentationRequest.created_at) < cutoff))
    session.commit()
    return int(deleted.rowcount)  # type: ignore[attr-defined]
