"""Issuance benchmark: full OpenID4VCI pre-authorized flows against an issuer on loopback.

Run: ``python3 bench/issuance.py`` (starts its own issuer with SQLite in a temporary folder; or
``--url URL --token TOKEN`` for a running one). Prints a table and asserts nothing:

* the raw ES256 sign+verify bound, measured in the same run (what one credential's issuer
  signature plus one proof check cost at least, single core);
* full flows (GET offer → token → nonce → credential with a proof from a fresh holder key) with
  1, 8 and 32 concurrent wallets: flows/s and credentials/s, with `batch` proofs per request
  (1 = one credential per flow; 10 = the issuer's batch size);
* the time of a 10,000-row bulk award through the admin API.

The wallets run in this process (threads over httpx) on the same two cores as the server, so the
client's proof signing and HTTP parsing are part of every figure.
"""

from __future__ import annotations

import argparse
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
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from vc.jws import sign_jws, verify_jws
from vc.keys import SoftwareSigner

PRE_AUTHORIZED = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


def raw_sign_verify_per_second(seconds: float = 2.0) -> float:
    signer = SoftwareSigner.generate("ES256")
    jwk = signer.public_jwk
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        verify_jws(sign_jws({"n": count}, signer, typ="JWT"), jwk, algorithms=("ES256",), typ="JWT")
        count += 1
    return count / (time.perf_counter() - started)


def _flow(client: httpx.Client, offer_uri: str, batch: int) -> int:
    [offer_url] = parse_qs(urlsplit(offer_uri).query)["credential_offer_uri"]
    offer = client.get(offer_url).json()
    issuer = offer["credential_issuer"]
    token = client.post(f"{issuer}/oid4vci/token", data={
        "grant_type": PRE_AUTHORIZED, "pre-authorized_code": offer["grants"][PRE_AUTHORIZED]["pre-authorized_code"]})
    token.raise_for_status()
    c_nonce = client.post(f"{issuer}/oid4vci/nonce").json()["c_nonce"]
    proofs = []
    for _ in range(batch):
        holder = SoftwareSigner.generate("ES256")
        proofs.append(sign_jws({"aud": issuer, "iat": int(time.time()), "nonce": c_nonce}, holder,
                               typ="openid4vci-proof+jwt", header={"jwk": holder.public_jwk}, include_kid=False))
    answer = client.post(f"{issuer}/oid4vci/credential",
                         json={"credential_configuration_id": offer["credential_configuration_ids"][0],
                               "proofs": {"jwt": proofs}},
                         headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    answer.raise_for_status()
    return len(answer.json()["credentials"])


def run_flows(offers: list[str], concurrency: int, batch: int) -> tuple[float, float, int]:
    """(flows/s, credentials/s, errors) for all `offers`, `concurrency` wallets at a time."""
    local = threading.local()
    errors = 0

    def one(offer_uri: str) -> int:
        nonlocal errors
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=60)
        try:
            return _flow(client, offer_uri, batch)
        except httpx.HTTPError:
            errors += 1
            return 0

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        credentials = sum(pool.map(one, offers))
    elapsed = time.perf_counter() - started
    return len(offers) / elapsed, credentials / elapsed, errors


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
def _issuer(url: str | None, token: str | None, workers: int) -> Iterator[tuple[str, str]]:
    """The issuer to measure: the one given, or a fresh one (uvicorn, SQLite) on a free loopback port."""
    if url and token:
        yield url, token
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
            yield base, (Path(folder) / "issuer-admin.token").read_text().strip()
        finally:
            process.terminate()
            process.wait(timeout=30)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running issuer (default: start one)")
    parser.add_argument("--token", help="its admin API token")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of the started issuer")
    parser.add_argument("--flows", type=int, default=300, help="flows per concurrency level")
    args = parser.parse_args(argv)

    bound = raw_sign_verify_per_second()
    print(f"raw ES256 sign+verify bound (1 core): {bound:8.0f} /s")
    with _issuer(args.url, args.token, args.workers) as (url, token), httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=300) as admin:
        institution = admin.post("/admin/institutions", json={"name": "Bench University"}).json()
        badge: dict[str, Any] = admin.post("/admin/badge-classes", json={
            "institution_id": institution["id"], "name": "Bench badge", "description": "Benchmark",
            "ects": 3, "eqf_level": 6}).json()
        print(f"{'format':12s} {'batch':>5s} {'wallets':>7s} {'flows/s':>9s} {'creds/s':>9s} {'x bound':>8s} errors")
        for credential_format in ("jwt_vc_json", "dc+sd-jwt"):
            for batch in (1, 10):
                for concurrency in (1, 8, 32):
                    offers = _offers(admin, badge["id"], args.flows if batch == 1 else args.flows // 5,
                                     f"{credential_format}-{batch}-{concurrency}", credential_format)
                    flows, credentials, errors = run_flows(offers, concurrency, batch)
                    print(f"{credential_format:12s} {batch:5d} {concurrency:7d} {flows:9.1f} {credentials:9.1f} "
                          f"{credentials / bound:8.3f} {errors}")
        rows = [{"line": n, "name": f"Bulk {n}", "email": f"bulk-{n}@bench.example.nl"} for n in range(10_000)]
        started = time.perf_counter()
        for start in range(0, len(rows), 500):
            admin.post(f"/admin/badge-classes/{badge['id']}/awards/bulk",
                       json={"rows": rows[start:start + 500]}).raise_for_status()
        print(f"bulk award of 10,000 rows: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
