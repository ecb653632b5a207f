"""Prometheus metrics at /metrics: request counts by route template, latencies, domain counters, many workers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from servicekit.app import add_service_basics
from servicekit.database import make_engine
from servicekit.metrics import credential_issued, credential_received, presentation_verified
from tests.servers import running_service


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called `name` whose labels include `labels` (0 when there is none)."""
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == name and labels.items() <= s.labels.items())


def label_values(text: str, name: str, label: str) -> set[str]:
    return {s.labels[label] for family in text_string_to_metric_families(text) for s in family.samples
            if s.name == name and label in s.labels}


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    app = FastAPI(title="eduwallet metricstest")
    add_service_basics(app, engine=make_engine(f"sqlite:///{tmp_path / 'x.db'}"), max_body_bytes=1000)

    @app.get("/offers/{reference}")
    def offer(reference: str) -> dict[str, str]:
        return {"reference": reference}

    @app.post("/offers/{reference}")
    def post_offer(reference: str) -> None:
        return None

    return TestClient(app)


def metrics(client: TestClient) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def test_requests_are_counted_by_route_template(client: TestClient) -> None:
    labels = {"service": "metricstest", "method": "GET", "route": "/offers/{reference}", "status": "200"}
    before = sample(metrics(client), "eduwallet_http_requests_total", **labels)
    for reference in ("a1", "b2", "c3"):
        assert client.get(f"/offers/{reference}").status_code == 200
    text = metrics(client)
    assert sample(text, "eduwallet_http_requests_total", **labels) == before + 3
    routes = label_values(text, "eduwallet_http_requests_total", "route")
    assert "/offers/{reference}" in routes and not any(r.startswith("/offers/") and "{" not in r for r in routes)


def test_unknown_paths_share_one_label(client: TestClient) -> None:
    labels = {"service": "metricstest", "route": "unmatched", "status": "404"}
    before = sample(metrics(client), "eduwallet_http_requests_total", **labels)
    for n in range(5):
        assert client.get(f"/scan/{n}/wp-admin.php").status_code == 404
    text = metrics(client)
    assert sample(text, "eduwallet_http_requests_total", **labels) == before + 5
    assert not any("wp-admin" in r for r in label_values(text, "eduwallet_http_requests_total", "route"))


def test_body_limit_413_is_counted_under_its_route(client: TestClient) -> None:
    labels = {"method": "POST", "route": "/offers/{reference}", "status": "413"}
    before = sample(metrics(client), "eduwallet_http_requests_total", **labels)
    assert client.post("/offers/x", content=b"x" * 5000).status_code == 413
    assert sample(metrics(client), "eduwallet_http_requests_total", **labels) == before + 1


def test_latency_histogram(client: TestClient) -> None:
    labels = {"service": "metricstest", "method": "GET", "route": "/offers/{reference}"}
    before = sample(metrics(client), "eduwallet_http_request_duration_seconds_count", **labels)
    client.get("/offers/z9")
    text = metrics(client)
    assert sample(text, "eduwallet_http_request_duration_seconds_count", **labels) == before + 1
    assert sample(text, "eduwallet_http_request_duration_seconds_bucket", le="+Inf", **labels) == before + 1
    assert sample(text, "eduwallet_http_request_duration_seconds_sum", **labels) > 0


def test_domain_counters(client: TestClient) -> None:
    text = metrics(client)
    before = {
        "jwt": sample(text, "eduwallet_credentials_issued_total", format="jwt_vc_json"),
        "sd": sample(text, "eduwallet_credentials_issued_total", format="dc+sd-jwt"),
        "verified": sample(text, "eduwallet_presentations_verified_total", verdict="verified"),
        "rejected": sample(text, "eduwallet_presentations_verified_total", verdict="rejected"),
        "received": sample(text, "eduwallet_credentials_received_total", format="dc+sd-jwt"),
    }
    credential_issued("jwt_vc_json")
    credential_issued("dc+sd-jwt", 3)
    presentation_verified("verified")
    presentation_verified("rejected")
    presentation_verified("rejected")
    credential_received("dc+sd-jwt", 2)
    text = metrics(client)
    assert sample(text, "eduwallet_credentials_issued_total", format="jwt_vc_json") == before["jwt"] + 1
    assert sample(text, "eduwallet_credentials_issued_total", format="dc+sd-jwt") == before["sd"] + 3
    assert sample(text, "eduwallet_presentations_verified_total", verdict="verified") == before["verified"] + 1
    assert sample(text, "eduwallet_presentations_verified_total", verdict="rejected") == before["rejected"] + 2
    assert sample(text, "eduwallet_credentials_received_total", format="dc+sd-jwt") == before["received"] + 2


def test_label_values_from_outside_are_bounded(client: TestClient) -> None:
    before = sample(metrics(client), "eduwallet_credentials_issued_total", format="other")
    credential_issued("x" * 500)
    credential_issued('jwt_vc_json"} 1\nfake_metric{a="')
    text = metrics(client)
    assert sample(text, "eduwallet_credentials_issued_total", format="other") == before + 2
    assert "fake_metric" not in text


@pytest.mark.integration
def test_counts_add_up_across_worker_processes(tmp_path: Path) -> None:
    prometheus_dir = tmp_path / "prometheus"
    env = {"PROMETHEUS_MULTIPROC_DIR": str(prometheus_dir)}
    with running_service("verifier", tmp_path, env=env, workers=2) as verifier:
        # A new connection per request, so the kernel spreads them over both workers.
        for _ in range(30):
            with httpx.Client() as http:
                assert http.get(verifier.url + "/readyz").status_code == 200
        with httpx.Client() as http:
            text = http.get(verifier.url + "/metrics").text
        files = sorted(p.name for p in (prometheus_dir / "verifier").iterdir())
    assert sample(text, "eduwallet_http_requests_total", service="verifier", route="/readyz", status="200") == 30
    assert sample(text, "eduwallet_http_request_duration_seconds_count", route="/readyz") == 30
    # Each worker writes its own files (named by process id) under the service's own subdirectory.
    assert files and all(name.endswith(".db") for name in files)
