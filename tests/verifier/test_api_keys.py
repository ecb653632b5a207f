"""The verifier's API keys over real HTTP: no key, a wrong or revoked key is 401 `invalid_token`; a key reads
only its own requests; only admin keys change the trusted-issuer list and the keys; what wallets, the
standalone check and monitoring call stays open; the development key file is written once, 0600."""

from __future__ import annotations

import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import RunningService, running_service, verifier_api_headers
from tests.verifier.factories import Issuer, Party, present_vp_jwt
from tests.verifier.wallet_side import receive_request, respond

pytestmark = pytest.mark.integration

#: (method, path template as /openapi.json names it, JSON body) of every route that takes an API key.
KEYED_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/api/presentation-requests", {"preset": "ob3"}),
    ("GET", "/api/presentation-requests", None),
    ("GET", "/api/presentation-requests/{request_id}", None),
    ("GET", "/api/presentation-requests/{request_id}/qr.png", None),
    ("GET", "/api/presentation-requests/{request_id}/qr.svg", None),
    ("GET", "/api/trusted-issuers", None),
    ("POST", "/api/trusted-issuers", {"identifier": "did:web:forged.example"}),
    ("DELETE", "/api/trusted-issuers/{issuer_id}", None),
    ("GET", "/api/api-keys", None),
    ("POST", "/api/api-keys", {"name": "made without a key"}),
    ("DELETE", "/api/api-keys/{key_id}", None),
]


@pytest.fixture(scope="module")
def verifier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    with running_service("verifier", tmp_path_factory.mktemp("verifier-keys")) as service:
        yield service


