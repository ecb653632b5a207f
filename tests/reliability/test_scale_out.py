"""Scale-out: four worker processes per service on PostgreSQL, 200 whole journeys at once, and
`eduwallet serve --workers N`.

A journey is what a learner and an employer do: the institution awards a badge (admin API), the
learner's wallet accepts the offer (OpenID4VCI, a batch of three copies), the employer's verifier
asks for it (OpenID4VP, signed request object, DCQL), the wallet presents it, the verifier says
`verified`. Requests of one journey land on any worker: nothing may live in one process's memory.
Afterwards the databases show that no award, pre-authorized code, access token, nonce or status
index was used twice.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.reliability.cluster import (
    ISSUER_ORPHANS,
    WALLET_ORPHANS,
    admin_client,
    assert_consistent,
    database,
    new_badge,
    rows,
    scalar,
)
from tests.servers import (
    POSTGRES_URL,
    RunningService,
    drop_database,
    free_port,
    new_database_url,
    running_service,
    verifier_api_headers,
)

pytestmark = pytest.mark.integration

JOURNEYS = 200
IN_FLIGHT = 16
WORKERS = 4
COPIES = 3


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, RunningService]]:
    if not POSTGRES_URL:
        pytest.skip("scale-out runs on PostgreSQL: set EDUWALLET_TEST_POSTGRES_URL (CI does)")
    with ExitStack() as stack:
        yield {name: stack.enter_context(running_service(name, tmp_path_factory.mktemp(name), workers=WORKERS))
               for name in ("issuer", "wallet", "verifier")}


def _login(wallet: RunningService, number: int) -> dict[str, str]:
    account = {"username": f"learner.{number:02d}", "password": "correct horse battery"}
    with httpx.Client(base_url=wallet.url, timeout=120) as http:
        assert http.post("/api/v1/learners", json=account).status_code == 201
        token = http.post("/api/v1/token", json=account).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


class Journey:
    """One award, accepted by one learner's wallet and presented to the verifier."""

    def __init__(self, services: dict[str, RunningService], admin: httpx.Client, badge: dict[str, Any]) -> None:
        self.services, self.admin, self.badge = services, admin, badge

    def run(self, number: int, learner: dict[str, str]) -> dict[str, Any]:
        started = time.monotonic()
        made = self.admin.post(f"/admin/badge-classes/{self.badge['id']}/awards", json={
            "name": f"Learner {number}", "email": f"learner.{number:03d}@student.example.nl", "result": "8.0"})
        assert made.status_code == 201, made.text
        with httpx.Client(base_url=self.services["wallet"].url, headers=learner, timeout=120) as wallet, \
                httpx.Client(base_url=self.services["verifier"].url,
                             headers=verifier_api_headers(self.services["verifier"]), timeout=120) as verifier:
            accepted = wallet.post("/api/v1/offers", json={"offer": made.json()["offer_uri"], "accept": True})
            assert accepted.status_code == 200, accepted.text
            [credential] = accepted.json()["credentials"]
            assert credential["copies"] == COPIES
            request = verifier.post("/api/presentation-requests", json={
                "preset": "ob3", "achievement": self.badge["name"],
                "trusted_issuers": [self.badge["institution"]["did"]]})
            assert request.status_code == 201, request.text
            consent = wallet.post("/api/v1/presentations", json={"request": request.json()["request_uri"]})
            assert consent.status_code == 200 and consent.json()["satisfiable"], consent.text
            sent = wallet.post(f"/api/v1/presentations/{consent.json()['id']}/confirm",
                               json={"credentials": {"openbadge": [credential["id"]]}})
            assert sent.status_code == 200 and sent.json()["status"] == "sent", sent.text
            result = verifier.get(f"/api/presentation-requests/{request.json()['id']}").json()
        return {"award_id": made.json()["id"], "request_id": request.json()["id"], "status": result["status"],
                "presented": result.get("claims", {}).get("openbadge", {}).get("id"),
                "checks": {name: check["outcome"] for name, check in result.get("checks", {}).items()},
                "seconds": time.monotonic() - started}


