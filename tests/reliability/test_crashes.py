"""Crashes: a service SIGKILLed (supervisor and workers at once) in the middle of writing, started again on
the same database and var folder, on SQLite and on PostgreSQL.

- The issuer during `eduwallet issuer bulk-award` of 10,000 rows, while the transaction of a chunk
  (500 rows) is open: the killed run leaves only whole chunks; running the same file again awards
  every row exactly once; the database is consistent.
- The wallet while it stores a batch (two credentials of three copies each, six holder keys): the
  kill lands inside the storing transaction (PostgreSQL: its holder-key insert waits on a table lock
  the test holds; SQLite: its transaction waits for the write lock the test holds, after the issuer
  has issued). After the restart the wallet holds none of the batch, the interrupted acceptance is
  refused cleanly, and a new offer for the same award is received whole.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy

from tests.issuer.wallet_client import TestWallet
from tests.reliability.cluster import (
    ISSUER_ORPHANS,
    WALLET_ORPHANS,
    KillableService,
    admin_client,
    assert_consistent,
    database,
    killable_service,
    new_badge,
    rows,
    scalar,
)
from tests.servers import running_service

pytestmark = pytest.mark.integration

ROWS = 10_000
#: Rows per bulk request sent by the CLI (`eduwallet.commands.issuer.BULK_CHUNK`); each is one transaction.
CHUNK = 500
#: One OB 3.0 VC-JWT and one SD-JWT VC (the EU learning credential) per offer.
BOTH = ["EduCredential", "EULearningCredential"]
#: Copies per credential the wallet asks for (its default `batch_copies`; our issuer's batch_size allows it).
COPIES = 3


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def writing(database_url: str) -> bool:
    """Whether a transaction of the service is open right now (PostgreSQL), or holds the write lock (SQLite)."""
    if database_url.startswith("postgresql"):
        with database(database_url) as db:
            return bool(scalar(db, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                   "AND xact_start IS NOT NULL AND pid <> pg_backend_pid()"))
    probe = sqlite3.connect(database_url.split("///", 1)[1], timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:  # database is locked: the issuer is writing
        return True
    finally:
        probe.close()


# -- the issuer, killed during a bulk award ------------------------------------------------------------

def _bulk_award(issuer: KillableService, csv_file: Path, badge_id: int, *extra: str) -> subprocess.Popen[bytes]:
    token = (issuer.var_dir / "issuer-admin.token").read_text().strip()
    return subprocess.Popen([sys.executable, "-m", "eduwallet.cli", "issuer", "bulk-award", str(csv_file),
                             "--badge", str(badge_id), "--url", issuer.url, "--json", *extra],
                            env={**os.environ, "EDUWALLET_ISSUER_TOKEN": token},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_issuer_killed_during_bulk_award_then_the_same_file_awards_every_row_exactly_once(tmp_path: Path) -> None:
    csv_file = tmp_path / "learners.csv"
    emails = [f"learner.{n:05d}@student.example.nl" for n in range(ROWS)]
    with csv_file.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "email", "result"])
        writer.writerows([f"Learner {n}", email, "7.5"] for n, email in enumerate(emails))

    with killable_service("issuer", tmp_path, workers=2) as issuer, database(issuer.database_url) as db:
        with admin_client(issuer) as admin:
            badge = new_badge(admin)

        def awarded() -> int:
            return int(scalar(db, "SELECT count(*) FROM award WHERE badge_class_id = :b", b=badge["id"]))

        first = _bulk_award(issuer, csv_file, badge["id"])
        # Two chunks committed: the CLI is sending the third, and the issuer is writing it.
        wait_for(lambda: awarded() >= 2 * CHUNK or first.poll() is not None, "the first chunks")
        wait_for(lambda: writing(issuer.database_url) or first.poll() is not None, "the next chunk's transaction")
        assert first.poll() is None, first.communicate()
        issuer.kill()
        out, err = first.communicate(timeout=120)
        assert first.returncode == 1, err.decode()
        assert json.loads(out)["error"] == "connection_failed"  # one JSON document, even for this

        issuer.start()
        survived = awarded()
        assert 2 * CHUNK <= survived < ROWS
        assert survived % CHUNK == 0, "a chunk is one transaction: all of its rows or none"
        assert_consistent(db, ISSUER_ORPHANS)

        offers_file = tmp_path / "offers.csv"
        again = _bulk_award(issuer, csv_file, badge["id"], "--out", str(offers_file))
        out, err = again.communicate(timeout=600)
        assert again.returncode == 0, err.decode()
        summary = json.loads(out)
        assert (summary["rows"], summary["created"], summary["existing"], summary["errors"]) == (
            ROWS, ROWS - survived, survived, [])

        # Every row awarded exactly once, each award with exactly one offer.
        assert awarded() == ROWS
        assert sorted(e for (e,) in rows(db, "SELECT learner_email FROM award WHERE badge_class_id = :b",
                                         b=badge["id"])) == emails
        assert rows(db, "SELECT award_id FROM credentialoffer GROUP BY award_id HAVING count(*) <> 1") == []
        assert scalar(db, "SELECT count(DISTINCT idempotency_key) FROM award WHERE badge_class_id = :b",
                      b=badge["id"]) == ROWS
        assert_consistent(db, ISSUER_ORPHANS)

        # The links of the rerun work; an award of the killed run (whose links were lost with the CLI's
        # output) gets a fresh offer that works too.
        with offers_file.open(newline="", encoding="utf-8") as handle:
            written = list(csv.DictReader(handle))
        assert len(written) == ROWS - survived and {r["email"] for r in written} == set(emails[survived:])
        [(early_award,)] = rows(db, "SELECT min(id) FROM award WHERE badge_class_id = :b", b=badge["id"])
        with admin_client(issuer) as admin:
            reissued = admin.post(f"/admin/awards/{early_award}/offers", json={})
        assert reissued.status_code == 201, reissued.text
        for offer_uri in (written[0]["offer_uri"], written[-1]["offer_uri"], reissued.json()["offer_uri"]):
            _session, answer = TestWallet().obtain(offer_uri, batch=2)
            assert len(answer["credentials"]) == 2
        assert scalar(db, "SELECT count(*) FROM issuedcredential") == 6
        assert_consistent(db, ISSUER_ORPHANS)


# -- the wallet, killed while storing a batch ----------------------------------------------------------

def _learner(http: httpx.Client) -> dict[str, str]:
    login = {"username": "ada.lovelace", "password": "correct horse battery"}
    assert http.post("/api/v1/learners", json=login).status_code == 201
    return {"Authorization": f"Bearer {http.post('/api/v1/token', json=login).json()['access_token']}"}


def _kill_while_storing(wallet: KillableService, issuer_db: sqlalchemy.Engine, award_id: int,
                        accept: Callable[[], Any]) -> None:
    """Run `accept` and SIGKILL the wallet once it is inside the transaction that stores the batch."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(accept())
        except httpx.HTTPError as exc:  # the connection dies with the wallet
            outcome.append(exc)

    thread = threading.Thread(target=run)
    if wallet.database_url.startswith("postgresql"):
        with database(wallet.database_url) as wallet_db, wallet_db.connect() as lock:
            # Inserts of holder keys wait; everything else (reads, the other tables) goes on.
            lock.execute(sqlalchemy.text("LOCK TABLE holder_key IN EXCLUSIVE MODE"))
            thread.start()
            waiting = ("SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock'")
            wait_for(lambda: bool(rows(wallet_db, waiting)) or not thread.is_alive(), "the wallet to store")
            [(query,)] = rows(wallet_db, waiting)
            assert query.startswith("INSERT INTO holder_key"), query
            assert scalar(issuer_db, "SELECT count(*) FROM issuedcredential WHERE award_id = :a",
                          a=award_id) == len(BOTH) * COPIES
            wallet.kill()
            lock.rollback()
    else:
        thread.start()
        wait_for(lambda: scalar(issuer_db, "SELECT count(*) FROM issuedcredential WHERE award_id = :a",
                                a=award_id) > 0 or not thread.is_alive(), "the issuer to issue")
        lock = sqlite3.connect(wallet.database_url.split("///", 1)[1], timeout=30, isolation_level=None)
        try:
            lock.execute("BEGIN IMMEDIATE")  # the wallet's next transaction (at the latest: storing) waits
            time.sleep(1.0)
            assert thread.is_alive(), f"the wallet stored before the lock: {outcome}"
            wallet.kill()
            lock.execute("ROLLBACK")
        finally:
            lock.close()
    thread.join(timeout=60)
    [result] = outcome
    assert isinstance(result, httpx.HTTPError), result


