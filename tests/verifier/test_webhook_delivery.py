"""Webhook deliveries from the verifier's outbox: durable across a SIGKILL, posted once with several
workers, retried until the receiver comes up, given up after `webhook_attempts`.

Real parts only: the verifier under uvicorn (`running_service`, or `killable_service` to SIGKILL it),
a receiving HTTP server on 127.0.0.1 that the tests start and stop, answers posted to the verifier's
response endpoint, and the verifier's own database read from the outside. The claim and lease rules
are also driven directly on a real database, clock given. Every test runs on SQLite and, with
EDUWALLET_TEST_POSTGRES_URL set, on PostgreSQL (the module is marked `integration` for that).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy
from sqlmodel import Session

from servicekit.database import make_engine, upgrade_database
from tests.reliability.cluster import database, killable_service, rows
from tests.servers import drop_database, free_port, new_database_url, running_service
from tests.verifier.factories import VCT, Party, present_sd_jwt_vc
from tests.verifier.issuer_server import served_issuer
from tests.verifier.wallet_side import ReceivedRequest, receive_request, respond
from verifier.app import MIGRATIONS
from verifier.models import PresentationRequest, utcnow
from verifier.settings import VerifierSettings
from verifier.webhooks import (
    SIGNATURE_HEADER,
    WebhookDelivery,
    claim_due_webhooks,
    lease_seconds,
    record_attempt,
    verify_webhook_signature,
)

pytestmark = pytest.mark.integration

#: Small back-off and a fast poll, so retries happen within a test; many attempts, so none is given up.
FAST = {"EDUWALLET_VERIFIER_WEBHOOK_BACKOFF_SECONDS": "0.2", "EDUWALLET_VERIFIER_WEBHOOK_POLL_SECONDS": "0.1",
        "EDUWALLET_VERIFIER_WEBHOOK_TIMEOUT_SECONDS": "1", "EDUWALLET_VERIFIER_WEBHOOK_ATTEMPTS": "20"}


class Receiver:
    """A relying party's webhook endpoint on a fixed loopback port, started and stopped by the test.

    While stopped nothing listens on the port (connections are refused). Every POST it gets is kept;
    it answers `status` (204 by default) after `delay` seconds."""

    def __init__(self, *, status: int = 204, delay: float = 0.0) -> None:
        self.port = free_port()
        self.url = f"http://localhost:{self.port}/hook"
        self.status = status
        self.delay = delay
        self.posts: list[tuple[bytes, str]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._lock:
                    receiver.posts.append((body, self.headers[SIGNATURE_HEADER]))
                time.sleep(receiver.delay)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def ids(self) -> Counter[str]:
        """How many times each request's result was posted."""
        with self._lock:
            return Counter(json.loads(body)["id"] for body, _signature in self.posts)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.stop()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def api_headers(var_dir: Path) -> dict[str, str]:
    """The admin API key the verifier writes on its first start (another worker may still be writing it)."""
    key_file = var_dir / "verifier-api.key"
    wait_for(lambda: key_file.exists() and key_file.read_text().strip() != "", "the verifier's API key", 10)
    return {"Authorization": f"Bearer {key_file.read_text().strip()}"}


def create(base_url: str, var_dir: Path, **body: Any) -> dict[str, Any]:
    response = httpx.post(f"{base_url}/api/presentation-requests", json=body, headers=api_headers(var_dir),  # noqa: TID251
                          timeout=30)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def decline(request: ReceivedRequest) -> None:
    """The wallet answers with an error (OpenID4VP §8.5): the request is answered, its result is `rejected`."""
    uri = request.params.effective_response_uri
    assert uri is not None
    response = httpx.post(uri, data={"error": "access_denied", "state": request.params.state}, timeout=30)  # noqa: TID251
    assert response.status_code == 200, response.text


def declined_request(base_url: str, var_dir: Path, webhook_url: str) -> dict[str, Any]:
    created = create(base_url, var_dir, preset="ob3", webhook_url=webhook_url)
    decline(receive_request(created["request_uri"]))
    return created


