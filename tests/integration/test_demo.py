"""`eduwallet demo`: the whole story over real HTTP, as the README shows it.

Each test runs the command as a user would (`python3 -m eduwallet.cli demo --json`), on free
loopback ports given through `EDUWALLET_<SERVICE>_PORT`, and checks the one JSON document it
prints, its exit code, and that services it started are gone afterwards.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import free_port, running_service, verifier_api_headers

pytestmark = pytest.mark.integration

SERVICES = ("issuer", "wallet", "verifier")


def _answers(url: str) -> bool:
    try:
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            return client.get(url + "/healthz").status_code == 200
    except httpx.HTTPError:
        return False


def _demo(tmp_path: Path, *args: str, ports: dict[str, int] | None = None,
          env: dict[str, str] | None = None) -> tuple[int, Any, str]:
    """Run the demo; returns (exit code, the one JSON document on stdout, stderr)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EDUWALLET_")}
    clean["EDUWALLET_HOME"] = str(tmp_path / "home")  # where the wallet CLI keeps the learner's token
    for name, port in (ports or {}).items():
        clean[f"EDUWALLET_{name.upper()}_PORT"] = str(port)
    done = subprocess.run([sys.executable, "-m", "eduwallet.cli", "demo", "--json", *args],
                          env={**clean, **(env or {})}, capture_output=True, text=True, timeout=300)
    try:
        document = json.loads(done.stdout)  # the whole of stdout is exactly one JSON document
    except ValueError:
        pytest.fail(f"stdout is not one JSON document:\n{done.stdout}\nstderr:\n{done.stderr}")
    return done.returncode, document, done.stderr


def _assert_verified(document: dict[str, Any], credential_format: str) -> None:
    assert document["verdict"] == "verified", document
    checks = document["checks"]
    assert {"issuer_signature", "holder_binding", "validity_period", "status", "trusted_issuer", "dcql"} <= set(checks)
    not_passed = {name: check for name, check in checks.items() if check["outcome"] != "passed"}
    # An SD-JWT VC is no OB 3.0 VC-JWT, so the verifier skips only that schema check.
    assert not_passed == ({} if credential_format == "jwt_vc_json" else
                          {"ob3_schema": {"outcome": "skipped", "reason": "not an Open Badges VC-JWT"}})
    assert document["award"]["format"] == document["credential"]["format"] == credential_format
    assert document["award"]["offer_uri"].startswith("openid-credential-offer://?credential_offer_uri=")
    assert document["award"]["tx_code"].isdigit()
    assert document["request"]["request_uri"].startswith("openid4vp://")
    assert document["presentation"]["verifier"] == document["request"]["client_id"]
    assert document["presentation"]["credential_id"] == document["credential"]["id"]
    assert document["summary"]["badge"] == document["badge_class"]["name"]