def test_200_concurrent_journeys_on_4_workers_per_service_all_verify_and_nothing_is_used_twice(
        services: dict[str, RunningService]) -> None:
    with admin_client(services["issuer"]) as admin:
        badge = new_badge(admin, "Distributed Systems")
        with ThreadPoolExecutor(max_workers=4) as pool:
            learners: queue.Queue[dict[str, str]] = queue.Queue()
            for headers in pool.map(lambda n: _login(services["wallet"], n), range(IN_FLIGHT)):
                learners.put(headers)
        journey = Journey(services, admin, badge)

        def one(number: int) -> dict[str, Any]:
            learner = learners.get()  # one journey per learner at a time, as one person would
            try:
                return journey.run(number, learner)
            finally:
                learners.put(learner)

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
            results = list(pool.map(one, range(JOURNEYS)))
        wall = time.monotonic() - started
    seconds = sorted(r["seconds"] for r in results)
    print(f"\n{JOURNEYS} journeys, {IN_FLIGHT} in flight, {WORKERS} workers per service on PostgreSQL: "
          f"{wall:.1f} s wall, {JOURNEYS / wall:.1f} journeys/s, per journey p50 {seconds[len(seconds) // 2]:.2f} s, "
          f"max {seconds[-1]:.2f} s")

    assert [r["status"] for r in results] == ["verified"] * JOURNEYS, [r for r in results if r["status"] != "verified"]
    assert all(set(r["checks"].values()) == {"passed"} for r in results)
    assert len({r["award_id"] for r in results}) == JOURNEYS
    assert len({r["presented"] for r in results}) == JOURNEYS  # each journey showed its own credential

    with database(services["issuer"].database_url) as db:
        assert scalar(db, "SELECT count(*) FROM award") == JOURNEYS
        # Each pre-authorized code redeemed once, for one access token; each award issued one batch.
        assert scalar(db, "SELECT count(*) FROM credentialoffer WHERE used_at IS NOT NULL") == JOURNEYS
        assert scalar(db, "SELECT count(DISTINCT award_id) FROM accesstoken") == JOURNEYS
        assert scalar(db, "SELECT count(*) FROM accesstoken") == JOURNEYS
        assert rows(db, "SELECT award_id FROM issuedcredential GROUP BY award_id HAVING count(*) <> :c",
                    c=COPIES) == []
        # One c_nonce per credential request, none used twice; every copy its own key, id and status index.
        assert scalar(db, "SELECT count(*) FROM cnonce WHERE used_at IS NOT NULL") == JOURNEYS
        assert scalar(db, "SELECT count(DISTINCT notification_id) FROM issuedcredential") == JOURNEYS
        issued = JOURNEYS * COPIES
        assert scalar(db, "SELECT count(*) FROM issuedcredential") == issued
        assert scalar(db, "SELECT count(DISTINCT holder_key_thumbprint) FROM issuedcredential") == issued
        assert scalar(db, "SELECT count(DISTINCT credential_id) FROM issuedcredential") == issued
        assert scalar(db, "SELECT count(*) FROM (SELECT DISTINCT status_list_id, status_index "
                          "FROM issuedcredential) entries") == issued
        presented = {r["presented"] for r in results}
        assert presented <= {c for (c,) in rows(db, "SELECT credential_id FROM issuedcredential")}
        assert_consistent(db, ISSUER_ORPHANS)
    with database(services["verifier"].database_url) as db:
        assert rows(db, "SELECT status, count(*) FROM presentation_request GROUP BY status") == [
            ("verified", JOURNEYS)]
        assert scalar(db, "SELECT count(*) FROM presentation_request WHERE answered_at IS NOT NULL") == JOURNEYS
        assert scalar(db, "SELECT count(DISTINCT nonce) FROM presentation_request") == JOURNEYS
        assert scalar(db, "SELECT count(DISTINCT state) FROM presentation_request") == JOURNEYS
    with database(services["wallet"].database_url) as db:
        assert scalar(db, "SELECT count(*) FROM credential") == JOURNEYS
        assert scalar(db, "SELECT count(*) FROM holder_key") == JOURNEYS * COPIES
        assert scalar(db, "SELECT count(*) FROM presentation_record") == JOURNEYS
        assert scalar(db, "SELECT count(*) FROM pending_transaction") == 0
        assert_consistent(db, WALLET_ORPHANS)


# -- eduwallet serve --workers N ----------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (from /proc/<pid>/stat: the field after the state is the ppid)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _is_python_worker(pid: int) -> bool:
    """A uvicorn worker process (multiprocessing spawn), not its resource tracker."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return False
    return any(b"spawn_main" in part for part in command) and not any(b"resource_tracker" in part for part in command)


def test_eduwallet_serve_runs_n_workers_per_service(tmp_path: Path) -> None:
    """`eduwallet serve --workers 2`: each service is one uvicorn supervisor with two workers, all of
    them serving (SQLite by default, or a fresh PostgreSQL database per service); Ctrl-C stops all."""
    names = ("issuer", "wallet", "verifier")
    ports = {name: free_port() for name in names}
    databases = {name: new_database_url(name, tmp_path) for name in names} if POSTGRES_URL else {}
    env = {**os.environ, **{f"EDUWALLET_{n.upper()}_PORT": str(p) for n, p in ports.items()},
           **{f"EDUWALLET_{n.upper()}_DATABASE_URL": url for n, url in databases.items()}}
    process = subprocess.Popen([sys.executable, "-m", "eduwallet.cli", "serve", "--var-dir", str(tmp_path / "var"),
                                "--workers", "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(timeout=2) as http:
            deadline = time.monotonic() + 90
            pending = set(names)
            while pending and time.monotonic() < deadline and process.poll() is None:
                for name in list(pending):
                    try:
                        if http.get(f"http://127.0.0.1:{ports[name]}/readyz").status_code == 200:
                            pending.discard(name)
                    except httpx.HTTPError:
                        pass
                time.sleep(0.2)
            assert not pending, f"not ready: {pending}"
            supervisors = _children(process.pid)
            assert len(supervisors) == len(names)
            for supervisor in supervisors:
                workers = [child for child in _children(supervisor) if _is_python_worker(child)]
                assert len(workers) == 2, (supervisor, _children(supervisor))
            # Both workers of each service answer; a burst spreads over them without an error.
            for name in names:
                statuses = {http.get(f"http://127.0.0.1:{ports[name]}/readyz").status_code for _ in range(20)}
                assert statuses == {200}
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
        for url in databases.values():
            drop_database(url)
    assert process.returncode == 0, output.decode()
    assert b"stopped" in output
