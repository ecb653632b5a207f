"""Webhooks: tell the relying party's backend that a request was answered, even across restarts.

The body is the same JSON the poll endpoint answers (status, verdict, checks, disclosed
claims). It is signed with HMAC-SHA256 under the request's webhook secret (returned once
when the request was made): header `X-Eduwallet-Signature: t=<unix time>,v1=<hex>` where
`hex = HMAC-SHA256(secret, "<t>.<body>")`, so a receiver can refuse old replays.

Delivery is a transactional outbox kept on the request row, so no delivery lives only in one
process's memory (several workers and hosts share one database):

- `schedule_webhook` runs in the transaction that stores the answer: the answer and the promise
  to deliver it (`webhook_due_at`) commit together, or neither does.
- Every worker runs a `WebhookDispatcher` (started in the app's lifespan). About every
  `webhook_poll_seconds` (with jitter), and at once when its own worker stored an answer
  (`wake`), it claims due deliveries with one conditional UPDATE that sets a lease
  (`webhook_leased_until`, and a random `webhook_lease` naming the claim), so two workers or
  hosts never post the same attempt at once. It posts through `vc.fetch.Fetcher` (the SSRF
  policy of every outbound fetch) and records the outcome: delivered (`webhook_delivered_at`),
  the next attempt after exponential back-off (`webhook_backoff_seconds`, doubled after each
  failure), or given up after `webhook_attempts` attempts (`webhook_failed_at`).
- A worker killed in the middle of an attempt leaves its lease behind; once the lease runs out
  (`lease_seconds`) another worker, or the restarted one, makes the attempt again. Delivery is
  therefore at least once: a receiver that must act once keys on the request `id`.
- Leases and due times are compared with the workers' clocks: keep the hosts' clocks in sync.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from vc.errors import FetchError
from vc.fetch import Fetcher, FetchPolicy
from vc.keys import MasterKey
from verifier.models import PresentationRequest, as_utc, utcnow
from verifier.requests import webhook_secret
from verifier.results import presentation_result
from verifier.settings import VerifierSettings

__all__ = [
    "SIGNATURE_HEADER",
    "WebhookDelivery",
    "WebhookDispatcher",
    "attempt_webhook",
    "claim_due_webhooks",
    "lease_seconds",
    "record_attempt",
    "schedule_webhook",
    "sign_webhook",
    "verify_webhook_signature",
    "webhook_state",
]

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Eduwallet-Signature"
#: Deliveries one worker claims in one round; each is posted on its own thread, all at once.
BATCH = 4
#: The longest wait between two attempts, however many there are.
MAX_BACKOFF_SECONDS = 86_400.0
#: What a lease allows beyond two post timeouts (reading the row, signing, recording the outcome).
LEASE_MARGIN_SECONDS = 10.0

_TABLE = PresentationRequest.__table__  # type: ignore[attr-defined]


def sign_webhook(secret: bytes, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_webhook_signature(secret: bytes, body: bytes, header: str, *, max_age: int = 300,
                             now: float | None = None) -> bool:
    """What a receiver does: recompute the HMAC and check the timestamp is recent."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    if not parts.get("t", "").isdigit() or "v1" not in parts:
        return False
    timestamp = int(parts["t"])
    if abs((now if now is not None else time.time()) - timestamp) > max_age:
        return False
    expected = sign_webhook(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts["v1"])


def webhook_state(request: PresentationRequest) -> dict[str, Any] | None:
    """How the request's webhook stands, for its owner's poll (never in the webhook body itself):
    `pending` (not answered yet, or owed), `delivered` or `failed` (given up), with the attempts so far."""
    if request.webhook_url is None:
        return None
    state: dict[str, Any] = {"status": "pending", "attempts": request.webhook_attempts}
    if request.webhook_delivered_at is not None:
        state.update(status="delivered", delivered_at=as_utc(request.webhook_delivered_at).isoformat())
    elif request.webhook_failed_at is not None:
        state.update(status="failed", failed_at=as_utc(request.webhook_failed_at).isoformat())
    return state