def test_demo_tells_the_story_and_reuses_its_objects_on_a_second_run(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    ports = {name: free_port() for name in SERVICES}
    code, first, stderr = _demo(tmp_path, "--var-dir", str(var_dir), ports=ports)
    assert code == 0, (first, stderr)
    _assert_verified(first, "jwt_vc_json")
    assert first["services"] == {**{n: f"http://127.0.0.1:{p}" for n, p in ports.items()},
                                 "started_by_demo": True, "var_dir": str(var_dir)}
    assert first["institution"]["created"] and first["badge_class"]["created"] and first["learner"]["created"]
    assert first["institution"]["did"].startswith("did:web:localhost%3A")
    assert first["badge_class"]["ects"] == 3 and first["badge_class"]["eqf_level"] == 6
    assert first["badge_class"]["required_value"] == "5.5" and first["badge_class"]["learning_outcomes"]
    # The OB 3.0 credential travels whole: the verifier got the grade, and it meets the pass mark.
    assert first["summary"]["passed"] is True
    assert first["summary"]["result"][0] == {"value": "8", "name": "Final grade", "required_value": "5.5",
                                             "passed": True}
    assert not any(_answers(url) for name, url in first["services"].items() if name in SERVICES)
    assert (var_dir / "issuer-admin.token").is_file() and (var_dir / "demo-services.log").is_file()

    code, second, stderr = _demo(tmp_path, "--var-dir", str(var_dir), ports=ports)
    assert code == 0, (second, stderr)
    _assert_verified(second, "jwt_vc_json")
    for part in ("institution", "badge_class"):
        assert second[part]["id"] == first[part]["id"] and second[part]["created"] is False
    assert second["learner"] == {"username": first["learner"]["username"], "created": False}
    assert second["award"]["id"] != first["award"]["id"]
    assert second["credential"]["id"] != first["credential"]["id"]  # it presents the new one, not the first
    assert not any(_answers(url) for name, url in second["services"].items() if name in SERVICES)
    # Our wallet proved a fresh DPoP key at our issuer each time (RFC 9449): both access tokens are bound.
    with closing(sqlite3.connect(var_dir / "issuer.db")) as issuer_db:
        bound = [row[0] for row in issuer_db.execute("SELECT dpop_jkt FROM accesstoken")]
    assert len(bound) == len(set(bound)) == 2 and all(jkt and len(jkt) == 43 for jkt in bound)


def test_demo_with_an_sd_jwt_vc_discloses_only_the_requested_claims(tmp_path: Path) -> None:
    code, document, stderr = _demo(tmp_path, "--var-dir", str(tmp_path / "var"), "--format", "dc+sd-jwt",
                                   ports={name: free_port() for name in SERVICES})
    assert code == 0, (document, stderr)
    _assert_verified(document, "dc+sd-jwt")
    disclosed = {tuple(d["path"]) for d in document["presentation"]["disclosed"]}
    always = {tuple(a["path"]) for a in document["presentation"]["always_shared"]}
    assert ("result", "value") in disclosed
    assert ("achievement", "name") in always
    # The learner's name and e-mail were selectively disclosable and not asked for: not shared.
    assert not {p[0] for p in disclosed | always} & {"given_name", "family_name", "email"}
    assert document["summary"]["result"]["value"] == "8"


def test_demo_uses_running_services_and_leaves_them_running(tmp_path: Path) -> None:
    with running_service("issuer", tmp_path) as issuer, running_service("wallet", tmp_path) as wallet, \
            running_service("verifier", tmp_path) as verifier:
        urls = ["--issuer-url", issuer.url, "--wallet-url", wallet.url, "--verifier-url", verifier.url]
        # Without the issuer's admin token (wrong var dir, no EDUWALLET_ISSUER_TOKEN): a clear error.
        code, document, _ = _demo(tmp_path, *urls, "--var-dir", str(tmp_path / "elsewhere"))
        assert code == 1
        assert document["error"] == "no_token" and "issuer-admin.token" in document["error_description"]
        assert document["step"] == "Issuer: the institution awards a badge"
        assert document["story"]["services"]["started_by_demo"] is False

        # The issuer's token is found in --var-dir; the verifier (its own var dir here) gets its key from the
        # environment (EDUWALLET_VERIFIER_TOKEN). Without either: a clear error at the verifier's step.
        code, document, _ = _demo(tmp_path, *urls, "--var-dir", str(issuer.var_dir))
        assert code == 1 and document["error"] == "no_token", document
        assert "verifier-api.key" in document["error_description"]
        assert document["step"] == "Verifier: the employer asks for the badge"
        key = verifier_api_headers(verifier)["Authorization"].removeprefix("Bearer ")
        code, document, stderr = _demo(tmp_path, *urls, "--var-dir", str(issuer.var_dir),
                                       env={"EDUWALLET_VERIFIER_TOKEN": key})
        assert code == 0, (document, stderr)
        _assert_verified(document, "jwt_vc_json")
        assert document["services"]["started_by_demo"] is False
        assert all(_answers(s.url) for s in (issuer, wallet, verifier))


def test_demo_refuses_when_only_some_services_run(tmp_path: Path) -> None:
    with running_service("wallet", tmp_path) as wallet:
        issuer_port, verifier_port = free_port(), free_port()
        code, document, _ = _demo(tmp_path, "--var-dir", str(tmp_path / "var"), "--wallet-url", wallet.url,
                                  ports={"issuer": issuer_port, "verifier": verifier_port})
        assert code == 1
        assert document["error"] == "partly_running"
        assert f"issuer (http://127.0.0.1:{issuer_port})" in document["error_description"]
        assert not (tmp_path / "var").exists()  # it started nothing
        assert _answers(wallet.url)


def test_demo_starts_services_only_for_loopback_urls(tmp_path: Path) -> None:
    # 0.0.0.0 is no loopback name the services' public URLs could use; nothing answers on these ports.
    ports = {name: free_port() for name in SERVICES}
    wallet_url = f"http://0.0.0.0:{ports.pop('wallet')}"
    code, document, _ = _demo(tmp_path, "--var-dir", str(tmp_path / "var"), "--wallet-url", wallet_url, ports=ports)
    assert code == 1
    assert document["error"] == "unreachable" and wallet_url in document["error_description"]
    assert not (tmp_path / "var").exists()
