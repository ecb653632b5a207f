"""The service shell: health, protocol errors as JSON, 413 for large bodies, security headers."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from schemas.oauth2 import InvalidGrant, InvalidToken
from servicekit.app import add_service_basics
from servicekit.database import make_engine


class Body(BaseModel):
    name: str


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    app = FastAPI()
    add_service_basics(app, engine=make_engine(f"sqlite:///{tmp_path / 'x.db'}"), max_body_bytes=1000)

    @app.post("/grant")
    def grant() -> None:
        raise InvalidGrant("the pre-authorized code was already used\n", internal="code 42 replayed")

    @app.get("/token")
    def token() -> None:
        raise InvalidToken("expired")

    @app.post("/echo")
    def echo(body: Body) -> Body:
        return body

    # A database that cannot be opened (its folder does not exist), and a pool of one connection, held.
    unreachable = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'no-such-folder' / 'x.db'}")
    busy = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'busy.db'}", pool_size=1, max_overflow=0,
                                    pool_timeout=0.1)

    @app.get("/unreachable")
    def use_unreachable() -> None:
        with unreachable.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT 1"))

    @app.get("/busy")
    def use_busy() -> None:
        with busy.connect(), busy.connect():
            pass

    return TestClient(app)


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok"}


def test_protocol_error_is_spec_json_with_4xx(client: TestClient) -> None:
    response = client.post("/grant")
    assert response.status_code == 400
    # error_description is cut to the RFC 6749 character set; the internal message stays out.
    assert response.json() == {"error": "invalid_grant", "error_description": "the pre-authorized code was already used"}
    assert response.headers["cache-control"] == "no-store"


def test_invalid_token_has_www_authenticate(client: TestClient) -> None:
    response = client.get("/token")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


def test_validation_error_is_invalid_request_400(client: TestClient) -> None:
    response = client.post("/echo", json={"nom": "x"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "name" in response.json()["error_description"]


def test_oversized_body_gets_413(client: TestClient) -> None:
    response = client.post("/echo", json={"name": "x" * 2000})
    assert response.status_code == 413
    assert response.json()["error"] == "invalid_request"


def test_oversized_streamed_body_without_length_gets_413(client: TestClient) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"x" * 100

    response = client.post("/echo", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_unknown_path_is_json_404(client: TestClient) -> None:
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize("path", ["/unreachable", "/busy"])
def test_a_database_that_cannot_serve_is_503_with_retry_after_not_500(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    assert response.headers["retry-after"] == "5" and response.headers["cache-control"] == "no-store"


def test_openapi_documents_the_503_on_every_operation(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert all("503" in operation["responses"] for operations in paths.values() for operation in operations.values())


def test_security_headers_on_every_response(client: TestClient) -> None:
    for response in (client.get("/healthz"), client.get("/nope")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert "'unsafe-inline'" not in response.headers["content-security-policy"]
