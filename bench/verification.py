"""Benchmark: SD-JWT VC presentations (with KB-JWT) verified per second.

    python -m bench.verification [--presentations N] [--workers W] [--json]

Measured in one run, on this machine:
1. the raw ES256 verify rate (`vc.jws.verify_signature`), and the bound it sets: a presentation
   costs at least two verifications (issuer JWT, KB-JWT), so at most rate/2 presentations/s;
2. in-process: `vc.checks.check_sd_jwt_vc` on fresh presentations (every check but status);
3. over HTTP on loopback: a running verifier (uvicorn, SQLite) answering `direct_post` responses
   from 1, 8 and 32 concurrent wallets, each presentation to its own single-use request
   (requests are made beforehand and not timed; the timed part is the wallet's POST: read,
   claim the request once, verify, store the verdict).

Targets (issue 4): in-process >= 60% of the two-verify bound; over HTTP >= 500 presentations/s.
Prints ratios, never asserts.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from tests.servers import running_service
from tests.verifier.factories import Issuer, Party, present_sd_jwt_vc
from vc.checks import CheckContext, HolderBinding, check_sd_jwt_vc
from vc.jwk import public_key_from_jwk
from vc.jws import decode_jws, verify_signature
from vc.key_resolution import VerificationKeyResolver

AUDIENCE = "x509_hash:Uvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZszk"
VCT = "https://issuer.example.edu/vct/microcredential/v1"


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


def es256_verify_rate(duration: float = 2.0) -> float:
    signer = Party.new().signer
    token = Issuer().sd_jwt_vc(None).split("~", 1)[0]
    decoded = decode_jws(token)
    key = public_key_from_jwk(signer.public_jwk)
    from vc.keys import raw_sign

    signature = raw_sign(signer.private_key, "ES256", decoded.signing_input)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < duration:
        for _ in range(200):
            verify_signature("ES256", key, decoded.signing_input, signature)
        count += 200
    return _rate(count, time.perf_counter() - start)


def in_process_rate(presentations: int) -> float:
    issuer, holder = Issuer(), Party.new()
    credential = issuer.sd_jwt_vc(holder)
    nonces = [f"nonce-{i:06d}-abcdefghijklmnop" for i in range(presentations)]
    tokens = [present_sd_jwt_vc(credential, holder, audience=AUDIENCE, nonce=n) for n in nonces]
    resolver = VerificationKeyResolver(fetcher=None)
    contexts = [CheckContext(issuer_key=resolver, holder_binding=HolderBinding(AUDIENCE, n),
                             trusted_issuers=[issuer.id]) for n in nonces]
    check_sd_jwt_vc(tokens[0], contexts[0])  # warm caches (key import, schema)
    start = time.perf_counter()
    for token, context in zip(tokens, contexts, strict=True):
        report = check_sd_jwt_vc(token, context)
        if not report.verified:
            raise RuntimeError(f"a benchmark presentation did not verify: {report.to_json()['checks']}")
    return _rate(presentations, time.perf_counter() - start)


def _prepare(url: str, issuer: Issuer, holder: Party, count: int) -> list[tuple[str, dict[str, str]]]:
    """Make `count` requests and, for each, the wallet's answer (not timed)."""
    credential = issuer.sd_jwt_vc(holder)
    prepared = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(count):
            created = client.post("/api/presentation-requests", json={
                "preset": "sd-jwt", "vct_values": [VCT], "claims": ["given_name"], "response_mode": "direct_post",
                "trusted_issuers": [issuer.id]}).json()
            request_object = decode_jws(client.get(created["request_object_uri"]).text).claims()
            presentation = present_sd_jwt_vc(credential, holder, audience=request_object["client_id"],
                                             nonce=request_object["nonce"], disclose=(("given_name",),))
            prepared.append((request_object["response_uri"], {
                "vp_token": json.dumps({"credential": [presentation]}), "state": request_object["state"]}))
    return prepared


def http_rate(url: str, prepared: list[tuple[str, dict[str, str]]], wallets: int) -> tuple[float, int]:
    local = threading.local()
    failures = 0
    lock = threading.Lock()

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=60, limits=httpx.Limits(max_keepalive_connections=1))
        return local.client  # type: ignore[no-any-return]

    def answer(item: tuple[str, dict[str, str]]) -> None:
        nonlocal failures
        response = client().post(item[0], data=item[1])
        if response.status_code != 200:
            with lock:
                failures += 1

    with ThreadPoolExecutor(max_workers=wallets) as pool:
        list(pool.map(lambda _: client(), range(wallets)))  # connect first
        start = time.perf_counter()
        list(pool.map(answer, prepared))
        elapsed = time.perf_counter() - start
    return _rate(len(prepared), elapsed), failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--presentations", type=int, default=600, help="presentations per measurement")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers of the verifier")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    say: Callable[[str], None] = (lambda _m: None) if args.json else print

    verify_rate = es256_verify_rate()
    bound = verify_rate / 2
    say(f"raw ES256 verify: {verify_rate:,.0f}/s -> two-verify bound {bound:,.0f} presentations/s")
    in_process = in_process_rate(args.presentations)
    say(f"in-process: {in_process:,.0f} presentations/s = {in_process / bound:.0%} of the bound (target 60%)")

    results: dict[str, Any] = {"es256_verify_per_s": round(verify_rate), "two_verify_bound_per_s": round(bound),
                               "in_process_per_s": round(in_process), "in_process_of_bound": in_process / bound,
                               "http": {}}
    issuer, holder = Issuer(), Party.new()
    with tempfile.TemporaryDirectory() as tmp, running_service("verifier", Path(tmp), workers=args.workers) as service:
        for wallets in (1, 8, 32):
            prepared = _prepare(service.url, issuer, holder, args.presentations)
            rate, failures = http_rate(service.url, prepared, wallets)
            results["http"][str(wallets)] = {"per_s": round(rate), "failures": failures}
            say(f"HTTP, {wallets:2d} concurrent wallets: {rate:,.0f} presentations/s"
                f"{f' ({failures} failed)' if failures else ''} (target 500)")
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
