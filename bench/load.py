"""Sustained mixed load: OpenID4VCI issuance flows and OpenID4VP verifications, against services on loopback.

    python3 bench/load.py [--seconds 60] [--wallets 8] [--postgres ADMIN_URL] [--json]

For `--seconds` (default 60) half of the `--wallets` threads run full pre-authorized issuance flows
against a real issuer (GET offer → token → nonce → credential), the other half full verifications
against a real verifier (create a request → GET the request object → POST an SD-JWT VC presentation
with KB-JWT to the response endpoint → GET the verdict, which must be `verified`; the credential's issuer is a small in-process one that serves
its keys and status list). Offers are made beforehand in bulk (not timed).

First with SQLite and one worker per service; then, when `--postgres` gives a PostgreSQL admin URL
(a fresh database is made per service and dropped after), with PostgreSQL and 2 workers per service.
Prints, per phase and per kind of operation: operations/s, p50/p95/p99 latency, error count, and the
peak RSS (VmHWM from /proc) of each process of each service (uvicorn and its worker processes). Asserts nothing; exits 1 on any error.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as `python3 bench/load.py`

import httpx  # noqa: E402

import tests.servers  # noqa: E402
from bench.issuance import FlowError, _offers, _Wallet  # noqa: E402
from tests.issuer.live import MICROCREDENTIAL  # noqa: E402
from tests.servers import RunningService, running_service, verifier_api_headers  # noqa: E402
from tests.verifier.factories import Issuer, Party, present_sd_jwt_vc  # noqa: E402
from tests.verifier.issuer_server import served_issuer  # noqa: E402
from vc.jws import decode_jws  # noqa: E402

VCT = "https://issuer.example.edu/vct/microcredential/v1"
OFFER_CHUNK = 200


def peak_rss_kib(pid: int) -> dict[int, int]:
    """VmHWM (peak resident set, KiB) of `pid` and of each of its descendants, by process id."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    peaks, todo = {}, [pid]
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks[current] = int(line.split()[1])
        except OSError:
            continue
    return peaks


