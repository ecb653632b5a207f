"""`eduwallet verifier request / result / verify / api-key` against a running verifier; `--json` prints one
document. The API key is found like the issuer's token: `--token`, `EDUWALLET_VERIFIER_TOKEN`, or the key file
in `EDUWALLET_VERIFIER_VAR_DIR`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli import eduwallet, json_document
from tests.servers import RunningService, running_service
from tests.verifier.factories import Issuer, Party, present_vp_jwt
from tests.verifier.wallet_side import receive_request, respond

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def verifier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    with running_service("verifier", tmp_path_factory.mktemp("cli")) as service:
        yield service


def run(verifier: RunningService, *args: str, env: dict[str, str] | None = None) -> tuple[int, Any]:
    """Run the command with `--json` and the development key file found through EDUWALLET_VERIFIER_VAR_DIR."""
    result = eduwallet("verifier", *args, "--url", verifier.url, "--json",
                       env={"EDUWALLET_VERIFIER_VAR_DIR": str(verifier.var_dir), "EDUWALLET_VERIFIER_TOKEN": "",
                            **(env or {})})
    return result.returncode, json_document(result)


def test_request_present_result(verifier: RunningService, tmp_path: Path) -> None:
    issuer, holder = Issuer(), Party.new()
    code, created = run(verifier, "request", "--preset", "ob3", "--achievement", "Web Security Essentials",
                        "--trusted-issuer", issuer.party.did)
    assert code == 0 and isinstance(created, dict)
    assert {"id", "request_uri", "qr_png_url"} <= set(created)
    code, pending = run(verifier, "result", created["id"])
    assert code == 0 and pending["status"] == "pending"  # type: ignore[index]

    request = receive_request(created["request_uri"])
    vp = present_vp_jwt([issuer.ob3_jwt(holder)], holder, audience=request.client_id, nonce=request.nonce)
    assert respond(request, {"openbadge": [vp]}).status_code == 200
    code, done = run(verifier, "result", created["id"])
    assert code == 0 and isinstance(done, dict)
    assert done["status"] == "verified" and done["checks"]["dcql"]["outcome"] == "passed"
    assert done["claims"]["openbadge"]["credentialSubject"]["achievement"]["name"] == "Web Security Essentials"


def test_request_from_a_dcql_file_and_sd_jwt_preset(verifier: RunningService, tmp_path: Path) -> None:
    query = tmp_path / "query.json"
    query.write_text(json.dumps({"credentials": [{"id": "c", "format": "dc+sd-jwt",
                                                  "meta": {"vct_values": ["urn:x"]}}]}))
    code, created = run(verifier, "request", "--dcql", str(query))
    assert code == 0 and "id" in created  # type: ignore[operator]
    code, created = run(verifier, "request", "--preset", "sd-jwt", "--claims", "given_name,achievement.name")
    assert code == 0 and "id" in created  # type: ignore[operator]


def test_verify_a_file(verifier: RunningService, tmp_path: Path) -> None:
    issuer, holder = Issuer(), Party.new()
    path = tmp_path / "badge.jwt"
    path.write_text(issuer.ob3_jwt(holder))
    code, report = run(verifier, "verify", str(path))
    assert isinstance(report, dict) and report["checks"]["issuer_signature"]["outcome"] == "passed"
    # Nobody trusts this issuer here: the report says so, and the exit code too.
    assert report["checks"]["trusted_issuer"]["outcome"] == "failed" and code == 1


def test_errors_are_one_json_document(verifier: RunningService, tmp_path: Path) -> None:
    code, body = run(verifier, "result", "does-not-exist")
    assert code == 1 and body["error"] == "not_found"  # type: ignore[index]
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, body = run(verifier, "request", "--dcql", str(bad))
    assert code == 1 and body["error"] == "cli_error"  # type: ignore[index]
    result = eduwallet("verifier", "result", "x", "--url", "http://127.0.0.1:9", "--token", "ewv_x", "--json")
    assert result.returncode == 2 and "cannot reach" in json_document(result)["error_description"]


def test_the_key_is_found_in_the_var_dir_the_environment_or_the_option(verifier: RunningService,
                                                                       tmp_path: Path) -> None:
    code, created = run(verifier, "request", "--preset", "ob3")  # the key file in EDUWALLET_VERIFIER_VAR_DIR
    assert code == 0 and "id" in created
    nowhere = {"EDUWALLET_VERIFIER_VAR_DIR": str(tmp_path)}
    code, body = run(verifier, "result", created["id"], env=nowhere)
    assert code == 1 and body["error"] == "no_token" and "verifier-api.key" in body["error_description"]
    key = (verifier.var_dir / "verifier-api.key").read_text().strip()
    code, body = run(verifier, "result", created["id"], env={**nowhere, "EDUWALLET_VERIFIER_TOKEN": key})
    assert code == 0 and body["status"] == "pending"
    code, body = run(verifier, "result", created["id"], "--token", key, env=nowhere)
    assert code == 0 and body["status"] == "pending"
    # A wrong key in the option wins over the good one in the file: the verifier refuses it.
    code, body = run(verifier, "result", created["id"], "--token", "ewv_wrong")
    assert code == 1 and body["error"] == "invalid_token"
    # The standalone check needs no key at all.
    path = tmp_path / "badge.jwt"
    path.write_text(Issuer().ob3_jwt(Party.new()))
    code, report = run(verifier, "verify", str(path), env=nowhere)
    assert report["checks"]["issuer_signature"]["outcome"] == "passed"


def test_api_key_create_list_revoke(verifier: RunningService) -> None:
    code, made = run(verifier, "api-key", "create", "--name", "Werkgever BV")
    assert code == 0 and made["name"] == "Werkgever BV" and not made["admin"] and made["key"].startswith("ewv_")
    code, created = run(verifier, "request", "--preset", "ob3", "--token", made["key"])
    assert code == 0
    # The new key reads its own request; the development key does not see it.
    assert run(verifier, "result", created["id"], "--token", made["key"])[1]["status"] == "pending"
    code, body = run(verifier, "result", created["id"])
    assert code == 1 and body["error"] == "not_found"
    # A relying party's key manages no keys.
    code, body = run(verifier, "api-key", "create", "--name", "sneaky", "--token", made["key"])
    assert code == 1 and body["error"] == "access_denied"
    code, listed = run(verifier, "api-key", "list")
    assert code == 0 and made["id"] in [k["id"] for k in listed["data"]]
    assert run(verifier, "api-key", "revoke", made["id"]) == (0, {"id": made["id"], "revoked": True})
    code, body = run(verifier, "result", created["id"], "--token", made["key"])
    assert code == 1 and body["error"] == "invalid_token"
    code, body = run(verifier, "api-key", "revoke", "no-such-key")
    assert code == 1 and body["error"] == "not_found"
