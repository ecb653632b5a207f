"""Fuzzing each service's OpenAPI document with schemathesis, and the request size limit (issue 6).

Every operation of the issuer, wallet and verifier `/openapi.json` gets a bounded number of generated
requests (valid and invalid ones, a fixed derandomized seed) over real HTTP against a uvicorn process,
with the credentials it needs; each answer must pass schemathesis's `not_a_server_error`,
`status_code_conformance`, `content_type_conformance` and `response_schema_conformance` checks:
no 5xx, and the document tells the truth about status codes, media types and bodies.
Every operation in the three documents is fuzzed: none is excluded (none streams its answer; `/metrics`
is not in the documents). Then oversized bodies, announced by Content-Length or streamed without one,
must get 413 from a protocol, an admin and an upload endpoint of each service; and values PostgreSQL
cannot store (a NUL character, a string longer than its column) must be 400s, not 500s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
import schemathesis
from schemathesis.schemas import BaseSchema

from servicekit.settings import ServiceSettings
from tests.servers import POSTGRES_URL, RunningService, running_service, verifier_api_headers

pytestmark = pytest.mark.integration

SERVICES = ("issuer", "wallet", "verifier")
#: schemathesis 4 check names (https://schemathesis.readthedocs.io/en/stable/reference/checks/).
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance"]
#: Generated requests per operation in the fuzzing phase (the examples and coverage phases add their own few).
MAX_EXAMPLES = 20
#: The services' default `max_body_bytes` (`servicekit.settings.ServiceSettings`).
MAX_BODY = ServiceSettings.model_fields["max_body_bytes"].default
PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


@dataclass
class Target:
    service: RunningService
    #: Sent with every generated request (the issuer's admin token, the wallet learner's bearer token, the
    #: verifier's development API key).
    headers: dict[str, str]
    #: (METHOD, path template) -> headers of its own for that operation, made afresh for each request.
    operation_headers: dict[tuple[str, str], Callable[[], dict[str, str]]] = field(default_factory=dict)


def _client(service: RunningService, headers: dict[str, str] | None = None) -> httpx.Client:
    return httpx.Client(base_url=service.url, headers=headers or {}, timeout=30.0)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _learner_headers(wallet: RunningService, username: str) -> dict[str, str]:
    with _client(wallet) as client:
        client.post("/api/v1/learners", json={"username": username, "password": "fuzz-password-1"}).raise_for_status()
        answer = client.post("/api/v1/token", json={"username": username, "password": "fuzz-password-1"})
        answer.raise_for_status()
    return _bearer(answer.json()["access_token"])


def _seed_issuer(issuer: RunningService, headers: dict[str, str]) -> str:
    """An institution, a badge class and an award (so small ids in paths hit real rows); returns the access
    token of the award's redeemed offer, so the credential and notification endpoints are fuzzed past it."""
    with _client(issuer, headers) as client:
        institution = client.post("/admin/institutions", json={"name": "Fuzz University"})
        institution.raise_for_status()
        badge = client.post("/admin/badge-classes", json={"institution_id": institution.json()["id"],
                                                          "name": "Fuzzing 101", "criteria_narrative": "Fuzz."})
        badge.raise_for_status()
        award = client.post(f"/admin/badge-classes/{badge.json()['id']}/awards",
                            json={"name": "Ada Learner", "email": "ada@example.org"})
        award.raise_for_status()
        offer = client.get(award.json()["credential_offer_uri"])
        offer.raise_for_status()
        code = offer.json()["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]
        token = client.post("/oid4vci/token", data={"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": code})
        token.raise_for_status()
    return str(token.json()["access_token"])


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with running_service("issuer", tmp_path_factory.mktemp("fuzz-issuer")) as service:
        admin = _bearer((service.var_dir / "issuer-admin.token").read_text().strip())
        access = _bearer(_seed_issuer(service, admin))
        yield Target(service, admin, {("POST", "/oid4vci/credential"): lambda: access,
                                      ("POST", "/oid4vci/notification"): lambda: access})


@pytest.fixture(scope="module")
def wallet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with running_service("wallet", tmp_path_factory.mktemp("fuzz-wallet")) as service:
        spent = iter(range(1_000_000))

        def fresh_learner() -> dict[str, str]:
            return _learner_headers(service, f"fuzz-spent-{next(spent)}")

        # Logging out and deleting the account end the token they are called with: each of their requests
        # gets a learner of its own, so every other operation keeps being fuzzed as a logged-in learner.
        yield Target(service, _learner_headers(service, "fuzz-learner"),
                     {("DELETE", "/api/v1/token"): fresh_learner, ("DELETE", "/api/v1/me"): fresh_learner})


@pytest.fixture(scope="module")
def verifier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    # The development (admin) API key reaches every keyed operation. Key ids are random, so a fuzzed
    # `DELETE /api/api-keys/{key_id}` cannot revoke it (nor may the last admin key be revoked).
    with running_service("verifier", tmp_path_factory.mktemp("fuzz-verifier")) as service:
        yield Target(service, verifier_api_headers(service))


@pytest.fixture(scope="module", params=SERVICES)
def target(request: pytest.FixtureRequest) -> Target:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def api_schema(target: Target) -> BaseSchema:
    schema = schemathesis.openapi.from_url(target.service.url + "/openapi.json")
    # Real servers on a shared machine: Hypothesis's "too slow" health check would judge the machine, not the API.
    schema.config.update(base_url=target.service.url, headers=target.headers,
                         suppress_health_check=[schemathesis.config.HealthCheck.too_slow])
    schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True, database="none")
    schema.config.checks.update(included_check_names=CHECKS)
    return schema