def call(verifier: RunningService, method: str, path: str, key: str | None = None,
         **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return httpx.request(method, verifier.url + path, headers={**headers, **kwargs.pop("headers", {})},  # noqa: TID251
                         timeout=30, **kwargs)


def admin_key(verifier: RunningService) -> str:
    return verifier_api_headers(verifier)["Authorization"].removeprefix("Bearer ")


def new_key(verifier: RunningService, *, admin: bool = False) -> dict[str, Any]:
    made = call(verifier, "POST", "/api/api-keys", admin_key(verifier),
                json={"name": f"relying party {secrets.token_hex(4)}", "admin": admin})
    assert made.status_code == 201, made.text
    assert made.json()["key"].startswith("ewv_") and made.json()["revoked_at"] is None
    return made.json()  # type: ignore[no-any-return]


def create_request(verifier: RunningService, key: str, **body: Any) -> dict[str, Any]:
    created = call(verifier, "POST", "/api/presentation-requests", key, json={"preset": "ob3", **body})
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


def assert_invalid_token(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_token"
    assert response.headers["www-authenticate"].startswith("Bearer")


def _keyed_routes(verifier: RunningService) -> tuple[list[tuple[str, str, dict[str, Any] | None]], dict[str, str]]:
    """The keyed routes with real ids (a request of the admin key, a trusted issuer, a key), and those ids."""
    ids = {"request_id": create_request(verifier, admin_key(verifier))["id"], "key_id": new_key(verifier)["id"]}
    added = call(verifier, "POST", "/api/trusted-issuers", admin_key(verifier),
                 json={"identifier": f"did:web:{secrets.token_hex(4)}.example"})
    ids["issuer_id"] = str(added.json()["id"])
    return [(method, path.format(**ids), body) for method, path, body in KEYED_ROUTES], ids


def test_no_key_is_401_invalid_token_on_every_keyed_route(verifier: RunningService) -> None:
    routes, ids = _keyed_routes(verifier)
    for method, path, body in routes:
        assert_invalid_token(call(verifier, method, path, json=body))
        # Another scheme, or Bearer with nothing after it, is no key either.
        assert_invalid_token(call(verifier, method, path, json=body, headers={"Authorization": "Basic YTpi"}))
        assert_invalid_token(call(verifier, method, path, json=body, headers={"Authorization": "Bearer"}))
    _assert_nothing_changed(verifier, ids)


def _assert_nothing_changed(verifier: RunningService, ids: dict[str, str]) -> None:
    listed = call(verifier, "GET", "/api/trusted-issuers", admin_key(verifier)).json()["data"]
    assert "did:web:forged.example" not in [i["identifier"] for i in listed]
    assert int(ids["issuer_id"]) in [i["id"] for i in listed]  # not deleted
    keys = call(verifier, "GET", "/api/api-keys", admin_key(verifier)).json()["data"]
    assert "made without a key" not in [k["name"] for k in keys]
    assert [k["revoked_at"] for k in keys if k["id"] == ids["key_id"]] == [None]  # not revoked


def test_a_wrong_key_is_401_invalid_token(verifier: RunningService) -> None:
    real = admin_key(verifier)
    wrong_keys = ["ewv_" + secrets.token_urlsafe(32), real[:-1] + ("A" if real[-1] != "A" else "B"), real + "x",
                  real.upper()]
    routes, ids = _keyed_routes(verifier)
    for method, path, body in routes:
        for wrong in wrong_keys:
            assert_invalid_token(call(verifier, method, path, wrong, json=body))
    _assert_nothing_changed(verifier, ids)
    assert call(verifier, "GET", "/api/presentation-requests", real).status_code == 200


def test_a_revoked_key_is_401_from_the_next_request_on(verifier: RunningService) -> None:
    made = new_key(verifier)
    assert call(verifier, "GET", "/api/trusted-issuers", made["key"]).status_code == 200
    request_id = create_request(verifier, made["key"])["id"]
    revoked = call(verifier, "DELETE", f"/api/api-keys/{made['id']}", admin_key(verifier))
    assert revoked.status_code == 204, revoked.text
    assert_invalid_token(call(verifier, "GET", "/api/trusted-issuers", made["key"]))
    assert_invalid_token(call(verifier, "GET", f"/api/presentation-requests/{request_id}", made["key"]))
    assert_invalid_token(call(verifier, "POST", "/api/presentation-requests", made["key"], json={"preset": "ob3"}))
    [listed] = [k for k in call(verifier, "GET", "/api/api-keys", admin_key(verifier)).json()["data"]
                if k["id"] == made["id"]]
    assert listed["revoked_at"] is not None and "key" not in listed
    # Revoking again changes nothing; an unknown key id is 404.
    assert call(verifier, "DELETE", f"/api/api-keys/{made['id']}", admin_key(verifier)).status_code == 204
    unknown = call(verifier, "DELETE", "/api/api-keys/no-such-key", admin_key(verifier))
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"


def test_a_key_cannot_read_or_see_listed_another_keys_request(verifier: RunningService) -> None:
    issuer, holder = Issuer(), Party.new()
    key_a, key_b = new_key(verifier)["key"], new_key(verifier)["key"]
    created = create_request(verifier, key_a, achievement="Web Security Essentials",
                             trusted_issuers=[issuer.party.did], response_mode="direct_post")
    request = receive_request(created["request_uri"])
    vp = present_vp_jwt([issuer.ob3_jwt(holder)], holder, audience=request.client_id, nonce=request.nonce)
    assert respond(request, {"openbadge": [vp]}).status_code == 200

    mine = call(verifier, "GET", f"/api/presentation-requests/{created['id']}", key_a)
    assert mine.status_code == 200 and mine.json()["status"] == "verified" and holder.did in mine.text
    unknown = call(verifier, "GET", "/api/presentation-requests/" + "A" * 22, key_b)
    for path in (f"/api/presentation-requests/{created['id']}", f"/api/presentation-requests/{created['id']}/qr.png",
                 f"/api/presentation-requests/{created['id']}/qr.svg"):
        theirs = call(verifier, "GET", path, key_b)
        # Exactly what an id that does not exist gets: nothing tells the request is there.
        assert theirs.status_code == 404 and theirs.json() == unknown.json(), theirs.text
        assert holder.did not in theirs.text
    # The admin key is a key like any other here: it does not read other keys' results either.
    assert call(verifier, "GET", f"/api/presentation-requests/{created['id']}", admin_key(verifier)).status_code == 404

    listed_a = call(verifier, "GET", "/api/presentation-requests", key_a).json()["data"]
    assert [(r["id"], r["status"]) for r in listed_a] == [(created["id"], "verified")]
    assert "claims" not in listed_a[0]
    assert created["id"] not in call(verifier, "GET", "/api/presentation-requests", key_b).text
    assert created["id"] not in call(verifier, "GET", "/api/presentation-requests", admin_key(verifier)).text


def test_only_an_admin_key_changes_the_trusted_issuers(verifier: RunningService) -> None:
    relying_party = new_key(verifier)["key"]
    identifier = f"did:web:{secrets.token_hex(4)}.example"

    def identifiers() -> list[str]:
        return [i["identifier"] for i in
                call(verifier, "GET", "/api/trusted-issuers", relying_party).json()["data"]]

    assert_invalid_token(call(verifier, "POST", "/api/trusted-issuers", json={"identifier": identifier}))
    refused = call(verifier, "POST", "/api/trusted-issuers", relying_party, json={"identifier": identifier})
    assert refused.status_code == 403 and refused.json()["error"] == "access_denied"
    assert identifier not in identifiers()

    added = call(verifier, "POST", "/api/trusted-issuers", admin_key(verifier), json={"identifier": identifier})
    assert added.status_code == 201, added.text
    assert identifier in identifiers()
    path = f"/api/trusted-issuers/{added.json()['id']}"
    assert_invalid_token(call(verifier, "DELETE", path))
    assert call(verifier, "DELETE", path, relying_party).status_code == 403
    assert identifier in identifiers()
    assert call(verifier, "DELETE", path, admin_key(verifier)).status_code == 204
    assert identifier not in identifiers()


def test_only_admin_keys_manage_keys_and_the_last_admin_key_stays(tmp_path: Path) -> None:
    with running_service("verifier", tmp_path) as verifier:  # its own: the development key gets revoked here
        _manage_keys(verifier)


def _manage_keys(verifier: RunningService) -> None:
    relying_party = new_key(verifier)
    for method, path, body in (("GET", "/api/api-keys", None), ("POST", "/api/api-keys", {"name": "sneaky"}),
                               ("DELETE", f"/api/api-keys/{relying_party['id']}", None)):
        refused = call(verifier, method, path, relying_party["key"], json=body)
        assert refused.status_code == 403 and refused.json()["error"] == "access_denied", (method, path)
    assert call(verifier, "GET", "/api/trusted-issuers", relying_party["key"]).status_code == 200  # not revoked

    twin = call(verifier, "POST", "/api/api-keys", admin_key(verifier), json={"name": relying_party["name"]})
    assert twin.status_code == 400 and twin.json()["error"] == "invalid_request"

    second_admin = new_key(verifier, admin=True)
    keys = call(verifier, "GET", "/api/api-keys", second_admin["key"]).json()["data"]
    [development] = [k for k in keys if k["name"] == "development key"]
    assert development["admin"] and all("key" not in k and "key_hash" not in k for k in keys)
    # The second admin may revoke the development key ... but not itself once it is the last admin key.
    active_admins = [k for k in keys if k["admin"] and k["revoked_at"] is None and k["id"] != second_admin["id"]]
    assert development in active_admins
    for other in active_admins:
        assert call(verifier, "DELETE", f"/api/api-keys/{other['id']}", second_admin["key"]).status_code == 204
    assert_invalid_token(call(verifier, "GET", "/api/api-keys", admin_key(verifier)))
    last = call(verifier, "DELETE", f"/api/api-keys/{second_admin['id']}", second_admin["key"])
    assert last.status_code == 400 and "last admin key" in last.json()["error_description"]
    assert call(verifier, "GET", "/api/api-keys", second_admin["key"]).status_code == 200


def test_wallet_check_and_monitoring_endpoints_need_no_key(verifier: RunningService, tmp_path: Path) -> None:
    issuer, holder = Issuer(), Party.new()
    for method in ("get", "post"):
        created = create_request(verifier, new_key(verifier)["key"], trusted_issuers=[issuer.party.did],
                                 request_uri_method=method)
        request = receive_request(created["request_uri"], method=method, wallet_nonce="wn-1")  # no key
        vp = present_vp_jwt([issuer.ob3_jwt(holder)], holder, audience=request.client_id, nonce=request.nonce)
        assert respond(request, {"openbadge": [vp]}).status_code == 200  # response endpoint: no key
    for path in ("/.well-known/did.json", "/healthz", "/readyz", "/metrics", "/openapi.json", "/",
                 "/presentation-requests/new", "/check"):
        assert call(verifier, "GET", path).status_code == 200, path
    report = call(verifier, "POST", "/api/check", content=issuer.ob3_jwt(holder).encode())
    assert report.status_code == 200 and report.json()["checks"]["issuer_signature"]["outcome"] == "passed"


def test_openapi_names_the_bearer_key_on_keyed_routes_only(verifier: RunningService) -> None:
    document = call(verifier, "GET", "/openapi.json").json()
    scheme = document["components"]["securitySchemes"]["ApiKey"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    keyed = {(method, path) for method, path, _ in KEYED_ROUTES}
    documented = {(method.upper(), path): operation for path, operations in document["paths"].items()
                  for method, operation in operations.items()}
    assert keyed <= documented.keys()
    for name, operation in documented.items():
        if name in keyed:
            assert operation.get("security") == [{"ApiKey": []}], name
            assert "401" in operation["responses"], name
        else:
            assert "security" not in operation, name
    assert ("POST", "/oid4vp/response") in documented and ("POST", "/api/check") in documented


def test_the_development_key_file_is_written_once_with_mode_0600(tmp_path: Path) -> None:
    with running_service("verifier", tmp_path / "first") as first:
        path = first.var_dir / "verifier-api.key"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        key = path.read_text().strip()
        assert key.startswith("ewv_") and len(key) >= 40
        assert "verifier-api.key" in first.log() and key not in first.log()
        assert call(first, "GET", "/api/api-keys", key).status_code == 200
        written = path.stat()
        # A second start on the same database and var dir finds a key and leaves the file alone.
        env = {"EDUWALLET_VERIFIER_DATABASE_URL": first.database_url, "EDUWALLET_VERIFIER_VAR_DIR": str(first.var_dir)}
        with running_service("verifier", tmp_path / "second", env=env) as second:
            assert call(second, "GET", "/api/api-keys", key).status_code == 200
            [listed] = call(second, "GET", "/api/api-keys", key).json()["data"]  # still one key
            assert listed["name"] == "development key"
            assert "verifier-api.key" not in second.log()
        again = path.stat()
        assert (again.st_ino, again.st_mtime_ns, path.read_text().strip()) == (written.st_ino, written.st_mtime_ns, key)


def test_no_key_file_when_the_bootstrap_is_off(tmp_path: Path) -> None:
    with running_service("verifier", tmp_path, env={"EDUWALLET_VERIFIER_BOOTSTRAP_API_KEY": "false"}) as service:
        assert not (service.var_dir / "verifier-api.key").exists()
        assert_invalid_token(call(service, "GET", "/api/presentation-requests"))
