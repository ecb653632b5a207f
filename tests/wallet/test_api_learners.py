"""The learner API (in-process over the real app and a real SQLite file): accounts, credentials, isolation."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session

from vc.keys import generate_private_key
from wallet.accounts import API_TOKEN, resolve_token
from wallet.store import NewCredential, add_credentials


def _store(client: TestClient, headers: dict[str, str], *names: str) -> list[str]:
    app = client.app
    with Session(app.state.engine) as session:  # type: ignore[attr-defined]
        learner = resolve_token(session=session, master_key=app.state.master_key,  # type: ignore[attr-defined]
                                token=headers["Authorization"].split()[1], kind=API_TOKEN)
        return add_credentials(session=session, learner=learner, credentials=[NewCredential(
            format="jwt_vc_json", copies=[(f"raw {name}", generate_private_key())],
            summary={"name": name, "issuer": {"id": "did:web:issuer.example.edu", "name": "Example University"},
                     "valid_until": "2020-01-01T00:00:00Z" if "Old" in name else None},
            types=["OpenBadgeCredential"], search_text=[name]) for name in names])


def test_register_login_me_logout(client: TestClient) -> None:
    created = client.post("/api/v1/learners", json={"username": "ada.lovelace", "password": "correct horse battery"})
    assert created.status_code == 201
    assert created.json()["username"] == "ada.lovelace"
    token = client.post("/api/v1/token", json={"username": "ada.lovelace", "password": "correct horse battery"})
    assert token.status_code == 200 and token.headers["cache-control"] == "no-store"
    assert token.json()["token_type"] == "Bearer"
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert client.get("/api/v1/me", headers=headers).json()["id"] == created.json()["id"]
    assert client.delete("/api/v1/token", headers=headers).status_code == 204
    again = client.get("/api/v1/me", headers=headers)
    assert again.status_code == 401 and again.json()["error"] == "invalid_token"


def test_errors_are_protocol_errors(client: TestClient, login: Callable[..., dict[str, str]]) -> None:
    login("ada.lovelace")
    taken = client.post("/api/v1/learners", json={"username": "ada.lovelace", "password": "another password"})
    assert taken.status_code == 409 and taken.json()["error"] == "invalid_request"
    wrong = client.post("/api/v1/token", json={"username": "ada.lovelace", "password": "not the password"})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    extra = client.post("/api/v1/learners", json={"username": "x.y.z", "password": "long enough", "admin": True})
    assert extra.status_code == 400 and extra.json()["error"] == "invalid_request"
    assert client.post("/api/v1/learners", content=b"{not json").status_code == 400
    anonymous = client.get("/api/v1/credentials")
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    bad = client.get("/api/v1/credentials", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401
    limit = client.get("/api/v1/credentials?limit=100000", headers=login("grace.hopper"))
    assert limit.status_code == 400


def test_list_search_detail_delete(client: TestClient, login: Callable[..., dict[str, str]]) -> None:
    headers = login()
    web, old = _store(client, headers, "Web Security Essentials", "Old Certificate")
    listed = client.get("/api/v1/credentials", headers=headers).json()
    assert listed["count"] == 2
    by_id = {c["id"]: c for c in listed["data"]}
    assert by_id[web]["name"] == "Web Security Essentials"
    assert by_id[web]["issuer"]["name"] == "Example University"
    assert by_id[web]["status"] == "valid" and by_id[old]["status"] == "expired"
    found = client.get("/api/v1/credentials", params={"q": "security"}, headers=headers).json()
    assert [c["id"] for c in found["data"]] == [web] and found["count"] == 1
    detail = client.get(f"/api/v1/credentials/{web}", headers=headers)
    assert detail.status_code == 200 and detail.json()["types"] == []
    assert client.delete(f"/api/v1/credentials/{web}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/credentials/{web}", headers=headers).status_code == 404
    assert client.get("/api/v1/credentials", headers=headers).json()["count"] == 1


def test_a_learner_cannot_see_or_touch_another_learners_credentials(
        client: TestClient, login: Callable[..., dict[str, str]]) -> None:
    ada, grace = login("ada.lovelace"), login("grace.hopper")
    [ada_credential] = _store(client, ada, "Ada's Badge")
    assert client.get("/api/v1/credentials", headers=grace).json() == {"data": [], "count": 0}
    assert client.get(f"/api/v1/credentials/{ada_credential}", headers=grace).status_code == 404
    assert client.delete(f"/api/v1/credentials/{ada_credential}", headers=grace).status_code == 404
    assert client.get(f"/api/v1/credentials/{ada_credential}", headers=ada).status_code == 200


def test_delete_account_removes_everything(client: TestClient, login: Callable[..., dict[str, str]]) -> None:
    headers = login()
    [credential] = _store(client, headers, "A Badge")
    assert client.delete("/api/v1/me", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    again = client.post("/api/v1/token", json={"username": "ada.lovelace", "password": "correct horse battery"})
    assert again.status_code == 400
    # The username is free again, and the new account starts empty.
    fresh = login()
    assert client.get("/api/v1/credentials", headers=fresh).json()["count"] == 0
    assert client.get(f"/api/v1/credentials/{credential}", headers=fresh).status_code == 404