def test_wallet_killed_while_storing_a_batch_holds_all_or_none_of_it(tmp_path: Path) -> None:
    with running_service("issuer", tmp_path / "issuer") as issuer, \
            killable_service("wallet", tmp_path / "wallet", workers=2) as wallet, \
            database(issuer.database_url) as issuer_db, database(wallet.database_url) as wallet_db, \
            admin_client(issuer) as admin, httpx.Client(base_url=wallet.url, timeout=120) as http:
        badge = new_badge(admin)
        made = admin.post(f"/admin/badge-classes/{badge['id']}/awards", json={
            "name": "Ada Lovelace", "email": "ada@student.example.nl", "result": "8.5",
            "credential_configuration_ids": BOTH})
        assert made.status_code == 201, made.text
        learner = _learner(http)
        view = http.post("/api/v1/offers", json={"offer": made.json()["offer_uri"]}, headers=learner)
        assert view.status_code == 200, view.text
        pending = view.json()["id"]

        _kill_while_storing(wallet, issuer_db, made.json()["id"],
                            lambda: http.post(f"/api/v1/offers/{pending}/accept", json={}, headers=learner))
        wallet.start()

        # None of the batch; nothing half-written.
        listed = http.get("/api/v1/credentials", headers=learner)
        assert listed.status_code == 200 and listed.json()["count"] == 0
        assert (scalar(wallet_db, "SELECT count(*) FROM credential"),
                scalar(wallet_db, "SELECT count(*) FROM holder_key")) == (0, 0)
        assert_consistent(wallet_db, WALLET_ORPHANS)
        # Accepting the interrupted offer again is refused cleanly: it is no longer pending,
        # and the issuer's pre-authorized code was used up before the crash.
        again = http.post(f"/api/v1/offers/{pending}/accept", json={}, headers=learner)
        assert (again.status_code, again.json()["error"]) == (404, "not_found")
        replay = http.post("/api/v1/offers", json={"offer": made.json()["offer_uri"], "accept": True},
                           headers=learner)
        assert (replay.status_code, replay.json()["error"]) == (502, "party_error")
        assert "issuer" in replay.json()["error_description"]

        # A new offer for the same award arrives whole.
        fresh = admin.post(f"/admin/awards/{made.json()['id']}/offers", json={})
        assert fresh.status_code == 201, fresh.text
        accepted = http.post("/api/v1/offers", json={"offer": fresh.json()["offer_uri"], "accept": True},
                             headers=learner)
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["refused"] == []
        assert sorted(c["copies"] for c in accepted.json()["credentials"]) == [COPIES] * len(BOTH)
        assert http.get("/api/v1/credentials", headers=learner).json()["count"] == len(BOTH)
        assert (scalar(wallet_db, "SELECT count(*) FROM credential"),
                scalar(wallet_db, "SELECT count(*) FROM holder_key")) == (len(BOTH), len(BOTH) * COPIES)
        assert_consistent(wallet_db, WALLET_ORPHANS)
        assert_consistent(issuer_db, ISSUER_ORPHANS)