def polled_webhook(base_url: str, var_dir: Path, request_id: str) -> dict[str, Any]:
    """The `webhook` part of the owner's poll answer."""
    response = httpx.get(f"{base_url}/api/presentation-requests/{request_id}", headers=api_headers(var_dir),  # noqa: TID251
                         timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["webhook"]  # type: ignore[no-any-return]


def webhook_row(database_url: str, request_id: str) -> dict[str, Any]:
    with database(database_url) as db:
        [row] = rows(db, "SELECT webhook_attempts, webhook_due_at, webhook_leased_until, webhook_lease, "
                         "webhook_delivered_at, webhook_failed_at FROM presentation_request WHERE id = :id",
                     id=request_id)
    return dict(row._mapping)


# -- over HTTP -----------------------------------------------------------------------------------------

def test_delivery_arrives_once_when_the_receiver_comes_up_late(tmp_path: Path, receiver: Receiver) -> None:
    holder = Party.new()
    with served_issuer() as issuer, running_service("verifier", tmp_path, env=FAST) as verifier:
        created = create(verifier.url, verifier.var_dir, preset="sd-jwt", vct_values=[VCT],
                         claims=["given_name", "grade"], trusted_issuers=[issuer.id], webhook_url=receiver.url)
        request = receive_request(created["request_uri"])
        credential = issuer.sd_jwt_vc(holder, status_index=3)
        answer = {"credential": [present_sd_jwt_vc(credential, holder, audience=request.client_id,
                                                   nonce=request.nonce)]}
        assert respond(request, answer).status_code == 200
        # Nothing listens yet: attempts fail and are rescheduled, the delivery stays owed.
        wait_for(lambda: webhook_row(verifier.database_url, created["id"])["webhook_attempts"] >= 3,
                 "three failed attempts")
        pending = webhook_row(verifier.database_url, created["id"])
        assert pending["webhook_delivered_at"] is None and pending["webhook_failed_at"] is None
        assert pending["webhook_due_at"] is not None
        polled = polled_webhook(verifier.url, verifier.var_dir, created["id"])
        assert polled["status"] == "pending" and polled["attempts"] >= 3
        receiver.start()
        wait_for(lambda: bool(receiver.posts), "the delivery")
        time.sleep(1.5)  # more than a poll and a back-off: a second post would have come by now
        row = webhook_row(verifier.database_url, created["id"])
        polled = polled_webhook(verifier.url, verifier.var_dir, created["id"])
    assert polled["status"] == "delivered" and polled["attempts"] == row["webhook_attempts"]
    [(body, signature)] = receiver.posts
    assert verify_webhook_signature(created["webhook_secret"].encode(), body, signature)
    assert not verify_webhook_signature(b"another secret of the same size!", body, signature)
    assert not verify_webhook_signature(created["webhook_secret"].encode(), body + b" ", signature)
    payload = json.loads(body)
    assert payload["id"] == created["id"] and payload["status"] == "verified"
    assert "webhook" not in payload  # its delivery state is for the owner's poll only
    assert payload["claims"]["credential"]["grade"] == "8.5"
    assert row["webhook_delivered_at"] is not None and row["webhook_attempts"] >= 4
    assert row["webhook_due_at"] is None and row["webhook_lease"] is None and row["webhook_failed_at"] is None


def test_pending_delivery_survives_a_sigkill_and_arrives_once(tmp_path: Path, receiver: Receiver) -> None:
    with killable_service("verifier", tmp_path, env=FAST) as verifier:
        created = declined_request(verifier.url, verifier.var_dir, receiver.url)
        wait_for(lambda: webhook_row(verifier.database_url, created["id"])["webhook_attempts"] >= 2,
                 "two failed attempts")
        verifier.kill()  # supervisor and worker at once: no shutdown code runs
        owed = webhook_row(verifier.database_url, created["id"])
        assert owed["webhook_due_at"] is not None and owed["webhook_delivered_at"] is None
        verifier.start()  # same database and var folder; nothing of the first process is left
        receiver.start()
        wait_for(lambda: bool(receiver.posts), "the delivery after the restart")
        time.sleep(1.5)
        row = webhook_row(verifier.database_url, created["id"])
    assert receiver.ids() == Counter({created["id"]: 1})
    [(body, signature)] = receiver.posts
    assert verify_webhook_signature(created["webhook_secret"].encode(), body, signature)
    assert json.loads(body)["status"] == "rejected" and json.loads(body)["error"] == "access_denied"
    assert row["webhook_delivered_at"] is not None and row["webhook_due_at"] is None


def test_two_workers_post_each_delivery_once(tmp_path: Path) -> None:
    # A slow receiver and a fast poll: both workers look for due rows while every post is in flight.
    receiver = Receiver(delay=0.3)
    receiver.start()
    env = {**FAST, "EDUWALLET_VERIFIER_WEBHOOK_POLL_SECONDS": "0.05"}
    try:
        with running_service("verifier", tmp_path, env=env, workers=2) as verifier:
            with ThreadPoolExecutor(4) as pool:
                created = list(pool.map(lambda _n: declined_request(verifier.url, verifier.var_dir, receiver.url),
                                        range(8)))
            ids = {request["id"] for request in created}
            wait_for(lambda: set(receiver.ids()) == ids, "every delivery")
            time.sleep(1.5)
            attempts = {request_id: webhook_row(verifier.database_url, request_id)["webhook_attempts"]
                        for request_id in ids}
    finally:
        receiver.stop()
    assert receiver.ids() == Counter(dict.fromkeys(ids, 1))
    assert set(attempts.values()) == {1}


def test_delivery_is_given_up_after_webhook_attempts(tmp_path: Path) -> None:
    receiver = Receiver(status=500)
    receiver.start()
    env = {**FAST, "EDUWALLET_VERIFIER_WEBHOOK_ATTEMPTS": "3", "EDUWALLET_VERIFIER_WEBHOOK_BACKOFF_SECONDS": "0.1"}
    try:
        with running_service("verifier", tmp_path, env=env) as verifier:
            created = declined_request(verifier.url, verifier.var_dir, receiver.url)
            wait_for(lambda: webhook_row(verifier.database_url, created["id"])["webhook_failed_at"] is not None,
                     "the delivery to be given up")
            time.sleep(1.5)  # ten polls: none may try again
            row = webhook_row(verifier.database_url, created["id"])
            polled = polled_webhook(verifier.url, verifier.var_dir, created["id"])
    finally:
        receiver.stop()
    assert receiver.ids() == Counter({created["id"]: 3})
    assert row["webhook_attempts"] == 3 and row["webhook_due_at"] is None and row["webhook_delivered_at"] is None
    assert polled["status"] == "failed" and polled["attempts"] == 3 and "failed_at" in polled


# -- the claim and its lease, on the database ------------------------------------------------------------

SETTINGS = VerifierSettings(webhook_attempts=3, webhook_backoff_seconds=2.0, webhook_timeout_seconds=1.0)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sqlalchemy.Engine]:
    url = new_database_url("verifier", tmp_path)
    engine = make_engine(url)
    upgrade_database(engine, MIGRATIONS)
    try:
        yield engine
    finally:
        engine.dispose()
        drop_database(url)


