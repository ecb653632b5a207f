"""`eduwallet issuer ...` against a running issuer: JSON output, the development token, bulk awards."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest

from tests.cli import eduwallet, json_document
from tests.issuer.live import run
from tests.issuer.wallet_client import TestWallet
from tests.servers import RunningService

pytestmark = pytest.mark.integration

def test_institution_badge_award_and_status_commands(issuer: RunningService) -> None:
    institution = run(issuer, "institution", "create", "--name", "CLI Hogeschool")
    assert set(institution) == {"id", "did", "sd_jwt_vc_issuer"} and institution["did"].startswith("did:web:")
    assert institution["sd_jwt_vc_issuer"] == f"{issuer.url}/institutions/{institution['id']}"
    badge = run(issuer, "badge", "create", "--institution", str(institution["id"]), "--name", "Git Basics",
                "--description", "Branches and merges", "--ects", "2.5", "--eqf", "6")
    assert set(badge) == {"id"}
    made = run(issuer, "award", "--badge", str(badge["id"]), "--name", "Grace Hopper", "--email", "grace@x.nl",
               "--pin")
    assert set(made) == {"award_id", "offer_uri", "tx_code", "qr_png_url"}
    assert made["offer_uri"].startswith("openid-credential-offer://") and len(made["tx_code"]) == 6
    # the offer the CLI printed works in a wallet
    _session, answer = TestWallet().obtain(made["offer_uri"], tx_code=made["tx_code"])
    assert len(answer["credentials"]) == 1
    sd = run(issuer, "award", "--badge", str(badge["id"]), "--name", "Alan Turing", "--email", "alan@x.nl",
             "--format", "dc+sd-jwt")
    assert sd["tx_code"] is None
    assert run(issuer, "suspend", str(made["award_id"])) == {"award_id": made["award_id"], "status": "suspended"}
    assert run(issuer, "unsuspend", str(made["award_id"]))["status"] == "valid"
    assert run(issuer, "revoke", str(made["award_id"]))["status"] == "revoked"
    refused = run(issuer, "unsuspend", str(made["award_id"]), code=1)
    assert refused["error"] == "conflict"


def test_errors_are_one_json_document(issuer: RunningService, tmp_path: Path) -> None:
    assert run(issuer, "award", "--badge", "99999", "--name", "X", "--email", "x@y.nl", code=1)["error"] == "not_found"
    result = eduwallet("issuer", "revoke", "1", "--url", issuer.url, "--json", "--token", "ewi_wrong")
    assert result.returncode == 1 and json_document(result)["error"] == "invalid_token"
    result = eduwallet("issuer", "revoke", "1", "--url", issuer.url, "--json",
                       env={"EDUWALLET_ISSUER_VAR_DIR": str(tmp_path), "EDUWALLET_ISSUER_TOKEN": ""})
    assert result.returncode == 1 and json_document(result)["error"] == "no_token"


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([["name", "email", "result"], *rows])
    return path


def test_bulk_award_reports_bad_rows_by_line_and_is_idempotent(issuer: RunningService, tmp_path: Path) -> None:
    institution = run(issuer, "institution", "create", "--name", "Bulk Academy")
    badge = run(issuer, "badge", "create", "--institution", str(institution["id"]), "--name", "Bulk badge")
    path = _write_csv(tmp_path / "learners.csv", [
        ["Ada Lovelace", "ada@x.nl", ""], ["", "noname@x.nl", ""], ["Bad Mail", "not-an-email", ""],
        ["Grade Without Scale", "g@x.nl", "8"], ["Edsger Dijkstra", "EWD@x.nl", ""]])
    offers = tmp_path / "offers.csv"
    first = run(issuer, "bulk-award", str(path), "--badge", str(badge["id"]), "--out", str(offers), code=2)
    assert (first["rows"], first["created"], first["existing"]) == (5, 2, 0)
    assert [e["line"] for e in first["errors"]] == [3, 4, 5]
    assert "name" in first["errors"][0]["error"] and "email" in first["errors"][1]["error"]
    assert [a["line"] for a in first["awards"]] == [2, 6]
    with offers.open() as handle:
        written = list(csv.DictReader(handle))
    assert [row["email"] for row in written] == ["ada@x.nl", "EWD@x.nl"]
    assert all(row["offer_uri"].startswith("openid-credential-offer://") for row in written)
    again = run(issuer, "bulk-award", str(path), "--badge", str(badge["id"]), code=2)
    assert (again["created"], again["existing"]) == (0, 2)
    # Finding a learner's award, e.g. to revoke it.
    [found] = run(issuer, "awards", "--learner", "EWD@")["awards"]
    assert (found["learner"], found["email"], found["status"]) == ("Edsger Dijkstra", "ewd@x.nl", "valid")
    assert found["award_id"] == first["awards"][1]["award_id"]
    assert run(issuer, "awards", "--learner", "ewd@", "--status", "revoked")["awards"] == []
    run(issuer, "revoke", str(found["award_id"]))
    revoked = run(issuer, "awards", "--learner", "ewd@", "--status", "revoked")["awards"]
    assert [a["award_id"] for a in revoked] == [found["award_id"]]
    assert run(issuer, "awards", "--status", "lost", code=1)["error"] == "invalid_request"


def test_bulk_award_of_ten_thousand_rows(issuer: RunningService, tmp_path: Path) -> None:
    institution = run(issuer, "institution", "create", "--name", "Big University")
    badge = run(issuer, "badge", "create", "--institution", str(institution["id"]), "--name", "Mass badge")
    rows = [[f"Learner {n}", f"learner{n}@big.example.nl", ""] for n in range(10_000)]
    rows[4321] = ["Broken", "broken-at-line-4323", ""]
    path = _write_csv(tmp_path / "big.csv", rows)
    started = time.monotonic()
    first = run(issuer, "bulk-award", str(path), "--badge", str(badge["id"]), code=2)
    elapsed = time.monotonic() - started
    assert (first["rows"], first["created"]) == (10_000, 9_999)
    assert first["errors"] == [{"line": 4323, "error": first["errors"][0]["error"]}]
    again = run(issuer, "bulk-award", str(path), "--badge", str(badge["id"]), code=2)
    assert (again["created"], again["existing"]) == (0, 9_999)
    print(f"10,000-row bulk award: {elapsed:.1f} s")
