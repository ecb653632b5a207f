"""Login throttling: attempts counted in the database, exponential back-off per account and per address.

OWASP Authentication Cheat Sheet, "Protect against automated attacks":
https://cheatsheetseries.owasp.org/cheatsheets/Authentication_Cheat_Sheet.html
Answers `429 Too Many Requests` with `Retry-After` (RFC 6585 §4, RFC 9110 §10.2.3).

Nothing is kept in process memory: the counters live in each service's `login_attempt` table, so every
worker and every host sharing the database sees the same counts. Keys are keyed hashes (HMAC-SHA256 under
a service secret) of `account:<name>` or `address:<ip>`; the table never holds a name or an address.

Every attempt takes its slot *before* the password is checked (`LoginThrottle.admit`), so a burst of
parallel guesses cannot all slip past a check that only sees the failures already recorded. One short
transaction increments each key's counter (`INSERT … ON CONFLICT DO UPDATE`, which on PostgreSQL locks the
row until commit; SQLite's `BEGIN IMMEDIATE` takes the database's write lock) and reads it back:
- a key blocked now refuses the attempt with `TooManyAttempts`, and the transaction is rolled back, so
  a refused attempt counts for no key;
- the attempt that brings a key to `max_failures` (or beyond) blocks it for
  `base_delay · 2^(count − max_failures)` seconds (capped), so the next attempt is refused, whether its
  password is right or not, while this one's password is still checked.
A counter therefore holds the failed attempts plus those still being checked; it restarts at 1 when the
attempt comes `window` seconds or more after the one that started it. After a right password
(`LoginThrottle.succeeded`) the account's counter is cleared, and the address gets its slot back (minus one,
lifting the block that attempt set or that no longer has enough failures behind it): learners behind one
NAT do not lock each other out by logging in, and an attacker cannot reset an address with an account
of their own.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, ColumnElement, Integer, MetaData, String, Table, case, delete, or_, update
from sqlmodel import Session

from schemas.oauth2 import ProtocolError
from servicekit.database import dialect_insert

__all__ = ["ACCOUNT", "ADDRESS", "LoginThrottle", "Slot", "ThrottlePolicy", "TooManyAttempts", "login_attempt_table",
           "login_policies"]

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
        """Seconds to block after `failures` attempts in the window (0 below the limit)."""
        if failures < self.max_failures:
            return 0
        return min(self.max_delay_seconds, self.base_delay_seconds * 2 ** min(failures - self.max_failures, 30))


def login_policies(base_delay_seconds: int = 2) -> dict[str, ThrottlePolicy]:
    """Five attempts for one account; more per address, which many learners may share (NAT, campus proxy)."""
    return {ACCOUNT: ThrottlePolicy(5, base_delay_seconds=base_delay_seconds),
            ADDRESS: ThrottlePolicy(20, base_delay_seconds=base_delay_seconds)}


def login_attempt_table(metadata: MetaData) -> Table:
    """The `login_attempt` table in a service's own metadata (its migration creates the same columns).

    `failures` counts the attempts in the window that have not succeeded (failed or still being checked).
    """
    return Table(
        "login_attempt", metadata,
        Column("key_hash", String(64), primary_key=True),
        Column("failures", Integer, nullable=False),
        Column("window_start", BigInteger, nullable=False),
        Column("blocked_until", BigInteger, nullable=False, index=True),
    )


@dataclass(frozen=True)
class Slot:
    """One admitted attempt's place in one key's counter, to give back when its password turns out right."""

    key: str
    #: The counter's window the slot was taken in (a counter restarted since has no slot of this attempt).
    window_start: int
    #: The block this attempt set on reaching the limit, or None.
    blocked_until: int | None


class LoginThrottle:
    """Admit login attempts against keys in `table` (a `login_attempt_table`), keys hashed under `secret`."""

    def __init__(self, table: Table, secret: bytes, policies: Mapping[str, ThrottlePolicy] | None = None) -> None:
        self.table = table
        self._secret = secret
        self.policies = dict(policies) if policies is not None else login_policies()

    def key(self, kind: str, value: str) -> str:
        return kind + ":" + hmac.new(self._secret, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()[:48]

    def _policy(self, key: str) -> ThrottlePolicy:
        return self.policies[key.split(":", 1)[0]]

    def admit(self, session: Session, keys: Iterable[str], *, now: float | None = None) -> list[Slot]:
        """Take one slot under every key before the password is checked, atomically across workers and hosts.

        `TooManyAttempts` (counting for no key) when any key is blocked now; otherwise the attempt counts for
        every key, and a key it brings to its limit is blocked from now on. Ends the session's transaction
        first (committing it), so that the throttle's own is short and rolls back nothing else.
        """
        t = self.table
        insert = dialect_insert(session)
        session.commit()
        rows = []
        try:
            for key in sorted(set(keys)):  # one order for every attempt: PostgreSQL row locks cannot deadlock
                started = math.floor(time.time() if now is None else now)
                stale = t.c.window_start <= started - self._policy(key).window_seconds
                upsert = insert(t).values(key_hash=key, failures=1, window_start=started, blocked_until=0)
                rows.append(session.execute(upsert.on_conflict_do_update(index_elements=[t.c.key_hash], set_={
                    "failures": case((stale, 1), else_=t.c.failures + 1),
                    "window_start": case((stale, started), else_=t.c.window_start),
                }).returning(t.c.key_hash, t.c.failures, t.c.window_start, t.c.blocked_until)).one())
            # Read the clock with the rows locked: time spent waiting for the lock shortens no block.
            now_s = math.floor(time.time() if now is None else now)
            retry_after = max((int(row.blocked_until) - now_s for row in rows), default=0)
            if retry_after > 0:
                raise TooManyAttempts(retry_after)  # rolled back below: counted for no key
            slots = []
            for row in rows:
                delay = self._policy(row.key_hash).delay(row.failures)
                if delay:
                    session.execute(update(t).where(t.c.key_hash == row.key_hash)
                                    .values(blocked_until=now_s + delay))
                slots.append(Slot(row.key_hash, int(row.window_start), now_s + delay if delay else None))
            session.commit()
        except BaseException:
            session.rollback()
            raise
        return slots

    def succeeded(self, session: Session, slots: Iterable[Slot]) -> None:
        """The password was right: clear the account's counter; give the address its slot back.

        Giving back lifts the address's block when this attempt set it, or when the failures left are below the
        limit (an attempt still being checked had blocked it); a block earned by failures alone stays.
        """
        t = self.table
        for slot in slots:
            if slot.key.startswith(ACCOUNT + ":"):
                session.execute(delete(t).where(t.c.key_hash == slot.key))
                continue
            lift: list[ColumnElement[bool]] = [t.c.failures <= self._policy(slot.key).max_failures]
            if slot.blocked_until is not None:
                lift.append(t.c.blocked_until == slot.blocked_until)
            session.execute(update(t).where(t.c.key_hash == slot.key, t.c.window_start == slot.window_start,
                                            t.c.failures > 0)
                            .values(failures=t.c.failures - 1,
                                    blocked_until=case((or_(*lift), 0), else_=t.c.blocked_until)))
        session.commit()
