"""Structured logs: JSON lines, request ids, and no credential, PIN, token or password in any line."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from schemas.oauth2 import InvalidGrant
from servicekit.app import add_service_basics
from servicekit.database import make_engine
from servicekit.logging import REDACTED, current_request_id, scrub
from tests.servers import running_service
from vc.encoding import b64url_encode
from vc.jws import sign_jws
from vc.keys import MasterKey, SoftwareSigner, generate_private_key

log = logging.getLogger("tests.servicekit.endpoint")

# Secrets a request may carry; none of them may reach a log line.
PIN = "493817"
PASSWORD = "correct horse battery staple 42"
PRE_AUTHORIZED_CODE = "Zt4mQ9xKpL2vR8sW1nB6cY3dF7gH0jE5aU"
GIVEN_NAME = "Wilhelmina"
EMAIL = "wilhelmina.jansen@example.edu"


@pytest.fixture(scope="module")
def jwt() -> str:
    signer = SoftwareSigner(generate_private_key("ES256"), kid="did:example:issuer#key-1", alg="ES256")
    return sign_jws({"iss": "did:example:issuer", "sub": "learner", "given_name": GIVEN_NAME}, signer, typ="JWT")


@pytest.fixture(scope="module")
def sd_jwt(jwt: str) -> str:
    disclosure = b64url_encode(json.dumps(["2GLC42sKQveCfGfryNRN9w", "given_name", GIVEN_NAME]).encode())
    return f"{jwt}~{disclosure}~"


class Login(BaseModel):
    username: str
    password: str
    tx_code: str | None = None


def make_app(tmp_path: Path) -> FastAPI:
    app = FastAPI(title="eduwallet logtest")
    add_service_basics(app, engine=make_engine(f"sqlite:///{tmp_path / 'x.db'}"), max_body_bytes=10_000)

    @app.get("/items/{item_id}")
    def item(item_id: int) -> dict[str, Any]:  # sync: runs in the thread pool
        log.info("reading item %d", item_id)
        return {"id": item_id, "request_id": current_request_id()}

    @app.get("/async")
    async def async_endpoint() -> dict[str, Any]:
        log.info("async work")
        return {"request_id": current_request_id()}

    @app.post("/login")
    def login(body: Login) -> None:
        try:
            raise RuntimeError(f"cannot check password={body.password!r} for {body.username}")
        except RuntimeError:
            log.exception("login failed")  # a traceback whose text carries the password
        raise InvalidGrant("wrong transaction code", internal=f"tx_code={body.tx_code} does not match")

    @app.post("/token")
    def token() -> None:
        raise InvalidGrant("unknown code")

    return app


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return TestClient(make_app(tmp_path))


def log_lines(text: str) -> list[dict[str, Any]]:
    """Every non-empty line of captured stderr, parsed; fails on any line that is not a JSON object."""
    lines = [json.loads(line) for line in text.split("\n") if line.strip()]
    assert all(isinstance(line, dict) for line in lines)
    return lines


def access_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["logger"] == "eduwallet.access"]


def test_log_lines_are_json_with_request_fields(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    response = client.get("/items/7?page=2")
    assert response.status_code == 200
    lines = log_lines(capsys.readouterr().err)
    (endpoint_line,) = [line for line in lines if line["logger"] == log.name]
    (access,) = access_lines(lines)
    assert endpoint_line["message"] == "reading item 7"
    assert endpoint_line["level"] == "INFO"
    assert endpoint_line["service"] == "logtest"
    assert endpoint_line["time"].endswith("Z")
    assert set(access) >= {"time", "level", "logger", "message", "service", "request_id", "method", "path", "status",
                           "duration_ms"}
    assert (access["method"], access["path"], access["status"]) == ("GET", "/items/7", 200)
    assert isinstance(access["duration_ms"], float) and access["duration_ms"] >= 0
    assert "page=2" not in json.dumps(lines)  # the query string is never logged
    assert endpoint_line["request_id"] == access["request_id"] == response.headers["x-request-id"]


def test_request_id_is_generated_and_echoed(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    first, second = client.get("/async"), client.get("/async")
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert ids[0] != ids[1] and all(len(i) == 32 for i in ids)
    assert [first.json()["request_id"], second.json()["request_id"]] == ids
    lines = log_lines(capsys.readouterr().err)
    assert [line["request_id"] for line in lines if line["logger"] == log.name] == ids
    assert [line["request_id"] for line in access_lines(lines)] == ids


def test_request_id_from_the_caller_is_kept(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    response = client.get("/items/3", headers={"X-Request-ID": "lb-7f3a.2:upstream_9"})
    assert response.headers["x-request-id"] == "lb-7f3a.2:upstream_9"
    assert response.json()["request_id"] == "lb-7f3a.2:upstream_9"
    lines = log_lines(capsys.readouterr().err)
    assert lines and all(line["request_id"] == "lb-7f3a.2:upstream_9" for line in lines)


@pytest.mark.parametrize("unsafe", ["has space", "x" * 129, "semi;colon", "<script>", "-leading-dash",
                                    "Zt4mQ9xKpL2vR8sW1nB6cY3dF7gH0jE5aU", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"])
def test_unsafe_request_id_is_replaced(client: TestClient, capsys: pytest.CaptureFixture[str], unsafe: str) -> None:
    capsys.readouterr()
    response = client.get("/async", headers={"X-Request-ID": unsafe})
    replacement = response.headers["x-request-id"]
    assert replacement != unsafe and len(replacement) == 32
    assert unsafe not in capsys.readouterr().err


def test_no_secret_reaches_the_logs(client: TestClient, capsys: pytest.CaptureFixture[str], jwt: str,
                                    sd_jwt: str) -> None:
    capsys.readouterr()
    headers = {"Authorization": f"Bearer {jwt}", "Cookie": f"session={PRE_AUTHORIZED_CODE}", "DPoP": jwt}
    query = {"tx_code": PIN, "pre-authorized_code": PRE_AUTHORIZED_CODE, "password": PASSWORD, "vp_token": sd_jwt,
             "email": EMAIL}
    body = {"username": EMAIL, "password": PASSWORD, "tx_code": PIN}
    responses = [
        client.post("/login", params=query, headers=headers, json=body),
        client.post("/token", params=query, headers=headers,
                    data={"pre-authorized_code": PRE_AUTHORIZED_CODE, "tx_code": PIN, "credential": sd_jwt}),
        client.get("/items/5", params=query, headers=headers),
        client.post("/login", content=json.dumps({"password": PASSWORD, "given_name": GIVEN_NAME}) * 500,
                    headers={"content-type": "application/json"}),  # 413
    ]
    assert [r.status_code for r in responses] == [400, 400, 200, 413]
    captured = capsys.readouterr().err
    lines = log_lines(captured)
    assert len(access_lines(lines)) == 4
    assert any(line["message"] == "login failed" and "exception" in line for line in lines)
    assert any("tx_code=" in line["message"] for line in lines)  # the protocol error's internal note, masked
    for secret in (jwt, jwt.split(".")[1], sd_jwt.split("~")[1], PIN, PASSWORD, "horse battery", PRE_AUTHORIZED_CODE,
                   GIVEN_NAME, EMAIL, "wilhelmina"):
        assert secret not in captured


def test_unhandled_exception_is_logged_as_500(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = make_app(tmp_path)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError(f"password={PASSWORD}")

    capsys.readouterr()
    response = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert response.status_code == 500
    (access,) = access_lines(log_lines(capsys.readouterr().err))
    assert (access["status"], access["level"], access["path"]) == (500, "ERROR", "/boom")


def test_uvicorn_access_log_is_replaced(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    # By what reaches stderr, not by handler lists: pytest (9.2 on) hangs its own capture handlers on loggers.
    access = logging.getLogger("uvicorn.access")
    assert access.disabled and not access.propagate
    capsys.readouterr()
    access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/offers?tx_code=493817", "1.1", 200)
    assert capsys.readouterr().err == ""  # uvicorn's access line (query string and all) goes nowhere
    assert logging.getLogger("uvicorn.error").hasHandlers()  # through ours on the root logger
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING


@pytest.mark.parametrize(("text", "secret"), [
    ("token eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl received", "eyJhbGciOiJFUzI1NiJ9"),
    ("presented eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln~WyJzYWx0IiwibmFtZSIsIkFsaWNlIl0~", "WyJzYWx0"),
    ("vp_token=eyJhbGciOiJFUzI1NiJ9.eyJ4IjoxfQ.c2ln%7EWyJzYWx0IiwibmFtZSIsIkFsaWNlIl0%7E", "WyJzYWx0"),
    ("stray disclosure WyJzYWx0IiwibmFtZSIsIkFsaWNlIl0 seen", "WyJzYWx0"),
    ("POST /token tx_code=493817&grant_type=x", "493817"),
    ("body {'tx_code': '493817'}", "493817"),
    ('body {"pre-authorized_code": "abc def", "x": 1}', "abc def"),
    ("pre-authorized_code%3Dsecretvalue", "secretvalue"),
    ("password=hunter2", "hunter2"),
    ('{"password": "a \\" quoted pass"}', "quoted pass"),
    ('{"access_token":"opaque-token-value"}', "opaque-token-value"),
    ("Authorization: Bearer ewi_Ab3xYz", "ewi_Ab3xYz"),
    ("Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
    ("PIN: 1234", "1234"),
    ("connecting to postgresql://eduwallet:s3cret@db.internal/issuer", "s3cret"),
    ("learner wilhelmina.jansen@example.edu logged in", "wilhelmina.jansen"),
    ("offer /oid4vci/offers/Zt4mQ9xKpL2vR8sW1nB6cY3dF7gH0jE5aU served", "Zt4mQ9xKpL2vR8sW1nB6cY3dF7gH0jE5aU"),
    ("code hash 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "9f86d081884c7d65"),
])
def test_scrub_masks_secrets(text: str, secret: str) -> None:
    cleaned = scrub(text)
    assert secret not in cleaned
    assert REDACTED in cleaned


@pytest.mark.parametrize("text", [
    "GET /admin/institutions/7/keys 200",
    "did:web:localhost%3A8001:institutions:1#key-2",
    "protocol error invalid_grant: the pre-authorized code was already used",
    "deleted 3 presentation results older than 30 days",
    "webhook for request 42: attempt 2 failed: connection refused",
    "no master key configured for issuer: generated one in /srv/eduwallet/var/issuer-master.key",
    "request 5f0c2a7e9b1d4c3a8e6f0b2d4a6c8e0f took 12.5 ms",  # our own request ids (uuid4 hex) stay readable
])
def test_scrub_keeps_ordinary_text(text: str) -> None:
    assert scrub(text) == text


@pytest.mark.integration
def test_service_log_file_is_json_with_request_ids(tmp_path: Path, jwt: str) -> None:
    # Production sets the master key (docs/deploy.md); a generated one is announced before logging is set up.
    env = {"EDUWALLET_ISSUER_MASTER_KEY": MasterKey.generate_text()}
    with running_service("issuer", tmp_path, env=env) as issuer, httpx.Client(base_url=issuer.url) as http:
        assert http.get("/healthz", params={"tx_code": PIN},
                        headers={"X-Request-ID": "journey-1"}).headers["x-request-id"] == "journey-1"
        assert http.get("/readyz").status_code == 200
        assert http.get("/nope").status_code == 404
        assert http.post("/admin/institutions", headers={"Authorization": f"Bearer {jwt}"},
                         json={"name": GIVEN_NAME, "password": PASSWORD}).status_code == 401
        http.post("/oid4vci/token", data={"grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
                                          "pre-authorized_code": PRE_AUTHORIZED_CODE, "tx_code": PIN})
        assert http.get("/metrics").status_code == 200
    text = issuer.log()
    lines = log_lines(text)
    assert all(line["service"] == "issuer" for line in lines)
    requests = access_lines(lines)
    assert len(requests) >= 6
    for line in requests:
        assert line["request_id"] and line["method"] and "?" not in line["path"]
        assert isinstance(line["status"], int) and isinstance(line["duration_ms"], float)
    assert [line["path"] for line in requests if line["request_id"] == "journey-1"] == ["/healthz"]
    assert {"/readyz", "/nope", "/admin/institutions", "/oid4vci/token", "/metrics"} <= {r["path"] for r in requests}
    for secret in (PIN, PASSWORD, PRE_AUTHORIZED_CODE, GIVEN_NAME, jwt.split(".")[1]):
        assert secret not in text
