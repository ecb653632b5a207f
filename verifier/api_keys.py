"""API keys of the relying parties that use the verifier's API, and the development bootstrap key.

A key is `ewv_` + 256 random bits; the database keeps only its SHA-256 and finds a caller by that hash
(no secret is compared byte by byte). Every key creates presentation requests and reads the results of its
own requests (another key's are 404, as if they did not exist) and the trusted-issuer list; admin keys also
change that list and manage keys. Keys are revoked, never deleted.

On first start with no key at all, `bootstrap_api_key` makes an admin key and writes it to
`<var_dir>/verifier-api.key` (mode 0600), like the issuer's development admin token.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from schemas.oauth2 import AccessDenied, InvalidRequest, InvalidToken, NotFound
from verifier.models import ApiKey, utcnow

__all__ = [
    "BOOTSTRAP_KEY_NAME",
    "KEY_FILE_NAME",
    "Caller",
    "authenticate",
    "bootstrap_api_key",
    "create_api_key",
    "list_api_keys",
    "revoke_api_key",
]

log = logging.getLogger(__name__)

BOOTSTRAP_KEY_NAME = "development key"
KEY_FILE_NAME = "verifier-api.key"
#: The prefix makes a leaked key recognisable (the issuer's tokens start with `ewi_`).
KEY_PREFIX = "ewv_"


@dataclass(frozen=True)
class Caller:
    """The API key of a request."""

    key_id: str
    admin: bool

    def check_admin(self) -> None:
        if not self.admin:
            raise AccessDenied("admin API keys only")


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def authenticate(*, session: Session, key: str | None) -> Caller:
    """The caller holding the bearer `key` (RFC 6750), or `invalid_token` (401)."""
    if not key:
        raise InvalidToken("an API key is required (Authorization: Bearer <key>)")
    row = session.exec(select(ApiKey).where(col(ApiKey.key_hash) == _key_hash(key),
                                            col(ApiKey.revoked_at).is_(None))).first()
    if row is None:
        raise InvalidToken("unknown or revoked API key")
    return Caller(row.id, row.admin)


def _new_key(session: Session, name: str, admin: bool, now: datetime) -> tuple[ApiKey, str]:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    # The id is public but unguessable (so a stray DELETE cannot hit a key), and hex so that it never starts
    # with "-" (it is a command-line argument of `eduwallet verifier api-key revoke`).
    row = ApiKey(id=secrets.token_hex(8), name=name, key_hash=_key_hash(key), admin=admin, created_at=now)
    session.add(row)
    return row, key


def create_api_key(*, session: Session, caller: Caller, name: str, admin: bool = False,
                   now: datetime | None = None) -> tuple[ApiKey, str]:
    """A new key (an admin's act); returns the row and the key, which is never shown again."""
    caller.check_admin()
    row, key = _new_key(session, name, admin, now or utcnow())
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise InvalidRequest(f"an API key named {name!r} exists") from None
    return row, key


def list_api_keys(*, session: Session, caller: Caller) -> list[ApiKey]:
    caller.check_admin()
    return list(session.exec(select(ApiKey).order_by(col(ApiKey.created_at), col(ApiKey.id))).all())


def revoke_api_key(*, session: Session, caller: Caller, key_id: str, now: datetime | None = None) -> ApiKey:
    """Revoke a key at once (revoking it again changes nothing). The last active admin key stays: without
    one nobody could make keys any more."""
    caller.check_admin()
    row = session.get(ApiKey, key_id) if len(key_id) <= 32 else None
    if row is None:
        raise NotFound("no such API key")
    if row.revoked_at is not None:
        return row
    if row.admin:
        others = session.exec(select(func.count()).select_from(ApiKey).where(
            col(ApiKey.admin).is_(True), col(ApiKey.revoked_at).is_(None), col(ApiKey.id) != key_id)).one()
        if not others:
            raise InvalidRequest("this is the last admin key: make another admin key first")
    row.revoked_at = now or utcnow()
    session.add(row)
    session.commit()
    return row


def bootstrap_api_key(*, session: Session, var_dir: Path) -> Path | None:
    """Development start: when no API key exists (revoked ones count), make an admin key and write it to
    `var_dir/verifier-api.key` (0600). Returns that path, or None when keys existed already.

    Several workers may start at once: the unique key name lets exactly one of them make the key."""
    if session.exec(select(ApiKey.id).limit(1)).first() is not None:
        return None
    _row, key = _new_key(session, BOOTSTRAP_KEY_NAME, True, utcnow())
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    path = var_dir / KEY_FILE_NAME
    var_dir.mkdir(parents=True, exist_ok=True)
    if path.exists():  # left from an earlier database: that key is not in this one
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    log.warning("no API key existed: made the admin key %r; it is in %s", BOOTSTRAP_KEY_NAME, path)
    return path
