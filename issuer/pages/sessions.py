"""Staff log-in for the pages: the pages' secret, and page sessions started with a staff API token.

The page-session id lives in the servicekit session cookie (HttpOnly, SameSite=Lax); the database
keeps only its SHA-256 hash, linked to the staff member and the API key used to log in. A session
ends at log-out, after `SESSION_SECONDS`, or when that API key is revoked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete
from sqlmodel import Session, col, select

from issuer.models import ApiKey, Staff
from issuer.pages.models import IssuerSecret, StaffSession
from issuer.services.common import secret_hash, unix_now
from issuer.services.staff import Principal, authenticate
from servicekit.secrets import load_sealed_secret
from vc.keys import MasterKey

__all__ = ["PAGES_SECRET", "SESSION_SECONDS", "StaffUser", "end_staff_session", "load_issuer_secret",
           "staff_of_session", "start_staff_session"]

#: Signs the pages' CSRF tokens and flash messages (the same in every worker).
PAGES_SECRET = "pages-secret"
#: A page session lasts a working day, then the staff member logs in again.
SESSION_SECONDS = 8 * 3600


@dataclass(frozen=True)
class StaffUser:
    """The staff member behind a page session: their principal (what they may do) and their name."""

    principal: Principal
    name: str


def load_issuer_secret(session: Session, master_key: MasterKey, name: str) -> bytes:
    """32 random bytes shared by every worker, created sealed under the master key on first use."""
    return load_sealed_secret(session, master_key, IssuerSecret, name)


def start_staff_session(*, session: Session, token: str, new_session_id: Callable[[], str],
                        now: int | None = None) -> StaffUser:
    """Log in with an API token (`invalid_token` when it is unknown or revoked); once the token is known good,
    `new_session_id()` gives the browser a fresh page-session id, which the log-in is bound to."""
    principal = authenticate(session=session, token=token.strip())
    key_id = session.exec(select(ApiKey.id).where(ApiKey.token_hash == secret_hash(token.strip()))).one()
    assert key_id is not None
    session_id = new_session_id()
    now = unix_now(now)
    session.execute(delete(StaffSession).where(col(StaffSession.expires_at) <= now))
    session.add(StaffSession(session_hash=secret_hash(session_id), staff_id=principal.staff_id, api_key_id=key_id,
                             created_at=now, expires_at=now + SESSION_SECONDS))
    staff = session.get(Staff, principal.staff_id)
    assert staff is not None
    session.commit()
    return StaffUser(principal, staff.name)


def staff_of_session(*, session: Session, session_id: str | None, now: int | None = None) -> StaffUser | None:
    """The staff member logged in as page session `session_id`, or None."""
    if not session_id:
        return None
    row = session.exec(
        select(Staff).join(StaffSession, col(StaffSession.staff_id) == Staff.id)
        .join(ApiKey, col(ApiKey.id) == StaffSession.api_key_id)
        .where(StaffSession.session_hash == secret_hash(session_id), col(StaffSession.expires_at) > unix_now(now),
               col(ApiKey.revoked_at).is_(None))).first()
    if row is None:
        return None
    assert row.id is not None
    return StaffUser(Principal(row.id, row.role, row.institution_id, row.issuer_id), row.name)


def end_staff_session(*, session: Session, session_id: str | None) -> None:
    if session_id:
        session.execute(delete(StaffSession).where(col(StaffSession.session_hash) == secret_hash(session_id)))
        session.commit()
