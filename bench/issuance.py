"""Issuance benchmark: full OpenID4VCI pre-authorized flows against an issuer on loopback.

Run: ``python3 bench/issuance.py`` (starts its own issuer with SQLite in a temporary folder; or
``--url URL --token TOKEN`` for a running one). Prints a table and asserts nothing:

* full flows (GET offer → token → nonce → credential with proofs from fresh holder keys; with `--dpop`
  on or both, the token bound to a fresh DPoP key, RFC 9449) with 1, 8
  and 32 concurrent wallets, with 1 proof per credential request (one credential per flow) and with
  10 (the issuer's batch size: ten credentials per flow); flows/s and credentials/s;
* each row ``--repeat`` times: the best credentials/s and the spread (worst–best), because the
  machine may be shared;
* next to each run the bound of the same moment: ES256 JWS sign+verify per second on one core
  (what one credential's issuer signature plus one proof check cost at least), and the ratio;
* the issuer's CPU time per credential (all its processes, from ``/proc``; only for an issuer this
  script started): the cost of a credential, whatever else the machine is doing; and the wallets'
  (this process's) CPU time per credential;
* the load average before and after, and the time of a 10,000-row bulk award.

The wallets run in this process (threads, each with one keep-alive `http.client` connection) on the
same cores as the server, so the client's proof signing and HTTP work are part of every figure.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from vc.dpop import create_dpop_proof
from vc.jws import sign_jws, verify_jws
from vc.keys import SoftwareSigner

PRE_AUTHORIZED = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


def raw_sign_verify_per_second(seconds: float = 0.5) -> float:
    signer = SoftwareSigner.generate("ES256")
    jwk = signer.public_jwk
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        verify_jws(sign_jws({"n": count}, signer, typ="JWT"), jwk, algorithms=("ES256",), typ="JWT")
        count += 1
    return count / (time.perf_counter() - started)


def process_tree_cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of `pid` and its descendants (uvicorn workers), from /proc; None elsewhere."""
    if pid is None or not Path(f"/proc/{pid}").is_dir():
        return None
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, ValueError, IndexError):
            continue
    return total


class _Wallet:
    """One wallet's HTTP/1.1 keep-alive connection to the issuer (`http.client`: the cheapest Python client,
    so that the CPU the wallets take from the machine stays small next to the issuer's)."""

    def __init__(self) -> None:
        self.connection: http.client.HTTPConnection | None = None

    def call(self, method: str, url: str, *, form: dict[str, str] | None = None, body: Any = None,
             token: str | None = None, dpop: SoftwareSigner | None = None) -> Any:
        parts = urlsplit(url)
        if self.connection is None:
            self.connection = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=60)
        headers = {"Authorization": f"{'DPoP' if dpop else 'Bearer'} {token}"} if token else {}
        if dpop is not None:
            headers["DPoP"] = create_dpop_proof(dpop, htm=method, htu=url, access_token=token)
        data = None
        if form is not None:
            data, headers["Content-Type"] = urlencode(form).encode(), "application/x-www-form-urlencoded"
        elif body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        self.connection.request(method, parts.path, body=data, headers=headers)
        response = self.connection.getresponse()
        content = response.read()
        if response.status >= 300:
            raise FlowError(f"{method} {parts.path}: {response.status} {content[:200]!r}")
        return json.loads(content)

    def flow(self, offer_uri: str, batch: int, dpop: bool = False) -> int:
        """One full pre-authorized flow (with `dpop`: the token bound to a fresh DPoP key, RFC 9449); the number
        of credentials received."""
        [offer_url] = parse_qs(urlsplit(offer_uri).query)["credential_offer_uri"]
        offer = self.call("GET", offer_url)
        issuer = offer["credential_issuer"]
        dpop_key = SoftwareSigner.generate("ES256") if dpop else None
        token = self.call("POST", f"{issuer}/oid4vci/token", dpop=dpop_key, form={
            "grant_type": PRE_AUTHORIZED,
            "pre-authorized_code": offer["grants"][PRE_AUTHORIZED]["pre-authorized_code"]})["access_token"]
        c_nonce = self.call("POST", f"{issuer}/oid4vci/nonce")["c_nonce"]
        proofs = []
        for _ in range(batch):
            holder = SoftwareSigner.generate("ES256")
            proofs.append(sign_jws({"aud": issuer, "iat": int(time.time()), "nonce": c_nonce}, holder,
                                   typ="openid4vci-proof+jwt", header={"jwk": holder.public_jwk}, include_kid=False))
        answer = self.call("POST", f"{issuer}/oid4vci/credential", token=token, dpop=dpop_key, body={
            "credential_configuration_id": offer["credential_configuration_ids"][0], "proofs": {"jwt": proofs}})
        return len(answer["credentials"])