api = schemathesis.pytest.from_fixture("api_schema")


@api.parametrize()
def test_openapi_conformance(case: schemathesis.Case, target: Target) -> None:
    own_headers = target.operation_headers.get((case.method.upper(), case.path))
    case.call_and_validate(headers=own_headers() if own_headers else None, timeout=30)


# -- request size limits --------------------------------------------------------------------------------------


def _chunks(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    """The body as a stream: sent chunked, with no Content-Length to judge it by."""
    for start in range(0, len(body), size):
        yield body[start:start + size]


def _oversized(content_type: str | None, multipart_field: str | None) -> tuple[str, bytes]:
    """A body just over the limit: one huge field or file, as an oversized request usually is."""
    if multipart_field is None:
        assert content_type is not None
        prefix = b'{"data": "' if content_type == "application/json" else b"vp_token="
        return content_type, prefix + b"a" * (MAX_BODY + 1 - len(prefix))
    boundary = "fuzz-boundary-7d1f"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{multipart_field}"; filename="big.png"\r\n'
            "Content-Type: image/png\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", head + b"\x89PNG" + b"a" * MAX_BODY + tail


#: A protocol, an admin and an upload endpoint of each service: (method, path, content type, multipart field).
#: The issuer's API has no multipart upload; its upload is the bulk award (a roster as JSON).
LIMITED_ENDPOINTS = {
    "issuer": [("POST", "/oid4vci/token", "application/x-www-form-urlencoded", None),
               ("POST", "/oid4vci/credential", "application/json", None),
               ("POST", "/admin/institutions", "application/json", None),
               ("POST", "/admin/badge-classes/1/awards/bulk", "application/json", None)],
    "wallet": [("POST", "/api/v1/offers", "application/json", None),
               ("POST", "/api/v1/backup/restore", "application/json", None),
               ("POST", "/api/v1/offers/qr", None, "image")],
    "verifier": [("POST", "/oid4vp/response", "application/x-www-form-urlencoded", None),
                 ("POST", "/oid4vp/requests/unknown", "application/x-www-form-urlencoded", None),
                 ("POST", "/api/trusted-issuers", "application/json", None),
                 ("POST", "/api/check", None, "file"),
                 ("POST", "/api/check", "application/octet-stream", None)],
}


@pytest.mark.parametrize(("service", "method", "path", "content_type", "multipart_field"), [
    (service, *endpoint) for service, endpoints in LIMITED_ENDPOINTS.items() for endpoint in endpoints])
def test_oversized_bodies_get_413(service: str, method: str, path: str, content_type: str | None,
                                  multipart_field: str | None, request: pytest.FixtureRequest) -> None:
    target: Target = request.getfixturevalue(service)
    content_type, body = _oversized(content_type, multipart_field)
    headers = {**target.headers, **target.operation_headers.get((method, path), dict)(), "Content-Type": content_type}
    # Announced by Content-Length (answered before the body is read), then streamed without one (answered when
    # the limit is crossed). The server closes the connection after a 413 mid-upload: a client per request.
    for content in (body, _chunks(body)):
        with _client(target.service, headers) as client:
            answer = client.request(method, path, content=content)
        assert answer.status_code == 413, answer.text[:300]
        assert answer.json()["error"] == "invalid_request"
        assert answer.headers["content-type"] == "application/json"


@pytest.mark.parametrize(("service", "path"), [
    (service, path) for service, endpoints in LIMITED_ENDPOINTS.items()
    for _method, path, content_type, _field in endpoints if content_type == "application/json"])
def test_a_body_at_the_limit_is_read(service: str, path: str, request: pytest.FixtureRequest) -> None:
    """The limit is exact: a body of `max_body_bytes` is read and judged on its content (here: not JSON)."""
    target: Target = request.getfixturevalue(service)
    _content_type, body = _oversized("application/json", None)
    headers = {**target.headers, **target.operation_headers.get(("POST", path), dict)(),
               "Content-Type": "application/json"}
    with _client(target.service, headers) as client:
        answer = client.post(path, content=body[:MAX_BODY])
    assert answer.status_code == 400, answer.text[:300]
    assert answer.json()["error"] in ("invalid_request", "invalid_credential_request")


# -- values the database refuses -------------------------------------------------------------------------------

#: (service, method, path, JSON body): a NUL character (PostgreSQL text cannot hold one) in a body and in a path.
NUL_REQUESTS = [
    ("issuer", "POST", "/admin/institutions", {"name": "Nul\u0000University"}),
    ("issuer", "POST", "/admin/staff", {"name": "nul\u0000staff", "role": "service_admin"}),
    ("issuer", "GET", "/admin/awards?q=nul%00learner", None),
    ("wallet", "GET", "/api/v1/credentials/nul%00id", None),
    ("verifier", "POST", "/api/trusted-issuers", {"identifier": "did:web:nul\u0000.example"}),
    ("verifier", "GET", "/api/presentation-requests/nul%00id", None),
]
#: Values longer than their database column that only a pattern or a URL type constrained (fixed in the models).
OVERLONG_REQUESTS = [
    ("issuer", "PATCH", "/admin/badge-classes/1", {"language": "en-" + "-".join(["abcdefgh"] * 4)}),
    ("verifier", "POST", "/api/presentation-requests",
     {"preset": "ob3", "webhook_url": "https://example.org/" + "a" * 2000}),
    ("verifier", "POST", "/api/presentation-requests",
     {"preset": "ob3", "redirect_uri": "https://example.org/" + "a" * 2000}),
]


def _send(target: Target, method: str, path: str, body: dict[str, object] | None) -> httpx.Response:
    with _client(target.service, target.headers) as client:
        return client.request(method, path, json=body)


@pytest.mark.parametrize(("service", "method", "path", "body"), NUL_REQUESTS)
def test_nul_characters_never_cause_a_server_error(service: str, method: str, path: str,
                                                   body: dict[str, object] | None,
                                                   request: pytest.FixtureRequest) -> None:
    """SQLite stores a NUL (or finds no such id or learner), PostgreSQL refuses it: a 400 there, never a 500."""
    answer = _send(request.getfixturevalue(service), method, path, body)
    if POSTGRES_URL:
        assert answer.status_code == 400, answer.text[:300]
        assert answer.json()["error_description"] == "a value in the request cannot be stored"
    else:
        assert answer.status_code in (200, 201, 404), answer.text[:300]  # stored, or found nothing


@pytest.mark.parametrize(("service", "method", "path", "body"), OVERLONG_REQUESTS)
def test_values_longer_than_their_column_are_invalid_requests(service: str, method: str, path: str,
                                                              body: dict[str, object],
                                                              request: pytest.FixtureRequest) -> None:
    answer = _send(request.getfixturevalue(service), method, path, body)
    assert answer.status_code == 400, answer.text[:300]
    assert answer.json()["error"] == "invalid_request"
    assert next(iter(body.keys() - {"preset"})) in answer.json()["error_description"]
