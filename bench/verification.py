"""Benchmark: SD-JWT VC presentations (with KB-JWT) verified per second, next to the raw ES256 bound.

    python3 bench/verification.py [--presentations N] [--rounds R] [--workers W] [--in-process-only] [--json]

Measured in one run, on this machine (prints ratios, never asserts):

1. the raw ES256 verify rate (`cryptography`, one P-256 signature over a JWS-sized input) and the
   bound it sets: a presentation costs at least two verifications (issuer JWT, KB-JWT), so at
   most rate/2 presentations/s;
2. in-process, each presentation bound to its own request (`nonce`), with the verifier's own
   `VerificationService` (issuer keys and the status list from its caches):
   - the presentation's named checks (`vc.checks.check_sd_jwt_vc`: issuer signature and
     Disclosures, KB-JWT, validity, status, trusted issuer): the figure the target is about;
   - the whole response (`verifier.responses.verify_vp_token`: those checks, the DCQL check and
     the result document that is stored).
   Each call is followed by two raw verifies, so both rates see the same share of a shared
   machine; the share of the bound is also given from the 10th percentile of single calls
   (what a call costs when nothing else runs);
3. over HTTP on loopback: a running verifier (uvicorn, SQLite) answering `direct_post` responses
   from 1, 8 and 32 concurrent wallets, each presentation to its own single-use request (requests
   are made beforehand and not timed; the timed part is the wallet's POST: read, verify, claim
   once and store the verdict). The wallets use keep-alive connections.

The issuer is a real one on loopback (`tests.verifier.issuer_server`): its keys come from
`/.well-known/jwt-vc-issuer` and its Token Status List is fetched once and then served from the
verifier's cache, as in production. Each figure is reported as the best round and the spread.

Targets (issue 4): in-process >= 60% of the two-verify bound; over HTTP >= 500 presentations/s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as `python3 bench/verification.py`

import httpx  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from tests.servers import running_service, verifier_api_headers  # noqa: E402
from tests.verifier.factories import NOW, Issuer, Party, present_sd_jwt_vc  # noqa: E402
from tests.verifier.issuer_server import served_issuer  # noqa: E402
from vc.checks import check_sd_jwt_vc  # noqa: E402
from vc.jws import decode_jws  # noqa: E402
from verifier.models import RequestStatus  # noqa: E402
from verifier.presets import dcql_for_preset  # noqa: E402
from verifier.requests import RequestToAnswer  # noqa: E402
from verifier.responses import verify_vp_token  # noqa: E402
from verifier.settings import VerifierSettings  # noqa: E402
from verifier.verification import VerificationService  # noqa: E402

VCT = "https://issuer.example.edu/vct/microcredential/v1"
AUDIENCE = "x509_hash:Uvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZszk"
DISCLOSE = (("given_name",), ("grade",))
WALLETS = (1, 8, 32)
_ECDSA = ec.ECDSA(hashes.SHA256())


class RawVerify:
    """One raw ES256 verification (a P-256 signature over a JWS-sized signing input)."""

    def __init__(self, token: str) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        self.data = decode_jws(token).signing_input
        self.signature = key.sign(self.data, _ECDSA)
        self.public_key = key.public_key()

    def __call__(self, count: int) -> float:
        """Seconds spent on `count` verifications."""
        verify, signature, data = self.public_key.verify, self.signature, self.data
        start = time.perf_counter()
        for _ in range(count):
            verify(signature, data, _ECDSA)
        return time.perf_counter() - start

    def rate(self, seconds: float = 0.3) -> float:
        done, spent = 0, 0.0
        while spent < seconds:
            spent += self(200)
            done += 200
        return done / spent


# -- in-process -------------------------------------------------------------------------------------

def _in_process_items(issuer: Issuer, holder: Party, count: int) -> list[tuple[RequestToAnswer, dict[str, Any]]]:
    """`count` requests (in memory) and, for each, a fresh presentation with its own nonce."""
    credential = issuer.sd_jwt_vc(holder, status_index=3)
    query = dcql_for_preset("sd-jwt", vct_values=[VCT], claims=["given_name", "grade"])
    items = []
    for number in range(count):
        nonce = f"bench-nonce-{number:06d}-{os.urandom(8).hex()}"
        request = RequestToAnswer(
            id=f"bench-{number}", dcql_query=query, nonce=nonce, state=f"state-{nonce}", client_id=AUDIENCE,
            response_mode="direct_post", encryption_key=None, trusted_issuers=[issuer.id],
            expires_at=NOW + timedelta(minutes=10), answered_at=None, redirect_uri=None, webhook_url=None)
        vp_token = {"credential": [present_sd_jwt_vc(credential, holder, audience=AUDIENCE, nonce=nonce,
                                                     disclose=DISCLOSE)]}
        items.append((request, vp_token))
    return items


def _p10(values: list[float]) -> float:
    return sorted(values)[len(values) // 10]


def in_process_round(service: VerificationService, issuer: Issuer, holder: Party, raw: RawVerify,
                     count: int) -> dict[str, float]:
    """Verify `count` fresh presentations as `check_sd_jwt_vc` (the presentation's named checks) and
    as `verify_vp_token` (the whole response: the checks, DCQL, the result kept), each call followed
    by two raw verifies, so both see the same share of a shared machine.

    Returns the rates, each one's share of the two-verify bound, and that share from the 10th
    percentile of single calls (what a call costs when nothing else runs)."""
    items = _in_process_items(issuer, holder, count)
    trusted = [issuer.id]
    contexts = [service.context(trusted_issuers=trusted,
                                holder_binding=service.holder_binding(client_id=AUDIENCE, nonce=request.nonce))
                for request, _ in items]
    verify_vp_token(service=service, request=items[0][0], vp_token=items[0][1], trusted_issuers=trusted)  # warm
    times: dict[str, list[float]] = {"checks": [], "response": [], "raw": []}
    clock = time.perf_counter
    for (request, vp_token), context in zip(items, contexts, strict=True):
        began = clock()
        verified = check_sd_jwt_vc(vp_token["credential"][0], context).verified
        times["checks"].append(clock() - began)
        times["raw"].append(raw(2))
        began = clock()
        result = verify_vp_token(service=service, request=request, vp_token=vp_token, trusted_issuers=trusted)
        times["response"].append(clock() - began)
        times["raw"].append(raw(2))
        if not verified or result["verdict"] != RequestStatus.VERIFIED:
            raise RuntimeError(f"a benchmark presentation did not verify: {result['checks']}")
    raw_rate = 2 * len(times["raw"]) / sum(times["raw"])
    figures = {"es256_verify_per_s": raw_rate}
    for name in ("checks", "response"):
        figures[f"{name}_per_s"] = count / sum(times[name])
        figures[f"{name}_of_bound"] = figures[f"{name}_per_s"] / (raw_rate / 2)
        figures[f"{name}_of_bound_p10"] = _p10(times["raw"]) / _p10(times[name])
    return figures


# -- over HTTP --------------------------------------------------------------------------------------

def _prepare(url: str, api_headers: dict[str, str], issuer: Issuer, holder: Party, count: int) -> list[str]:
    """Make `count` requests (with the verifier's API key) and, for each, the wallet's form-encoded answer
    (not timed)."""
    credential = issuer.sd_jwt_vc(holder, status_index=3)
    body = {"preset": "sd-jwt", "vct_values": [VCT], "claims": ["given_name", "grade"],
            "response_mode": "direct_post", "trusted_issuers": [issuer.id]}

    def one(client: httpx.Client) -> str:
        created = client.post("/api/presentation-requests", json=body).json()
        request_object = decode_jws(client.get(created["request_object_uri"]).text).claims()
        presentation = present_sd_jwt_vc(credential, holder, audience=request_object["client_id"],
                                         nonce=request_object["nonce"], disclose=DISCLOSE)
        return urlencode({"vp_token": json.dumps({"credential": [presentation]}), "state": request_object["state"]})

    with httpx.Client(base_url=url, headers=api_headers, timeout=60) as client, \
            ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda _: one(client), range(count)))


def http_round(url: str, answers: list[str], wallets: int) -> tuple[float, int]:
    """POST every answer to the response endpoint from `wallets` concurrent keep-alive connections."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Host": parts.netloc}
    local = threading.local()
    failures: list[int] = []

    def connection() -> http.client.HTTPConnection:
        if not hasattr(local, "connection"):
            local.connection = http.client.HTTPConnection(host, port, timeout=60)
            local.connection.connect()
        return local.connection  # type: ignore[no-any-return]

    def answer(body: str) -> None:
        wallet = connection()
        wallet.request("POST", "/oid4vp/response", body=body, headers=headers)
        response = wallet.getresponse()
        response.read()
        if response.status != 200:
            failures.append(response.status)

    with ThreadPoolExecutor(max_workers=wallets) as pool:
        barrier = threading.Barrier(wallets)
        list(pool.map(lambda _: (connection(), barrier.wait()), range(wallets)))  # every wallet connected first
        start = time.perf_counter()
        list(pool.map(answer, answers))
        elapsed = time.perf_counter() - start
    return len(answers) / elapsed, len(failures)


# -- report -----------------------------------------------------------------------------------------

def _spread(values: list[float]) -> dict[str, float]:
    return {"best": max(values), "median": statistics.median(values), "worst": min(values)}


@contextmanager
def _verifier(workers: int) -> Iterator[tuple[str, dict[str, str]]]:
    """A verifier under uvicorn: its URL and the `Authorization` header with its development API key."""
    with tempfile.TemporaryDirectory() as tmp, running_service("verifier", Path(tmp), workers=workers) as service:
        yield service.url, verifier_api_headers(service)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--presentations", type=int, default=400, help="presentations per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per measurement (best and spread reported)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers of the verifier")
    parser.add_argument("--in-process-only", action="store_true", help="skip the HTTP measurements")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    say: Callable[[str], None] = (lambda _m: None) if args.json else print
    results: dict[str, Any] = {"load_average_before": os.getloadavg(), "cpus": os.cpu_count()}
    say(f"load average {results['load_average_before'][0]:.2f} on {results['cpus']} CPUs")

    holder = Party.new()
    with served_issuer() as issuer:
        raw = RawVerify(issuer.sd_jwt_vc(holder).split("~", 1)[0])
        service = VerificationService(VerifierSettings(var_dir=Path(tempfile.gettempdir())))
        try:
            rounds = [in_process_round(service, issuer, holder, raw, args.presentations) for _ in range(args.rounds)]
        finally:
            service.close()
        best = max(rounds, key=lambda r: r["es256_verify_per_s"])
        results["in_process"] = {"rounds": rounds}
        say(f"raw ES256 verify: {best['es256_verify_per_s']:,.0f}/s -> two-verify bound "
            f"{best['es256_verify_per_s'] / 2:,.0f} presentations/s (best round)")
        for name, label in (("checks", "the presentation's checks (check_sd_jwt_vc)"),
                            ("response", "the whole response (verify_vp_token: + DCQL, result)")):
            spread = _spread([r[f"{name}_of_bound"] for r in rounds])
            undisturbed = statistics.median(r[f"{name}_of_bound_p10"] for r in rounds)
            results["in_process"][f"{name}_of_bound"] = spread
            results["in_process"][f"{name}_of_bound_p10"] = undisturbed
            say(f"in-process, {label}: {max(r[f'{name}_per_s'] for r in rounds):,.0f}/s = {spread['best']:.0%} of the "
                f"bound (median {spread['median']:.0%}, worst {spread['worst']:.0%} over {args.rounds} rounds; "
                f"single calls at p10: {undisturbed:.0%}){'; target 60%' if name == 'checks' else ''}")

        if not args.in_process_only:
            results["http"] = {}
            with _verifier(args.workers) as (url, api_headers):
                for wallets in WALLETS:
                    measured = []
                    for _ in range(args.rounds):
                        answers = _prepare(url, api_headers, issuer, holder, args.presentations)
                        rate, failures = http_round(url, answers, wallets)
                        measured.append({"per_s": rate, "failures": failures, "es256_verify_per_s": raw.rate()})
                    spread = _spread([m["per_s"] for m in measured])
                    failed = sum(m["failures"] for m in measured)
                    results["http"][str(wallets)] = {"rounds": measured, "per_s": spread}
                    say(f"HTTP, {wallets:2d} concurrent wallets: {spread['best']:,.0f} presentations/s best "
                        f"(median {spread['median']:,.0f}, worst {spread['worst']:,.0f})"
                        f"{f', {failed} failed' if failed else ''} (target 500)")
    results["load_average_after"] = os.getloadavg()
    say(f"load average {results['load_average_after'][0]:.2f}")
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
