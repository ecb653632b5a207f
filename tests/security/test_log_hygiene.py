"""No secret and no personal data in any log line of a full journey; every line is JSON.

The three services run under uvicorn at log level DEBUG; `eduwallet demo` drives award with a PIN →
wallet accept → verifier request → wallet present → verified, as an OB 3.0 VC-JWT and (with fresh
services) as an SD-JWT VC. Then every line of the three logs is parsed and searched for what must never be there.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from eduwallet.demo import LEARNER, WALLET_PASSWORD
from tests.servers import RunningService, running_service, verifier_api_headers

pytestmark = pytest.mark.integration

#: Compact JWS/JWT (also inside an SD-JWT), and an SD-JWT's `~`-separated tail.
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+")
SD_JWT_TAIL = re.compile(r"~[A-Za-z0-9_-]{20,}~")


class JourneyFailed(Exception):
    """The demo journey did not end verified (not a log-hygiene failure)."""


def _demo(tmp_path: Path, services: dict[str, RunningService], credential_format: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUWALLET_")}
    env["EDUWALLET_HOME"] = str(tmp_path / "home")
    env["EDUWALLET_VERIFIER_TOKEN"] = verifier_api_headers(services["verifier"])["Authorization"].split(" ", 1)[1]
    urls = [arg for name, service in services.items() for arg in (f"--{name}-url", service.url)]
    done = subprocess.run([sys.executable, "-m", "eduwallet.cli", "demo", "--json", "--format", credential_format,
                           "--var-dir", str(services["issuer"].var_dir), *urls],
                          env=env, capture_output=True, text=True, timeout=300)
    document: dict[str, Any] = json.loads(done.stdout)
    if done.returncode != 0 or document.get("verdict") != "verified":
        raise JourneyFailed(f"{document.get('error_description') or document}\n{done.stderr}")
    return document


def _secrets(tmp_path: Path, journeys: list[dict[str, Any]]) -> dict[str, str]:
    """What must never be logged, by name: PINs, codes, tokens, password, the learner's name and e-mail."""
    found = {"password": WALLET_PASSWORD, "learner e-mail": LEARNER["email"],
             "learner name": LEARNER["name"], "learner family name": LEARNER["name"].split()[-1]}
    for n, journey in enumerate(journeys):
        found[f"PIN {n}"] = journey["award"]["tx_code"]
        [offer_url] = parse_qs(urlsplit(journey["award"]["offer_uri"]).query)["credential_offer_uri"]
        found[f"offer reference {n}"] = offer_url.rsplit("/", 1)[-1]
        with httpx.Client(timeout=10) as client:
            offer = client.get(offer_url)
        if offer.status_code == 200:  # the offer is still served: its pre-authorized code is known
            grant = offer.json()["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
            found[f"pre-authorized code {n}"] = grant["pre-authorized_code"]
        for claim in journey.get("summary", {}).values():
            if isinstance(claim, str) and len(claim) >= 12 and claim not in journey["badge_class"]["name"]:
                found[f"claim {n}"] = claim
    tokens = json.loads((tmp_path / "home" / "wallet-tokens.json").read_text())
    for n, value in enumerate(_strings(tokens)):
        if len(value) >= 20:
            found[f"wallet bearer token {n}"] = value
    return found


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("credential_format", ["jwt_vc_json", "dc+sd-jwt"])
def test_a_full_journey_logs_no_secret_and_only_json(tmp_path: Path, credential_format: str) -> None:
    env = {"EDUWALLET_LOG_LEVEL": "DEBUG"}
    with running_service("issuer", tmp_path, env=env) as issuer, \
            running_service("wallet", tmp_path, env=env) as wallet, \
            running_service("verifier", tmp_path, env=env) as verifier:
        services = {"issuer": issuer, "wallet": wallet, "verifier": verifier}
        journeys = [_demo(tmp_path, services, credential_format)]
        secrets = _secrets(tmp_path, journeys)
        secrets["verifier API key"] = verifier_api_headers(verifier)["Authorization"].split(" ", 1)[1]
        logs = {name: service.log() for name, service in services.items()}
    assert any(re.fullmatch(r"\d{6}", value) for value in secrets.values())  # the PINs are there to look for
    for name, text in logs.items():
        lines = [line for line in text.splitlines() if line.strip()]
        assert lines, f"{name} logged nothing"
        for line in lines:
            record = json.loads(line)  # every line is one JSON object
            assert isinstance(record, dict) and record["service"] == name, line
            assert not JWT.search(line), f"{name} logged a JWT: {line}"
            assert not SD_JWT_TAIL.search(line), f"{name} logged SD-JWT disclosures: {line}"
            for what, value in secrets.items():
                assert value not in line, f"{name} logged the {what}: {line}"
        requests = [json.loads(line) for line in lines if '"request_id"' in line]
        assert requests, f"{name} logged no request"
