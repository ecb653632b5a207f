"""The shell of each service's FastAPI app: health, metrics, JSON logs, errors as protocol errors, limits, headers."""

from __future__ import annotations

import inspect
import logging
import os
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schemas.oauth2 import ProtocolError
from servicekit.logging import RequestLogging, configure_logging
from servicekit.metrics import CONTENT_TYPE_LATEST, PrometheusMiddleware, configure_metrics, exposition

__all__ = ["BodySizeLimit", "ErrorBody", "SecurityHeaders", "TemporarilyUnavailable", "add_service_basics",
           "error_responses"]

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
}
#: Starlette's form parsers refuse a field or part over its size limit with a 400 naming it: that is a 413 too.
_PART_TOO_LARGE = re.compile(r"^(Field|Part) exceeded maximum size")


class TemporarilyUnavailable(ProtocolError):
    """Not a fault of the request: the database cannot be reached, or it gave up on the transaction (deadlock,
    serialization failure, lock or pool timeout). The transaction was rolled back, nothing half-stored; the
    client may send the same request again (`Retry-After`, RFC 9110 §10.2.3)."""

    error = "temporarily_unavailable"
    status_code = 503
    retry_after_seconds = 5

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "Retry-After": str(self.retry_after_seconds)}


class ErrorBody(BaseModel):
    """Every error answer: an RFC 6749 §5.2 error code and an optional public description."""

    error: str
    error_description: str | None = None


def error_responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a router or route: these statuses answer an `ErrorBody` (documented in /openapi.json)."""
    return {code: {"model": ErrorBody, "description": HTTPStatus(code).phrase} for code in status_codes}


def _document_shell_errors(document: dict[str, Any]) -> None:
    """Make /openapi.json tell what this shell answers: invalid parameters or bodies are 400 `invalid_request`
    (FastAPI documents 422 for them), and a body over the limit is 413 on every operation that takes one."""
    reference = {"$ref": "#/components/schemas/ErrorBody"}
    document.setdefault("components", {}).setdefault("schemas", {})["ErrorBody"] = ErrorBody.model_json_schema()
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            if "HTTPValidationError" in str(responses.get("422")):
                del responses["422"]
            if operation.get("parameters") or operation.get("requestBody"):
                responses.setdefault("400", {"description": "Bad Request",
                                             "content": {"application/json": {"schema": reference}}})
            if method in ("post", "put", "patch"):
                responses.setdefault("413", {"description": "Content Too Large",
                                             "content": {"application/json": {"schema": reference}}})
            responses.setdefault("503", {"description": "Service Unavailable (the database; try again later)",
                                         "content": {"application/json": {"schema": reference}}})
    schemas = document["components"]["schemas"]
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


class BodySizeLimit:
    """Answer 413 when a request body is larger than `max_bytes` (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await _too_large(send)
                return
        received = 0
        answered = False

        async def limited_receive() -> Message:
            nonlocal received, answered
            if answered:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Answer 413 now; the app sees a disconnected client and whatever it sends is dropped.
                    answered = True
                    await _too_large(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not answered:
                await send(message)

        await self.app(scope, limited_receive, guarded_send)


class SecurityHeaders:
    """Add `SECURITY_HEADERS` to every response that does not set them itself (plain ASGI: no body buffering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _too_large(send: Send) -> None:
    body = b'{"error":"invalid_request","error_description":"request body too large"}'
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def service_name(app: FastAPI) -> str:
    """`issuer` for an app titled "eduwallet issuer"."""
    return app.title.removeprefix("eduwallet ").strip().lower().replace(" ", "-") or "service"


def add_service_basics(app: FastAPI, *, engine: Engine, max_body_bytes: int, service: str | None = None,
                       log_level: int | str | None = None) -> None:
    """Health endpoints, `/metrics`, JSON logs with request ids, protocol-error handlers, body limit, security headers.

    `service` names the service in log lines and metrics (by default from the app's title);
    `log_level` defaults to `EDUWALLET_LOG_LEVEL` from the environment, else INFO.
    """
    service = service or service_name(app)
    configure_logging(service, level=log_level or os.environ.get("EDUWALLET_LOG_LEVEL", "INFO").upper())
    configure_metrics(service)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> JSONResponse:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any database failure means "not ready"
            log.exception("readiness check failed")
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(exposition(), media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})

    @app.exception_handler(ProtocolError)
    async def protocol_error(_request: Request, exc: ProtocolError) -> JSONResponse:
        if exc.internal:
            log.info("protocol error %s: %s", exc.error, exc.internal)
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers())

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        description = f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg", "invalid request"))
        return JSONResponse({"error": "invalid_request", "error_description": description[:300]}, status_code=400,
                            headers={"Cache-Control": "no-store"})

    @app.exception_handler(DataError)
    async def data_error(_request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value taken from the request (PostgreSQL: a NUL character, a string longer
        # than its column, a number out of range): bad input, not a server fault. The value is never logged.
        log.warning("the database refused a value of the request: %s", type(exc.orig).__name__)
        body = {"error": "invalid_request", "error_description": "a value in the request cannot be stored"}
        return JSONResponse(body, status_code=400, headers={"Cache-Control": "no-store"})

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    async def database_unavailable(request: Request, exc: Exception) -> Response:
        log.error("database unavailable: %s: %s", type(getattr(exc, "orig", None) or exc).__name__,
                  str(exc).splitlines()[0][:200])
        unavailable = TemporarilyUnavailable("the service cannot use its database just now; nothing was stored; "
                                             "try again in a moment")
        # Looked up now, not at start-up: with pages, browsers get the error page (servicekit.web.pages).
        answer = app.exception_handlers[ProtocolError](request, unavailable)
        return await answer if inspect.isawaitable(answer) else answer

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {401: "invalid_token", 403: "access_denied", 404: "not_found", 405: "invalid_request"}.get(
            exc.status_code, "invalid_request")
        status_code = 413 if exc.status_code == 400 and _PART_TOO_LARGE.match(str(exc.detail)) else exc.status_code
        return JSONResponse({"error": code, "error_description": str(exc.detail)[:300]}, status_code=status_code,
                            headers=getattr(exc, "headers", None))

    generate_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _document_shell_errors(generate_openapi())
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]

    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    # Added last, so outermost: 413s from the body limit are counted and logged too.
    app.add_middleware(PrometheusMiddleware, service=service, router=app.router)
    app.add_middleware(RequestLogging)
