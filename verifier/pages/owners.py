"""Which browser made a presentation request: a result is shown only to that page session.

The page session is an opaque random id in an HttpOnly cookie (`servicekit.web.cookies`); the
database keeps only its SHA-256, next to the request id, and drops it with the request
(retention). The same-device flow's `response_code` (OpenID4VP 1.0 §13.3) is the other key
to a result: `may_see`.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlmodel import Session, col, select

from verifier.models import PresentationRequest, RequestOwner

__all__ = ["bind_to_session", "may_see", "requests_of_session"]


def _digest(session_id: str) -> str:
    return hashlib.sha256(b"verifier-page-session\x00" + session_id.encode()).hexdigest()


def bind_to_session(session: Session, request_id: str, session_id: str) -> None:
    """Record that the page session `session_id` made request `request_id`."""
    session.add(RequestOwner(request_id=request_id, session_digest=_digest(session_id)))
    session.commit()


def may_see(session: Session, request: PresentationRequest, *, session_id: str | None,
            response_code: str | None) -> bool:
    """Whether this browser made the request, or brings the same-device flow's `response_code`."""
    if response_code is not None and request.response_code is not None and hmac.compare_digest(
            response_code.encode(), request.response_code.encode()):
        return True
    if session_id is None:
        return False
    owner = session.get(RequestOwner, request.id)
    return owner is not None and hmac.compare_digest(owner.session_digest, _digest(session_id))


def requests_of_session(session: Session, session_id: str | None, *, limit: int = 10) -> list[PresentationRequest]:
    """The latest requests this page session made, newest first."""
    if session_id is None:
        return []
    statement = (select(PresentationRequest)
                 .join(RequestOwner, col(RequestOwner.request_id) == col(PresentationRequest.id))
                 .where(col(RequestOwner.session_digest) == _digest(session_id))
                 .order_by(col(PresentationRequest.created_at).desc())
                 .limit(limit))
    return list(session.exec(statement).all())