def owed(engine: sqlalchemy.Engine, count: int, *, webhook: bool = True) -> list[str]:
    """`count` answered requests whose webhook is due now (or, without a webhook, nothing owed)."""
    now = utcnow()
    ids = [f"req-{n}-{webhook}" for n in range(count)]
    with Session(engine) as session:
        for request_id in ids:
            session.add(PresentationRequest(
                id=request_id, dcql_query={}, nonce=request_id, state=request_id, client_id_prefix="x509_hash",
                client_id="x509_hash:abc", response_mode="direct_post", created_at=now, expires_at=now,
                status="rejected", answered_at=now, webhook_url="https://rp.example/hook" if webhook else None,
                webhook_due_at=now if webhook else None))
        session.commit()
    return ids


def state(engine: sqlalchemy.Engine, request_id: str) -> PresentationRequest:
    with Session(engine, expire_on_commit=False) as session:
        request = session.get(PresentationRequest, request_id)
        assert request is not None
        return request


def test_racing_claims_take_each_due_delivery_once(engine: sqlalchemy.Engine) -> None:
    ids = owed(engine, 40)
    owed(engine, 3, webhook=False)
    barrier = threading.Barrier(4)

    def claim_all() -> list[str]:
        barrier.wait()
        claimed: list[str] = []
        for _round in range(len(ids)):  # bounded: a claim that ignored leases would never run dry
            batch = claim_due_webhooks(engine, SETTINGS, limit=3)
            if not batch:
                break
            claimed.extend(delivery.request_id for delivery in batch)
        return claimed

    with ThreadPoolExecutor(4) as pool:
        claims = [request_id for claimed in pool.map(lambda _n: claim_all(), range(4)) for request_id in claimed]
    assert sorted(claims) == sorted(ids)


