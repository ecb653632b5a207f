"""Learner accounts: registration, password login, bearer tokens and page sessions, deletion.

Passwords are hashed with Argon2id (`argon2-cffi`, RFC 9106 parameters). Usernames are
stored only as a keyed hash (for login) and sealed under the learner's own data key (for
display). Tokens are random 256-bit strings of which only the SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from schemas.oauth2 import InvalidGrant, InvalidRequest, InvalidToken
from servicekit.secrets import load_sealed_secret
from vc.keys import MasterKey
from wallet.errors import Conflict
from wallet.models import (
    AuthToken,
    CachedDocument,
    HolderKey,
    Learner,
    PendingTransaction,
    PresentationRecord,
    StoredCredential,
    WalletSecret,
    aware,
    utcnow,
)
from wallet.vault import DataKey, IndexKey, unwrap_data_key, wrap_new_data_key

__all__ = [
    "API_TOKEN",
    "CACHE_INDEX",
    "PAGES_SECRET",
    "PAGE_SESSION",
    "USERNAME_INDEX",
    "LearnerContext",
    "authenticate",
    "delete_learner",
    "is_valid_password",
    "is_valid_username",
    "issue_token",
    "learner_context",
    "load_service_index",
    "load_service_secret",
    "login_oidc_learner",
    "oidc_subject_hash",
    "purge_expired",
    "register_learner",
    "resolve_token",
    "revoke_token",
]

API_TOKEN = "api"
PAGE_SESSION = "page"

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{2,63}$")
_MIN_PASSWORD, _MAX_PASSWORD = 8, 1024
_hasher = PasswordHasher()
# Verified against when the username is unknown, so both cases take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

# Rows to remove with a learner, children first (the foreign keys also cascade).
_LEARNER_TABLES = (AuthToken, PendingTransaction, PresentationRecord, StoredCredential, HolderKey)


@dataclass(frozen=True)
class LearnerContext:
    """A learner whose data key is open: what every service function acting for them needs."""

    id: str
    username: str
    locale: str
    data_key: DataKey


USERNAME_INDEX = "username-index"
CACHE_INDEX = "cache-index"
#: Signs the pages' CSRF tokens and flash messages (the same in every worker).
PAGES_SECRET = "pages-secret"


def load_service_index(session: Session, master_key: MasterKey, name: str) -> IndexKey:
    """A service-wide index key (`USERNAME_INDEX`, `CACHE_INDEX`), created sealed under the master key on first use."""
    return IndexKey(load_service_secret(session, master_key, name))


def load_service_secret(session: Session, master_key: MasterKey, name: str) -> bytes:
    """32 random bytes shared by every worker, created sealed under the master key on first use."""
    return load_sealed_secret(session, master_key, WalletSecret, name)


def is_valid_username(username: object) -> bool:
    """3 to 64 letters, digits or . _ @ + -, starting with a letter or digit."""
    return isinstance(username, str) and _USERNAME.match(username) is not None


def is_valid_password(password: object) -> bool:
    return isinstance(password, str) and _MIN_PASSWORD <= len(password) <= _MAX_PASSWORD


def _check_username(username: str) -> str:
    if not is_valid_username(username):
        raise InvalidRequest("a username is 3 to 64 letters, digits or . _ @ + - and starts with a letter or digit")
    return username


def _check_password(password: str) -> str:
    if not is_valid_password(password):
        raise InvalidRequest(f"a password has {_MIN_PASSWORD} to {_MAX_PASSWORD} characters")
    return password


def learner_context(learner: Learner, master_key: MasterKey) -> LearnerContext:
    data_key = unwrap_data_key(master_key, learner.id, learner.data_key_sealed)
    username = data_key.open(learner.username_sealed, "username").decode("utf-8")
    return LearnerContext(id=learner.id, username=username, locale=learner.locale, data_key=data_key)


def register_learner(*, session: Session, master_key: MasterKey, username_index: IndexKey, username: str,
                     password: str | None, locale: str = "en", now: datetime | None = None,
                     oidc_subject: str | None = None) -> LearnerContext:
    """Create a learner with a fresh data key. `password=None` makes an OpenID Connect-only account,
    linked to the provider's subject by `oidc_subject` (an `oidc_subject_hash`)."""
    _check_username(username)
    password_hash = _hasher.hash(_check_password(password)) if password is not None else None
    learner_id = str(uuid.uuid4())
    data_key, wrapped = wrap_new_data_key(master_key, learner_id)
    learner = Learner(
        id=learner_id,
        username_hash=username_index.hash(username),
        username_sealed=data_key.seal(username.encode("utf-8"), "username"),
        password_hash=password_hash,
        data_key_sealed=wrapped,
        oidc_subject_hash=oidc_subject,
        locale=locale,
        created_at=now or utcnow(),
    )
    session.add(learner)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("this username is taken") from exc
    return LearnerContext(id=learner_id, username=username, locale=locale, data_key=data_key)