def lease_seconds(settings: VerifierSettings) -> float:
    """How long a claimed attempt is its worker's alone: two post timeouts and a margin."""
    return 2 * settings.webhook_timeout_seconds + LEASE_MARGIN_SECONDS


def backoff_seconds(settings: VerifierSettings, failed_attempts: int) -> float:
    """The wait after the `failed_attempts`-th failure: the first back-off, doubled after each failure."""
    return float(min(settings.webhook_backoff_seconds * 2 ** (failed_attempts - 1), MAX_BACKOFF_SECONDS))


def schedule_webhook(connection: Connection, request_id: str, due_at: datetime) -> None:
    """Record, in the caller's transaction (the one that stores the answer), that the request's webhook
    is due at `due_at`. Nothing is recorded for a request without a webhook."""
    connection.execute(update(_TABLE).where(_TABLE.c.id == request_id).where(_TABLE.c.webhook_url.is_not(None))
                       .values(webhook_due_at=due_at))


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One claimed attempt: the request, the claim's random lease id, and which attempt this is (from 1)."""

    request_id: str
    lease: str
    attempt: int


def claim_due_webhooks(engine: Engine, settings: VerifierSettings, *, limit: int = BATCH,
                       now: datetime | None = None) -> list[WebhookDelivery]:
    """Claim up to `limit` due deliveries that no live lease holds, with one conditional UPDATE.

    The UPDATE repeats the due-and-unleased condition of its subquery, so of two workers racing for a
    row exactly one sets its lease (PostgreSQL re-checks the condition on the row the winner wrote;
    SQLite runs one writer at a time)."""
    now = now or utcnow()
    lease = secrets.token_hex(16)
    claimable = (_TABLE.c.webhook_due_at <= now) & or_(_TABLE.c.webhook_leased_until.is_(None),
                                                        _TABLE.c.webhook_leased_until <= now)
    due = select(_TABLE.c.id).where(claimable).order_by(_TABLE.c.webhook_due_at).limit(limit)
    with engine.begin() as connection:
        rows = connection.execute(update(_TABLE).where(_TABLE.c.id.in_(due)).where(claimable).values(
            webhook_leased_until=now + timedelta(seconds=lease_seconds(settings)), webhook_lease=lease,
        ).returning(_TABLE.c.id, _TABLE.c.webhook_attempts)).all()
    return [WebhookDelivery(request_id, lease, attempts + 1) for request_id, attempts in rows]


def _signed_body(engine: Engine, master_key: MasterKey, request_id: str) -> tuple[str, bytes, bytes] | None:
    """The URL, body and secret of a request's webhook (None when the request is gone, or has no webhook)."""
    with Session(engine, expire_on_commit=False) as session:
        request = session.get(PresentationRequest, request_id)
        if request is None or request.webhook_url is None:
            return None
        payload: dict[str, Any] = presentation_result(session, request, response_code=request.response_code)
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        return request.webhook_url, body, webhook_secret(master_key, request)


def record_attempt(engine: Engine, settings: VerifierSettings, delivery: WebhookDelivery, *, delivered: bool) -> None:
    """Write the outcome of an attempt and release its lease.

    A delivery is recorded whatever became of the lease (it happened); a failure only by the lease
    holder, so a worker whose lease ran out cannot undo what the next holder did."""
    now = utcnow()
    values: dict[str, Any] = {"webhook_attempts": delivery.attempt, "webhook_leased_until": None,
                              "webhook_lease": None}
    statement = update(_TABLE).where(_TABLE.c.id == delivery.request_id)
    if delivered:
        statement = statement.where(_TABLE.c.webhook_delivered_at.is_(None)).values(
            **values, webhook_delivered_at=now, webhook_due_at=None)
    elif delivery.attempt >= settings.webhook_attempts:
        log.warning("webhook for request %s not delivered after %d attempts", delivery.request_id, delivery.attempt)
        statement = statement.where(_TABLE.c.webhook_lease == delivery.lease).values(
            **values, webhook_failed_at=now, webhook_due_at=None)
    else:
        statement = statement.where(_TABLE.c.webhook_lease == delivery.lease).values(
            **values, webhook_due_at=now + timedelta(seconds=backoff_seconds(settings, delivery.attempt)))
    with engine.begin() as connection:
        connection.execute(statement)