class Recorder:
    """Latencies and errors of one kind of operation (thread-safe)."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def time(self, operation: Callable[[], None]) -> None:
        started = time.perf_counter()
        try:
            operation()
        except (FlowError, OSError, httpx.HTTPError, KeyError, ValueError) as exc:
            with self._lock:
                self.errors.append(f"{type(exc).__name__}: {exc}"[:300])
            return
        with self._lock:
            self.latencies.append(time.perf_counter() - started)

    def summary(self, seconds: float) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        cut = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else ordered * 99
        return {"operations": len(ordered), "per_s": len(ordered) / seconds, "errors": len(self.errors),
                "p50_ms": 1000 * cut[49] if cut else None, "p95_ms": 1000 * cut[94] if cut else None,
                "p99_ms": 1000 * cut[98] if cut else None, "first_errors": self.errors[:3]}


class OfferSupply:
    """Offer links for the issuance wallets, made in bulk (untimed) whenever the stock runs out."""

    def __init__(self, admin: httpx.Client, badge_id: int) -> None:
        self.admin, self.badge_id, self.stock, self.made = admin, badge_id, list[str](), 0
        self._lock = threading.Lock()

    def take(self) -> str:
        with self._lock:
            if not self.stock:
                self.stock = _offers(self.admin, self.badge_id, OFFER_CHUNK, f"load{self.made}", "dc+sd-jwt")
                self.made += 1
            return self.stock.pop()


def _badge(admin: httpx.Client) -> int:
    institution = admin.post("/admin/institutions", json={
        "name": "Universiteit Voorbeeld", "country": "NL", "homepage": "https://uv.example.nl/"})
    institution.raise_for_status()
    badge = admin.post("/admin/badge-classes", json={"institution_id": institution.json()["id"],
                                                     "name": "Load Test Badge", **MICROCREDENTIAL})
    badge.raise_for_status()
    return int(badge.json()["id"])


def _verify_once(client: httpx.Client, issuer: Issuer, holder: Party, credential: str) -> None:
    body = {"preset": "sd-jwt", "vct_values": [VCT], "claims": ["given_name", "grade"],
            "response_mode": "direct_post", "trusted_issuers": [issuer.id]}
    created = client.post("/api/presentation-requests", json=body)
    created.raise_for_status()
    request_object = client.get(created.json()["request_object_uri"])
    request_object.raise_for_status()
    claims = decode_jws(request_object.text).claims()
    presentation = present_sd_jwt_vc(credential, holder, audience=claims["client_id"], nonce=claims["nonce"],
                                     disclose=(("given_name",), ("grade",)))
    answer = client.post("/oid4vp/response", content=urlencode({
        "vp_token": json.dumps({"credential": [presentation]}), "state": claims["state"]}),
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    if answer.status_code != 200:
        raise FlowError(f"response endpoint: {answer.status_code} {answer.text[:200]}")
    result = client.get(f"/api/presentation-requests/{created.json()['id']}")
    result.raise_for_status()
    if result.json().get("verdict") != "verified":
        raise FlowError(f"verdict: {result.json().get('verdict', result.json().get('status'))}")


@contextmanager
def _services(workers: int) -> Iterator[dict[str, RunningService]]:
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        yield {name: stack.enter_context(running_service(name, Path(folder) / name, workers=workers))
               for name in ("issuer", "verifier")}


def run_phase(label: str, *, seconds: float, wallets: int, workers: int) -> dict[str, Any]:
    holder = Party.new()
    with served_issuer() as issuer, _services(workers) as services:
        token = (services["issuer"].var_dir / "issuer-admin.token").read_text().strip()
        with httpx.Client(base_url=services["issuer"].url, headers={"Authorization": f"Bearer {token}"},
                          timeout=120) as admin:
            supply = OfferSupply(admin, _badge(admin))
            supply.stock = _offers(admin, supply.badge_id, OFFER_CHUNK * 2, "load-start", "dc+sd-jwt")
            credential = issuer.sd_jwt_vc(holder, status_index=3)
            recorders = {"issuance_flow": Recorder(), "verification": Recorder()}
            deadline = time.monotonic() + seconds

            def issuance_wallet() -> None:
                wallet = _Wallet()
                while time.monotonic() < deadline:
                    offer = supply.take()
                    recorders["issuance_flow"].time(partial(_check_flow, wallet, offer))

            def verification_wallet() -> None:
                api_key = verifier_api_headers(services["verifier"])
                with httpx.Client(base_url=services["verifier"].url, headers=api_key, timeout=120) as client:
                    while time.monotonic() < deadline:
                        recorders["verification"].time(lambda: _verify_once(client, issuer, holder, credential))

            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=wallets) as pool:
                tasks = [pool.submit(issuance_wallet if n % 2 == 0 else verification_wallet) for n in range(wallets)]
                for task in tasks:
                    task.result()
            elapsed = time.perf_counter() - started
        result: dict[str, Any] = {"phase": label, "seconds": elapsed, "workers_per_service": workers,
                                  "kinds": {name: r.summary(elapsed) for name, r in recorders.items()}}
        everything = Recorder()
        for recorder in recorders.values():
            everything.latencies += recorder.latencies
            everything.errors += recorder.errors
        result["all"] = everything.summary(elapsed)
        result["peak_rss_mib"] = {name: [kib / 1024 for kib in peak_rss_kib(s.process.pid).values()]
                                  for name, s in services.items()}
    return result


def _check_flow(wallet: _Wallet, offer: str) -> None:
    if wallet.flow(offer, 1) != 1:
        raise FlowError("no credential")


def _print(result: dict[str, Any]) -> None:
    print(f"== {result['phase']} ({result['workers_per_service']} worker(s) per service, {result['seconds']:.1f} s)")
    for name, s in [*result["kinds"].items(), ("all", result["all"])]:
        latency = (f"p50 {s['p50_ms']:.0f} ms, p95 {s['p95_ms']:.0f} ms, p99 {s['p99_ms']:.0f} ms"
                   if s["p50_ms"] is not None else "no latencies")
        print(f"  {name:14s} {s['operations']:6d} ops, {s['per_s']:7.1f}/s, {latency}, {s['errors']} errors")
        for error in s["first_errors"]:
            print(f"      {error}")
    for name, peaks in result["peak_rss_mib"].items():
        print(f"  peak RSS {name}: " + " + ".join(f"{mib:.0f}" for mib in peaks) + f" = {sum(peaks):.0f} MiB "
              f"({len(peaks)} process{'es' if len(peaks) > 1 else ''}: uvicorn and its workers)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="duration of each phase")
    parser.add_argument("--wallets", type=int, default=8, help="concurrent clients (half issuance, half verification)")
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="also run with PostgreSQL and 2 workers")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    phases = [("SQLite", None, 1)] + ([("PostgreSQL", args.postgres, 2)] if args.postgres else [])
    results = []
    for label, postgres, workers in phases:
        tests.servers.POSTGRES_URL = postgres  # where `running_service` makes its databases
        results.append(run_phase(label, seconds=args.seconds, wallets=args.wallets, workers=workers))
        if not args.json:
            _print(results[-1])
    if args.json:
        print(json.dumps(results))
    return 1 if any(r["all"]["errors"] for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