def _find_learner(session: Session, username_index: IndexKey, username: str) -> Learner | None:
    return session.exec(select(Learner).where(Learner.username_hash == username_index.hash(username))).first()


def authenticate(*, session: Session, master_key: MasterKey, username_index: IndexKey, username: str,
                 password: str) -> LearnerContext:
    """Check a username and password; `invalid_grant` when they do not match."""
    learner = _find_learner(session, username_index, username) if isinstance(username, str) else None
    # End the read before the slow hash: on SQLite every transaction holds the write lock (BEGIN IMMEDIATE),
    # and Argon2id takes tens of milliseconds. The learner keeps its loaded values, detached.
    if learner is not None:
        session.expunge(learner)
    session.rollback()
    stored = learner.password_hash if learner is not None and learner.password_hash else _DUMMY_HASH
    try:
        _hasher.verify(stored, password if isinstance(password, str) else "")
        ok = learner is not None and learner.password_hash is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or learner is None:
        raise InvalidGrant("wrong username or password")
    if _hasher.check_needs_rehash(stored):
        learner.password_hash = _hasher.hash(password)
        session.add(learner)
        session.commit()
    return learner_context(learner, master_key)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(*, session: Session, learner_id: str, kind: str, ttl: timedelta,
                now: datetime | None = None, token: str | None = None) -> str:
    """A new bearer token or page session for the learner; only its hash is stored.

    `token`: link a random id made elsewhere (the page-session cookie's) instead of making one.
    """
    now = now or utcnow()
    token = token or secrets.token_urlsafe(32)
    session.add(AuthToken(token_hash=_token_hash(token), learner_id=learner_id, kind=kind, created_at=now,
                          expires_at=now + ttl))
    session.commit()
    return token


def resolve_token(*, session: Session, master_key: MasterKey, token: str, kind: str,
                  now: datetime | None = None) -> LearnerContext:
    """The learner a live token of `kind` belongs to; `invalid_token` otherwise."""
    now = now or utcnow()
    row = session.get(AuthToken, _token_hash(token)) if token else None
    if row is None or row.kind != kind or aware(row.expires_at) <= now:
        raise InvalidToken("the token is unknown or expired")
    learner = session.get(Learner, row.learner_id)
    if learner is None:
        raise InvalidToken("the token is unknown or expired")
    return learner_context(learner, master_key)


def revoke_token(*, session: Session, token: str) -> None:
    session.execute(delete(AuthToken).where(AuthToken.token_hash == _token_hash(token)))  # type: ignore[arg-type]
    session.commit()


def purge_expired(*, session: Session, now: datetime | None = None) -> None:
    """Drop expired tokens, pending transactions and cache entries."""
    now = now or utcnow()
    for table in (AuthToken, PendingTransaction, CachedDocument):
        session.execute(delete(table).where(col(table.expires_at) <= now))  # type: ignore[attr-defined]
    session.commit()


def delete_learner(*, session: Session, learner_id: str) -> None:
    """Remove the learner and everything they own, in one transaction.

    Their data key goes with their row: whatever of their sealed data remains in
    free pages of the database file can no longer be opened.
    """
    for table in _LEARNER_TABLES:
        session.execute(delete(table).where(col(table.learner_id) == learner_id))  # type: ignore[attr-defined]
    session.execute(delete(Learner).where(Learner.id == learner_id))  # type: ignore[arg-type]
    session.commit()


def oidc_subject_hash(username_index: IndexKey, issuer: str, subject: str) -> str:
    """The keyed hash a learner's OpenID Connect login is found by: provider and `sub`, exactly as given
    (Core §5.7: `iss` and `sub` together are the only stable identifier; `sub` is case-sensitive)."""
    return username_index.hash_exact(f"oidc\x00{issuer}\x00{subject}")


def login_oidc_learner(*, session: Session, master_key: MasterKey, username_index: IndexKey, issuer: str,
                       subject: str, preferred_username: str | None = None, locale: str = "en",
                       now: datetime | None = None) -> LearnerContext:
    """The learner linked to this provider's `sub`, created on first login.

    A new account takes `preferred_username` when it is a valid, free username, else a generated
    one; it is never linked to an existing account by name or e-mail (that would let whoever
    controls the name at the provider take over a wallet).
    """
    subject_hash = oidc_subject_hash(username_index, issuer, subject)
    for attempt in range(4):
        learner = session.exec(select(Learner).where(Learner.oidc_subject_hash == subject_hash)).first()
        if learner is not None:
            return learner_context(learner, master_key)
        wanted = preferred_username if attempt == 0 and preferred_username else None
        username = wanted if wanted and is_valid_username(wanted) else f"eduid-{secrets.token_hex(5)}"
        try:
            return register_learner(session=session, master_key=master_key, username_index=username_index,
                                    username=username, password=None, locale=locale, now=now,
                                    oidc_subject=subject_hash)
        except Conflict:
            continue  # the name is taken, or a parallel first login created the account: look again
    raise Conflict("could not create an account for this login; try again")
