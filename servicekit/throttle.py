"""Login throttling: failed attempts counted in the database, exponential back-off per account and per address.

OWASP Authentication Cheat Sheet, "Protect against automated attacks":
https://cheatsheetseries.owasp.org/cheatsheets/Authentication_Cheat_Sheet.html
Answers `429 Too Many Requests` with `Retry-After` (RFC 6585 §4, RFC 9110 §10.2.3).

Nothing is kept in process memory: the counters live in each service's `login_attempt` table, so every
worker and every host sharing the database sees the same counts. Keys are keyed hashes (HMAC-SHA256 under
a service secret) of `account:<name>` or `address:<ip>`; the table never holds a name or an address.
A counter increments atomically (`INSERT … ON CONFLICT DO UPDATE`) and restarts after a quiet `window`.
After `max_failures` failures the key is blocked for `base_delay · 2^(failures − max_failures)` seconds
(capped), whether the next password is right or not. A successful login clears the account's counter,
not the address's (or an attacker could reset it with an account of their own).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from schemas.oauth2 import ProtocolError

__all__ = ["ACCOUNT", "ADDRESS", "LoginThrottle", "ThrottlePolicy", "TooManyAttempts", "login_attempt_table"]

ACCOUNT = "account"
ADDRESS = "address"


class TooManyAttempts(ProtocolError):
    """Not an OAuth code: too many failed logins for this account or address; try again after `retry_after` s."""

    error = "too_many_attempts"
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(f"too many failed attempts; try again in {self.retry_after} seconds")

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "Retry-After": str(self.retry_after)}


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int
    window_seconds: int = 900
    base_delay_seconds: int = 2
    max_delay_seconds: int = 900

    def delay(self, failures: int) -> int:
        """Seconds to block after `failures` failures in the window (0 below the limit)."""
        if failures < self.max_failures:
            return 0
        return min(self.max_delay_seconds, self.base_delay_seconds * 2 ** min(failures - self.max_failures, 30))


#: Five wrong passwords for one account; more per address, which many learners may share (NAT, campus proxy).
DEFAULT_POLICIES: dict[str, ThrottlePolicy] = {ACCOUNT: ThrottlePolicy(5), ADDRESS: ThrottlePolicy(20)}


def login_attempt_table(metadata: MetaData) -> Table:
    """The `login_attempt` table in a service's own metadata (its migration creates the same columns)."""
    return Table(
        "login_attempt", metadata,
        Column("key_hash", String(64), primary_key=True),
        Column("failures", Integer, nullable=False),
        Column("window_start", BigInteger, nullable=False),
        Column("blocked_until", BigInteger, nullable=False, index=True),
    )


class LoginThrottle:
    """Check, record and clear failed logins in `table` (a `login_attempt_table`), keys hashed under `secret`."""

    policies: ClassVar[dict[str, ThrottlePolicy]] = DEFAULT_POLICIES

    def __init__(self, table: Table, secret: bytes) -> None:
        self.table = table
        self._secret = secret

    def key(self, kind: str, value: str) -> str:
        return kind + ":" + hmac.new(self._secret, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()[:48]

    def check(self, session: Session, keys: Iterable[str], *, now: float | None = None) -> None:
        """`TooManyAttempts` when any key is blocked now."""
        now_s = math.floor(time.time() if now is None else now)
        t = self.table
        until = session.execute(select(func.max(t.c.blocked_until)).where(
            t.c.key_hash.in_(list(keys)), t.c.blocked_until > now_s)).scalar()
        if until is not None:
            raise TooManyAttempts(int(until) - now_s)

    def record_failure(self, session: Session, keys: Iterable[str], *, now: float | None = None) -> None:
        """Count one failure for each key (atomically, across workers) and block those over their limit."""
        now_s = math.floor(time.time() if now is None else now)
        t = self.table
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        for key in keys:
            policy = self.policies[key.split(":", 1)[0]]
            fresh = insert(t).values(key_hash=key, failures=1, window_start=now_s, blocked_until=0)
            stale = t.c.window_start <= now_s - policy.window_seconds
            session.execute(fresh.on_conflict_do_update(index_elements=[t.c.key_hash], set_={
                "failures": case((stale, 1), else_=t.c.failures + 1),
                "window_start": case((stale, now_s), else_=t.c.window_start),
            }))
            failures = session.execute(select(t.c.failures).where(t.c.key_hash == key)).scalar_one()
            delay = policy.delay(failures)
            if delay:
                session.execute(update(t).where(t.c.key_hash == key, t.c.blocked_until < now_s + delay)
                                .values(blocked_until=now_s + delay))
        session.commit()

    def clear(self, session: Session, key: str) -> None:
        session.execute(delete(self.table).where(self.table.c.key_hash == key))
        session.commit()

