"""Prometheus metrics: HTTP requests and latencies, credentials issued and received, presentations verified.

Exposition format: https://prometheus.io/docs/instrumenting/exposition_formats/ ; served at `GET /metrics`
by every service (`add_service_basics`). The series:

- `eduwallet_http_requests_total{service,method,route,status}`, where `route` is the route template
  (`/oid4vci/offers/{reference}`), never the raw path, so outside input cannot grow the number of series;
  `unmatched` for a path no route knows;
- `eduwallet_http_request_duration_seconds{service,method,route}`, a histogram;
- `eduwallet_credentials_issued_total{format}` (`credential_issued`, by the issuer),
  `eduwallet_credentials_received_total{format}` (`credential_received`, by the wallet),
  `eduwallet_presentations_verified_total{verdict}` (`presentation_verified`, by the verifier).

Several worker processes (`uvicorn --workers N`): set `PROMETHEUS_MULTIPROC_DIR` in the environment
before the service starts. prometheus_client then keeps each process's values in files there and
`/metrics` adds up all of them (its multiprocess mode, https://prometheus.github.io/client_python/multiprocess/).
Each service keeps its files in its own subdirectory `<dir>/<service>` (so the three services of
`eduwallet serve` can share one setting); empty the directory before the service starts, never while
it runs. Without the variable the values live in the process, which is right for one worker.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.logging import request_method

__all__ = [
    "CONTENT_TYPE_LATEST",
    "MULTIPROC_DIR_ENV",
    "PrometheusMiddleware",
    "configure_metrics",
    "credential_issued",
    "credential_received",
    "exposition",
    "presentation_verified",
]

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: What the operator set, read once: `configure_metrics` points the variable at this service's subdirectory.
_MULTIPROC_BASE = os.environ.get(MULTIPROC_DIR_ENV)

HTTP_REQUESTS = Counter("eduwallet_http_requests_total", "HTTP requests answered, by route template and status.",
                        ["service", "method", "route", "status"])
HTTP_REQUEST_DURATION = Histogram("eduwallet_http_request_duration_seconds",
                                  "Time from receiving a request to the end of its response.",
                                  ["service", "method", "route"])
CREDENTIALS_ISSUED = Counter("eduwallet_credentials_issued_total", "Credentials issued, by format.", ["format"])
CREDENTIALS_RECEIVED = Counter("eduwallet_credentials_received_total", "Credentials stored by the wallet, by format.",
                               ["format"])
PRESENTATIONS_VERIFIED = Counter("eduwallet_presentations_verified_total",
                                 "Presentations answered to the verifier, by verdict.", ["verdict"])

_LABEL = re.compile(r"[A-Za-z0-9_.:+-]{1,64}")


def _label(value: str) -> str:
    """A label value as given when it is a short plain token, else `other` (a label must not carry outside text)."""
    return value if _LABEL.fullmatch(value) else "other"


def credential_issued(credential_format: str, count: int = 1) -> None:
    """Count credentials issued in `credential_format` (`jwt_vc_json`, `dc+sd-jwt`)."""
    CREDENTIALS_ISSUED.labels(format=_label(credential_format)).inc(count)


def credential_received(credential_format: str, count: int = 1) -> None:
    """Count credentials the wallet received and stored, by format."""
    CREDENTIALS_RECEIVED.labels(format=_label(credential_format)).inc(count)


def presentation_verified(verdict: str) -> None:
    """Count one presentation response by its verdict (`verified`, `rejected`, ...)."""
    PRESENTATIONS_VERIFIED.labels(verdict=_label(verdict)).inc()


def multiprocess_dir() -> Path | None:
    """This process's multiprocess directory, when prometheus_client runs in multiprocess mode."""
    value = os.environ.get(MULTIPROC_DIR_ENV)
    return Path(value) if value else None


def configure_metrics(service: str) -> None:
    """In multiprocess mode, keep this service's files in `<dir>/<service>` (created if missing)."""
    if not _MULTIPROC_BASE:
        return
    directory = Path(_MULTIPROC_BASE) / service
    directory.mkdir(parents=True, exist_ok=True)
    # prometheus_client reads the variable when a process first writes a value, so this must happen before that.
    os.environ[MULTIPROC_DIR_ENV] = str(directory)


def exposition() -> bytes:
    """The text exposition of every metric: this process's, or all workers' in multiprocess mode."""
    directory = multiprocess_dir()
    if directory is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def route_template(scope: Scope, router: Router) -> str:
    """The template of the route that handled (or would handle) the request, `unmatched` when none."""
    route = scope.get("route")
    if route is None:  # answered before routing (413 from the body limit): match as the router would
        for candidate in router.routes:
            match, _child = candidate.matches(scope)
            if match != Match.NONE:
                route = candidate
                break
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) else "unmatched"


class PrometheusMiddleware:
    """Count each HTTP request and time it, labelled by route template, method and status."""

    def __init__(self, app: ASGIApp, *, service: str, router: Router) -> None:
        self.app = app
        self.service = service
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            method = request_method(scope)
            route = route_template(scope, self.router)
            HTTP_REQUESTS.labels(service=self.service, method=method, route=route, status=str(status)).inc()
            HTTP_REQUEST_DURATION.labels(service=self.service, method=method, route=route).observe(
                time.perf_counter() - started)