def attempt_webhook(engine: Engine, master_key: MasterKey, settings: VerifierSettings, fetcher: Fetcher,
                    delivery: WebhookDelivery) -> bool:
    """Make one claimed attempt: POST the signed result and record the outcome; True when delivered.

    Any failure counts as a failed attempt (network, non-2xx, or an error of our own while building
    the body), so a row that cannot be delivered is given up in time rather than tried forever."""
    delivered = False
    try:
        found = _signed_body(engine, master_key, delivery.request_id)
        if found is None:
            return False  # deleted by the retention sweep: nothing left to deliver or record
        url, body, secret = found
        fetcher.request("POST", url, content=body, headers={
            "Content-Type": "application/json", SIGNATURE_HEADER: sign_webhook(secret, body, int(time.time()))})
        delivered = True
    except FetchError as exc:
        log.info("webhook for request %s: attempt %d failed: %s", delivery.request_id, delivery.attempt, exc)
    except Exception:  # noqa: BLE001 - counted as a failed attempt, see above
        log.exception("webhook for request %s: attempt %d failed", delivery.request_id, delivery.attempt)
    record_attempt(engine, settings, delivery, delivered=delivered)
    return delivered


class WebhookDispatcher:
    """The delivery loop of one worker: one asyncio task that claims and posts due deliveries.

    `start()` and `stop()` run in the app's lifespan; `wake()` (from the event loop's thread) starts a
    round at once, so the first attempt follows the answer without waiting for the next poll. Posts run
    on the dispatcher's own small thread pool, never the one the request handlers use."""

    def __init__(self, engine: Engine, master_key: MasterKey, settings: VerifierSettings) -> None:
        self._engine = engine
        self._master_key = master_key
        self._settings = settings
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._fetcher: Fetcher | None = None
        self._stopping = False

    def start(self) -> None:
        """Start the loop on the running event loop."""
        self._stopping = False
        self._wake = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=BATCH, thread_name_prefix="webhook")
        self._fetcher = Fetcher(FetchPolicy(allow_http_loopback=self._settings.allow_http_loopback,
                                            timeout=self._settings.webhook_timeout_seconds))
        self._task = asyncio.create_task(self._run(), name="webhook-delivery")

    def wake(self) -> None:
        """Look for due deliveries now (a no-op before `start`)."""
        if self._wake is not None:
            self._wake.set()

    async def stop(self) -> None:
        """Let the round in progress finish (its posts are bounded by their timeout), then stop."""
        self._stopping = True
        self.wake()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=lease_seconds(self._settings))
            except TimeoutError:  # wait_for cancelled it; the lease lets another worker try again
                log.warning("webhook delivery did not stop in time")
            self._task = None
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        if self._fetcher is not None:
            self._fetcher.close()
            self._fetcher = None

    async def deliver_due(self) -> int:
        """One round: claim due deliveries and post them all at once; returns how many were claimed."""
        assert self._executor is not None and self._fetcher is not None
        loop = asyncio.get_running_loop()
        deliveries = await loop.run_in_executor(self._executor, claim_due_webhooks, self._engine, self._settings)
        outcomes = await asyncio.gather(*(
            loop.run_in_executor(self._executor, attempt_webhook, self._engine, self._master_key, self._settings,
                                 self._fetcher, delivery) for delivery in deliveries), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):  # recording failed (database down): the lease runs out
                log.error("webhook delivery could not be recorded", exc_info=outcome)
        return len(deliveries)

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            self._wake.clear()
            claimed = 0
            try:
                claimed = await self.deliver_due()
            except Exception:  # noqa: BLE001 - the database may be away for a moment: the next round tries again
                log.exception("webhook delivery round failed")
            if claimed >= BATCH or self._stopping:
                continue  # a full batch: more may be due
            pause = self._settings.webhook_poll_seconds * random.uniform(0.5, 1.5)  # noqa: S311 - jitter
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=pause)
            except TimeoutError:
                pass
