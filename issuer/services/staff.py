"""Staff accounts, their API keys, who may see and touch what, and the development bootstrap.

Roles:
- `service_admin`: runs this issuer service; creates institutions; sees everything.
- `institution_admin`: everything of one institution (issuers, badge classes, awards, staff, keys).
- `issuer_staff`: badge classes and awards of one issuer (faculty) of one institution.

Data of an institution a staff member does not belong to is answered with 404,
as if it did not exist; an action outside the role within one's own institution with 403.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from issuer.admin_models import StaffCreate, StaffPublic
from issuer.models import ApiKey, Institution, Issuer, Staff
from issuer.services.common import Conflict, get_or_404, new_secret, secret_hash, unix_now
from schemas.oauth2 import AccessDenied, InvalidRequest, InvalidToken, NotFound

__all__ = [
    "BOOTSTRAP_ADMIN_NAME",
    "TOKEN_FILE_NAME",
    "Principal",
    "authenticate",
    "bootstrap_admin",
    "create_api_key",
    "create_staff",
]

log = logging.getLogger(__name__)

BOOTSTRAP_ADMIN_NAME = "development admin"
TOKEN_FILE_NAME = "issuer-admin.token"
#: API keys look like `ewi_<43 chars>`; the prefix makes a leaked key recognisable.
TOKEN_PREFIX = "ewi_"


@dataclass(frozen=True)
class Principal:
    """The authenticated staff member of a request."""

    staff_id: int
    role: str
    institution_id: int | None
    issuer_id: int | None

    @property
    def is_service_admin(self) -> bool:
        return self.role == "service_admin"

    def check_institution(self, institution_id: int) -> None:
        """Reading an institution's data: 404 when it is not theirs."""
        if not self.is_service_admin and self.institution_id != institution_id:
            raise NotFound(f"institution {institution_id} not found")

    def check_issuer(self, institution_id: int, issuer_id: int) -> None:
        """Working on a badge class or award of `issuer_id`: issuer staff only their own issuer."""
        self.check_institution(institution_id)
        if self.role == "issuer_staff" and self.issuer_id != issuer_id:
            raise AccessDenied("this belongs to another issuer of your institution")

    def check_institution_admin(self, institution_id: int) -> None:
        """Managing an institution (issuers, staff, keys): its admins and the service admin."""
        self.check_institution(institution_id)
        if self.role not in ("service_admin", "institution_admin"):
            raise AccessDenied("institution administrators only")

    def check_service_admin(self) -> None:
        if not self.is_service_admin:
            raise AccessDenied("service administrators only")


def authenticate(*, session: Session, token: str | None) -> Principal:
    """The staff member holding the bearer `token` (RFC 6750), or `invalid_token` (401)."""
    if not token:
        raise InvalidToken("a bearer token is required")
    row = session.exec(
        select(Staff, ApiKey).join(ApiKey, ApiKey.staff_id == Staff.id)  # type: ignore[arg-type]
        .where(ApiKey.token_hash == secret_hash(token), ApiKey.revoked_at.is_(None))  # type: ignore[union-attr]
    ).first()
    if row is None:
        raise InvalidToken("unknown or revoked token")
    staff, _key = row
    assert staff.id is not None
    return Principal(staff.id, staff.role, staff.institution_id, staff.issuer_id)


def _public(staff: Staff, token: str | None = None) -> StaffPublic:
    assert staff.id is not None
    return StaffPublic(id=staff.id, name=staff.name, role=staff.role, institution_id=staff.institution_id,
                       issuer_id=staff.issuer_id, token=token)


def _add_key(session: Session, staff_id: int, now: int) -> str:
    token = TOKEN_PREFIX + new_secret()
    session.add(ApiKey(staff_id=staff_id, token_hash=secret_hash(token), created_at=now))
    return token


def create_staff(*, session: Session, principal: Principal, data: StaffCreate, now: int | None = None) -> StaffPublic:
    """Create a staff account with a first API key (returned once)."""
    if data.role == "service_admin":
        principal.check_service_admin()
        if data.institution_id is not None or data.issuer_id is not None:
            raise InvalidRequest("a service admin belongs to no institution")
    else:
        if data.institution_id is None:
            raise InvalidRequest("institution_id is required for this role")
        principal.check_institution_admin(data.institution_id)
        get_or_404(session, Institution, data.institution_id, "institution")
    if data.role == "issuer_staff":
        issuer = session.get(Issuer, data.issuer_id) if data.issuer_id is not None else None
        if issuer is None or issuer.institution_id != data.institution_id:
            raise InvalidRequest("issuer staff need an issuer_id of their institution")
    elif data.issuer_id is not None:
        raise InvalidRequest("only issuer staff belong to one issuer")
    now = unix_now(now)
    staff = Staff(name=data.name, role=data.role, institution_id=data.institution_id, issuer_id=data.issuer_id,
                  created_at=now)
    session.add(staff)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"a staff member named {data.name!r} exists") from exc
    assert staff.id is not None
    token = _add_key(session, staff.id, now)
    session.commit()
    return _public(staff, token)


def create_api_key(*, session: Session, principal: Principal, staff_id: int, now: int | None = None) -> StaffPublic:
    """A further API key for a staff member (own account, or as their institution's admin)."""
    staff = get_or_404(session, Staff, staff_id, "staff member")
    if principal.staff_id != staff_id:
        if staff.institution_id is None:
            principal.check_service_admin()
        else:
            principal.check_institution_admin(staff.institution_id)
    token = _add_key(session, staff_id, unix_now(now))
    session.commit()
    return _public(staff, token)


def bootstrap_admin(*, session: Session, var_dir: Path) -> str | None:
    """Development start: when no staff account exists, make a service admin and write its token (0600).

    Returns the token file path, or None when staff already existed. Several workers may
    start at once: the unique staff name lets exactly one of them create the account.
    """
    if session.exec(select(Staff.id).limit(1)).first() is not None:
        return None
    now = unix_now()
    staff = Staff(name=BOOTSTRAP_ADMIN_NAME, role="service_admin", created_at=now)
    session.add(staff)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return None
    assert staff.id is not None
    token = _add_key(session, staff.id, now)
    session.commit()
    path = var_dir / TOKEN_FILE_NAME
    var_dir.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    log.warning("no staff account existed: created the %r (service admin); its API token is in %s",
                BOOTSTRAP_ADMIN_NAME, path)
    return str(path)