def test_a_lease_holds_until_it_runs_out_and_only_its_holder_records_a_failure(engine: sqlalchemy.Engine) -> None:
    [request_id] = owed(engine, 1)
    now = utcnow()
    [first] = claim_due_webhooks(engine, SETTINGS, now=now)
    assert first.attempt == 1
    lease = timedelta(seconds=lease_seconds(SETTINGS))
    assert claim_due_webhooks(engine, SETTINGS, now=now + lease - timedelta(seconds=1)) == []
    # The first worker died (or hangs): once its lease runs out, another takes the same attempt.
    [second] = claim_due_webhooks(engine, SETTINGS, now=now + lease + timedelta(seconds=1))
    assert second.request_id == request_id and second.attempt == 1 and second.lease != first.lease
    record_attempt(engine, SETTINGS, first, delivered=False)  # a stale holder: ignored
    assert state(engine, request_id).webhook_lease == second.lease
    record_attempt(engine, SETTINGS, second, delivered=False)
    after = state(engine, request_id)
    assert after.webhook_attempts == 1 and after.webhook_lease is None and after.webhook_due_at is not None
    # Rescheduled after the first back-off: not claimable before it.
    assert claim_due_webhooks(engine, SETTINGS, now=utcnow() + timedelta(seconds=1)) == []
    [third] = claim_due_webhooks(engine, SETTINGS, now=utcnow() + timedelta(seconds=3))
    assert third.attempt == 2


def test_the_last_failed_attempt_gives_up_and_a_delivery_is_recorded_once(engine: sqlalchemy.Engine) -> None:
    given_up, delivered = owed(engine, 2)
    record_attempt(engine, SETTINGS, WebhookDelivery(given_up, "no-such-lease", 3), delivered=False)
    assert state(engine, given_up).webhook_failed_at is None  # not the lease holder: nothing written
    claims = {claim.request_id: claim for claim in claim_due_webhooks(engine, SETTINGS)}
    assert set(claims) == {given_up, delivered}
    record_attempt(engine, SETTINGS, WebhookDelivery(given_up, claims[given_up].lease, SETTINGS.webhook_attempts),
                   delivered=False)
    row = state(engine, given_up)
    assert row.webhook_failed_at is not None and row.webhook_due_at is None and row.webhook_attempts == 3
    # Given up for good: even much later only the other (its lease run out) is claimed again.
    assert [d.request_id for d in claim_due_webhooks(engine, SETTINGS, now=utcnow() + timedelta(days=2))] == [
        delivered]
    # A success is recorded even by a worker whose lease another took over (the post happened), and once.
    record_attempt(engine, SETTINGS, WebhookDelivery(delivered, "an-expired-lease", 1), delivered=True)
    first = state(engine, delivered)
    assert first.webhook_delivered_at is not None and first.webhook_due_at is None and first.webhook_lease is None
    record_attempt(engine, SETTINGS, WebhookDelivery(delivered, "an-expired-lease", 2), delivered=True)
    assert state(engine, delivered).webhook_attempts == 1