class FlowError(Exception):
    pass


@dataclass(frozen=True)
class Run:
    flows_per_second: float
    credentials_per_second: float
    bound: float
    errors: int
    #: Issuer CPU milliseconds per credential (None when the issuer is not ours to watch).
    server_cpu_ms: float | None
    #: The wallets' (this process's) CPU milliseconds per credential.
    client_cpu_ms: float


def run_flows(offers: list[str], concurrency: int, batch: int, server_pid: int | None, dpop: bool = False) -> Run:
    """All `offers` as full flows, `concurrency` wallets (threads) at a time, with the bound measured just before."""
    bound = raw_sign_verify_per_second()
    local = threading.local()
    errors = 0

    def one(offer_uri: str) -> int:
        nonlocal errors
        wallet = getattr(local, "wallet", None) or _Wallet()
        local.wallet = wallet
        try:
            return wallet.flow(offer_uri, batch, dpop)
        except (FlowError, OSError, http.client.HTTPException):
            errors += 1
            local.wallet = None
            return 0

    cpu_before, client_before = process_tree_cpu_seconds(server_pid), time.process_time()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        credentials = sum(pool.map(one, offers))
    elapsed = time.perf_counter() - started
    cpu_after, client_cpu = process_tree_cpu_seconds(server_pid), time.process_time() - client_before
    server_cpu_ms = (1000 * (cpu_after - cpu_before) / credentials
                     if cpu_before is not None and cpu_after is not None and credentials else None)
    return Run(len(offers) / elapsed, credentials / elapsed, bound, errors, server_cpu_ms,
               1000 * client_cpu / max(credentials, 1))


def _offers(admin: httpx.Client, badge_id: int, count: int, tag: str, credential_format: str) -> list[str]:
    uris: list[str] = []
    for start in range(0, count, 1000):
        rows = [{"line": n, "name": f"Learner {n}", "email": f"{tag}-{n}@bench.example.nl"}
                for n in range(start, min(count, start + 1000))]
        answer = admin.post(f"/admin/badge-classes/{badge_id}/awards/bulk",
                            json={"rows": rows, "format": credential_format})
        answer.raise_for_status()
        uris += [r["offer_uri"] for r in answer.json() if r["offer_uri"]]
    return uris


