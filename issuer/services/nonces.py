"""The Nonce Endpoint's `c_nonce` values (OpenID4VCI 1.0 §7): issued fresh, consumed once.

https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html#name-nonce-endpoint

A `c_nonce` is stored as its hash with an expiry. The first key proof that names it
consumes it with one conditional UPDATE (`... WHERE used_at IS NULL AND expires_at > now`);
every later or concurrent use gets `invalid_nonce`. Both statements are built once and run as
SQLAlchemy Core: every credential request runs them.
"""

from __future__ import annotations

import secrets

from sqlalchemy import bindparam, delete, insert, update
from sqlmodel import Session, col

from issuer.models import CNonce
from issuer.services.common import new_secret, secret_hash, unix_now
from schemas.oid4vci import InvalidNonce

__all__ = ["consume_c_nonce", "issue_c_nonce", "purge_c_nonces"]


#: One nonce request in this many also deletes the expired nonces.
PURGE_EVERY = 256

_INSERT_C_NONCE = insert(CNonce)
_CONSUME_C_NONCE = (update(CNonce).where(col(CNonce.value_hash) == bindparam("c_nonce_hash"),
                                         col(CNonce.used_at).is_(None), col(CNonce.expires_at) > bindparam("now"))
                    .values(used_at=bindparam("now")))


def issue_c_nonce(*, session: Session, ttl_seconds: int, now: int | None = None) -> str:
    """A fresh, unpredictable `c_nonce` (256 bits), valid for `ttl_seconds`; now and then old ones are purged."""
    value = new_secret()
    session.connection().execute(_INSERT_C_NONCE, {"value_hash": secret_hash(value),
                                                   "expires_at": unix_now(now) + ttl_seconds})
    session.commit()
    if secrets.randbelow(PURGE_EVERY) == 0:
        purge_c_nonces(session=session, now=now)
    return value


def consume_c_nonce(*, session: Session, c_nonce: str, now: int | None = None) -> None:
    """Use `c_nonce` up, or raise `invalid_nonce` (unknown, expired or already used). The caller commits
    (with what the nonce was used for) or rolls back."""
    result = session.connection().execute(_CONSUME_C_NONCE, {"c_nonce_hash": secret_hash(c_nonce),
                                                             "now": unix_now(now)})
    if result.rowcount != 1:
        raise InvalidNonce("c_nonce is unknown, expired or already used: fetch a new one")


def purge_c_nonces(*, session: Session, now: int | None = None) -> int:
    """Delete expired nonces (used ones are kept until they expire, so a replay still fails)."""
    result = session.execute(delete(CNonce).where(col(CNonce.expires_at) <= unix_now(now)))
    session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]
