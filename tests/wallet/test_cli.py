"""`eduwallet wallet ...` against running wallets (real HTTP), a tiny issuer and a tiny verifier."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli import eduwallet
from tests.servers import RunningService, running_service
from tests.wallet.tiny_issuer import GRADE, OB3_ACHIEVEMENT, SD_ACHIEVEMENT, TinyIssuer, running_tiny_issuer
from tests.wallet.tiny_verifier import TinyVerifier, disclosed_claims, running_tiny_verifier
from vc.baking import extract_png

pytestmark = pytest.mark.integration


@pytest.fixture
def wallet(tmp_path: Path) -> Iterator[RunningService]:
    with running_service("wallet", tmp_path / "one") as service:
        yield service


@pytest.fixture
def issuer() -> Iterator[TinyIssuer]:
    with running_tiny_issuer() as issuer:
        yield issuer


@pytest.fixture
def verifier() -> Iterator[TinyVerifier]:
    with running_tiny_verifier() as verifier:
        yield verifier


@pytest.fixture
def cli(tmp_path: Path) -> Any:
    home = {"EDUWALLET_HOME": str(tmp_path / "home")}

    def run(*args: str, url: str, ok: bool = True) -> Any:
        result = eduwallet("wallet", *args, "--url", url, env=home)
        assert (result.returncode == 0) == ok, result.stdout + result.stderr
        return result.stdout

    return run


def _json(output: str) -> Any:
    return json.loads(output)  # exactly one JSON document, nothing else


def test_the_whole_journey_through_the_cli(cli: Any, wallet: RunningService, issuer: TinyIssuer,
                                           verifier: TinyVerifier, tmp_path: Path) -> None:
    url = wallet.url
    created = _json(cli("user", "create", "--username", "ada.lovelace", "--password", "correct horse battery",
                        "--json", url=url))
    assert created["username"] == "ada.lovelace"

    accepted = _json(cli("accept", issuer.offer(), "--user", "ada.lovelace", "--tx-code", "493536", "--json",
                         url=url))
    assert sorted(c["name"] for c in accepted["credentials"]) == sorted([SD_ACHIEVEMENT, OB3_ACHIEVEMENT])
    assert all(set(c) == {"id", "format", "name", "issuer"} for c in accepted["credentials"])

    listed = _json(cli("list", "--user", "ada.lovelace", "--json", url=url))
    assert listed["count"] == 2
    assert _json(cli("list", "--user", "ada.lovelace", "-q", "cryptography", "--json", url=url))["count"] == 1

    query = {"credentials": [{"id": "micro", "format": "dc+sd-jwt", "meta": {"vct_values": [issuer.vct]},
                              "claims": [{"path": ["grade"]}, {"path": ["given_name"]}]}]}
    uri, transaction = verifier.request(query, method="post")
    shown = _json(cli("present", uri, "--user", "ada.lovelace", "--json", url=url))  # no --yes: only shown
    assert shown["satisfiable"] and transaction.vp_token is None
    uri, transaction = verifier.request(query)
    sent = _json(cli("present", uri, "--user", "ada.lovelace", "--yes", "--disclose", "grade", "--json", url=url))
    assert sent["status"] == "sent" and sent["verifier"] == verifier.client_id
    assert sent["disclosed"][0]["disclosed"] == [["grade"]]
    assert disclosed_claims(transaction.vp_token["micro"][0]) == {"grade": GRADE}  # type: ignore[index]

    ob3 = next(c for c in accepted["credentials"] if c["format"] == "jwt_vc_json")
    jwt = cli("export", ob3["id"], "--user", "ada.lovelace", url=url).strip()
    assert jwt.count(".") == 2
    as_json = _json(cli("export", ob3["id"], "--user", "ada.lovelace", "--json", url=url))
    assert as_json["credentialSubject"]["achievement"]["name"] == OB3_ACHIEVEMENT
    png = tmp_path / "badge.png"
    cli("export", ob3["id"], "--user", "ada.lovelace", "--png", str(png), url=url)
    assert extract_png(png.read_bytes()) == jwt

    # An encrypted backup, restored into a fresh wallet: nothing lost, keys included.
    backup = tmp_path / "backup.json"
    cli("backup", "--user", "ada.lovelace", "--passphrase", "long passphrase", "--out", str(backup), url=url)
    assert "ciphertext" in json.loads(backup.read_text()) and SD_ACHIEVEMENT not in backup.read_text()
    with running_service("wallet", tmp_path / "two") as fresh:
        cli("user", "create", "--username", "ada.lovelace", "--password", "another password", url=fresh.url)
        wrong = _json(cli("restore", str(backup), "--user", "ada.lovelace", "--passphrase", "wrong passphrase",
                          "--json", url=fresh.url, ok=False))
        assert wrong["error"] == "invalid_grant"
        restored = _json(cli("restore", str(backup), "--user", "ada.lovelace", "--passphrase", "long passphrase",
                             "--json", url=fresh.url))
        assert restored == {"credentials": 2, "history": 1}
        again = _json(cli("list", "--user", "ada.lovelace", "--json", url=fresh.url))
        assert sorted(c["name"] for c in again["data"]) == sorted(c["name"] for c in listed["data"])
        uri, transaction = verifier.request(query)
        _json(cli("present", uri, "--user", "ada.lovelace", "--yes", "--json", url=fresh.url))
        assert transaction.reports["micro"][0].verified


def test_errors_are_one_json_document(cli: Any, wallet: RunningService, issuer: TinyIssuer) -> None:
    url = wallet.url
    cli("user", "create", "--username", "ada.lovelace", "--password", "correct horse battery", url=url)
    taken = _json(cli("user", "create", "--username", "ada.lovelace", "--password", "correct horse battery",
                      "--json", url=url, ok=False))
    assert taken["error"] == "invalid_request"
    wrong_code = _json(cli("accept", issuer.offer(), "--user", "ada.lovelace", "--tx-code", "000000", "--json",
                           url=url, ok=False))
    assert wrong_code["error"] == "invalid_grant"
    unknown = _json(cli("list", "--user", "nobody.at.all", "--json", url=url, ok=False))
    assert unknown["error"] == "invalid_token"
    offline = _json(cli("list", "--user", "ada.lovelace", "--password", "correct horse battery", "--json",
                        url="http://127.0.0.1:9", ok=False))
    assert offline["error"] == "unreachable"