@contextmanager
def _issuer(url: str | None, token: str | None, workers: int) -> Iterator[tuple[str, str, int | None]]:
    """The issuer to measure: the one given, or a fresh one (uvicorn, SQLite) on a free loopback port."""
    if url and token:
        yield url, token, None
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "EDUWALLET_ISSUER_VAR_DIR": folder, "EDUWALLET_ISSUER_PORT": str(port),
               "EDUWALLET_ISSUER_PUBLIC_URL": f"http://localhost:{port}"}
        process = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "issuer.app:create_app",
                                    "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                                    "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        try:
            base = f"http://localhost:{port}"
            with httpx.Client() as probe:
                for _ in range(300):
                    try:
                        if probe.get(base + "/healthz").status_code == 200:
                            break
                    except httpx.HTTPError:
                        time.sleep(0.1)
            yield base, (Path(folder) / "issuer-admin.token").read_text().strip(), process.pid
        finally:
            process.terminate()
            process.wait(timeout=30)


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running issuer (default: start one)")
    parser.add_argument("--token", help="its admin API token")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of the started issuer")
    parser.add_argument("--flows", type=int, default=300, help="flows per run with one proof (a fifth with ten)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row (best and spread are shown)")
    parser.add_argument("--format", dest="formats", action="append", choices=("jwt_vc_json", "dc+sd-jwt"),
                        help="credential format(s) to measure (default: both)")
    parser.add_argument("--no-bulk", action="store_true", help="skip the 10,000-row bulk award")
    parser.add_argument("--dpop", choices=("off", "on", "both"), default="off",
                        help="bind the access tokens to DPoP keys (RFC 9449); `both` measures each row both ways")
    args = parser.parse_args(argv)

    print(f"load average before: {_load()}  ({os.cpu_count()} CPUs)")
    with _issuer(args.url, args.token, args.workers) as (url, token, pid), httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=300) as admin:
        institution = admin.post("/admin/institutions", json={"name": "Bench University"}).json()
        badge: dict[str, Any] = admin.post("/admin/badge-classes", json={
            "institution_id": institution["id"], "name": "Bench badge", "description": "Benchmark",
            "ects": 3, "eqf_level": 6}).json()
        print(f"{'format':12s} {'dpop':>4s} {'batch':>5s} {'wallets':>7s} {'flows/s':>8s} {'creds/s':>8s} "
              f"{'spread':>13s} {'bound/s':>8s} {'x bound':>8s} {'issuer CPU':>10s} {'wallets CPU':>11s} errors")
        for credential_format in args.formats or ["jwt_vc_json", "dc+sd-jwt"]:
            modes = {"off": (False,), "on": (True,), "both": (False, True)}[args.dpop]
            for batch, concurrency, dpop in ((b, c, d) for b in (1, 10) for c in (1, 8, 32) for d in modes):
                runs = []
                for attempt in range(args.repeat):
                    offers = _offers(admin, badge["id"], args.flows if batch == 1 else args.flows // 5,
                                     f"{credential_format}-{batch}-{concurrency}-{dpop}-{attempt}",
                                     credential_format)
                    runs.append(run_flows(offers, concurrency, batch, pid, dpop))
                best = max(runs, key=lambda r: r.credentials_per_second)
                worst = min(r.credentials_per_second for r in runs)
                cpu = [r.server_cpu_ms for r in runs if r.server_cpu_ms is not None]
                client_cpu = median(r.client_cpu_ms for r in runs)
                print(f"{credential_format:12s} {'yes' if dpop else 'no':>4s} {batch:5d} {concurrency:7d} "
                      f"{best.flows_per_second:8.1f} "
                      f"{best.credentials_per_second:8.1f} {worst:6.1f}–{best.credentials_per_second:<6.1f} "
                      f"{best.bound:8.0f} {best.credentials_per_second / best.bound:8.3f} "
                      f"{median(cpu) if cpu else float('nan'):7.2f} ms {client_cpu:8.2f} ms "
                      f"{sum(r.errors for r in runs)}", flush=True)
        if not args.no_bulk:
            rows = [{"line": n, "name": f"Bulk {n}", "email": f"bulk-{n}@bench.example.nl"} for n in range(10_000)]
            started = time.perf_counter()
            for start in range(0, len(rows), 500):
                admin.post(f"/admin/badge-classes/{badge['id']}/awards/bulk",
                           json={"rows": rows[start:start + 500]}).raise_for_status()
            print(f"bulk award of 10,000 rows: {time.perf_counter() - started:.1f} s")
    print(f"load average after: {_load()}")


if __name__ == "__main__":
    main()
