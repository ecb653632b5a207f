"""Structured logs: one JSON object per line on stderr, a request id per request, secrets scrubbed.

Every line has `time` (UTC, ISO 8601), `level`, `logger`, `message` and `service`; a line
logged while a request is handled also has that request's `request_id`, `method` and `path`
(never the query string), and the access line written when it ends adds `status` and
`duration_ms`. `configure_logging` sets this up once per process; `add_service_basics` calls
it, and installs `RequestLogging`, so every service gets it from its `create_app`.

The request id comes from an incoming `X-Request-ID` header when that is a short, plain token
(letters, digits, `.`, `_`, `:`, `-`; at most 128 characters; nothing `scrub` would mask),
otherwise a new random one is made. It is echoed in the response's `X-Request-ID` and bound,
through a context variable, to every line logged while the request runs.

Hygiene: request bodies, query strings and headers are never logged. As a second line of
defence, `ScrubFilter` masks what looks like a secret in every message and traceback
(`scrub`): JWTs and SD-JWTs (`eyJ...`, with their `~` disclosures), `Bearer`/`Basic`
credentials, the values of `tx_code=`, `pre-authorized_code=`, `password=`, `access_token`...
in form, query and JSON notation, passwords in URLs, e-mail addresses, and long random tokens.
Uvicorn's own access log (which prints query strings) is switched off; ours replaces it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "REQUEST_ID_HEADER",
    "JsonFormatter",
    "RequestLogging",
    "ScrubFilter",
    "configure_logging",
    "current_request_id",
    "request_id_from",
    "request_method",
    "scrub",
]

REQUEST_ID_HEADER = "X-Request-ID"
REDACTED = "[redacted]"

access_log = logging.getLogger("eduwallet.access")

# --- scrubbing -------------------------------------------------------------------------------------------------------

#: A JWS/JWE compact serialization (or a lone base64url JSON object) and, for an SD-JWT, its `~` disclosures
#: and KB-JWT; `%7E` is `~` in a URL-encoded string.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*)*(?:(?:~|%7[Ee])[A-Za-z0-9_.-]*)*")
#: An SD-JWT disclosure on its own: base64url of `["<salt>", ...`.
_DISCLOSURE = re.compile(r"WyJ[A-Za-z0-9_-]{8,}")
_AUTH_SCHEME = re.compile(r"\b(Bearer|Basic|DPoP)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_SECRET_NAMES = (
    r"tx_code|pre[-_]authorized_code|authorization_code|code_verifier|(?:new_|current_|old_)?password|passwd|pin"
    r"|(?:access|refresh|id|vp)_token|token|client_secret|webhook_secret|secret|api_key|response_code"
    r"|authorization|cookie|set-cookie"
)
#: `name=value` (form, query, `%3D` when URL-encoded), `"name": "value"` (JSON), `'name': 'value'` (repr).
_KEY_VALUE = re.compile(
    rf"""(?P<key>(?<![A-Za-z0-9_-])(?:{_SECRET_NAMES})["']?\s*(?:=|:|%3[Dd])\s*)"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s&"',;}\]]+)""",
    re.IGNORECASE,
)
_URL_USERINFO = re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+@")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
#: Candidates for random tokens (`secrets.token_urlsafe`, API keys, offer references); see `_mask_random`.
_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{20,}(?![A-Za-z0-9_-])")
_LONG_HEX = re.compile(r"(?<![A-Za-z0-9_-])[0-9a-fA-F]{40,}(?![A-Za-z0-9_-])")


def _mask_value(match: re.Match[str]) -> str:
    value = match["value"]
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{match['key']}{quote}{REDACTED}{quote}"


def _mask_random(match: re.Match[str]) -> str:
    """Mask a long word that mixes upper case, lower case and digits, as random tokens do (words and names don't)."""
    word = match[0]
    looks_random = any(c.isupper() for c in word) and any(c.islower() for c in word) and any(c.isdigit() for c in word)
    return REDACTED if looks_random else word


def scrub(text: str) -> str:
    """`text` with everything that looks like a credential, token, PIN, password or e-mail address masked."""
    text = _JWT.sub(REDACTED, text)
    text = _DISCLOSURE.sub(REDACTED, text)
    text = _AUTH_SCHEME.sub(lambda m: f"{m[1]} {REDACTED}", text)
    text = _KEY_VALUE.sub(_mask_value, text)
    text = _URL_USERINFO.sub(REDACTED + "@", text)
    text = _EMAIL.sub(REDACTED, text)
    text = _LONG_HEX.sub(REDACTED, text)
    return _TOKEN.sub(_mask_random, text)


class ScrubFilter(logging.Filter):
    """Rewrites each record's message, traceback and stack with `scrub` before any handler formats it."""

    _plain = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not break the caller
            message = f"{record.msg!r} (unformattable arguments)"
        record.msg, record.args = scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._plain.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


# --- request context -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    method: str
    path: str


_request: ContextVar[RequestContext | None] = ContextVar("eduwallet_request", default=None)
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def request_method(scope: Scope) -> str:
    """The request's method, or `OTHER` for a method no route uses (it is a log field and a metric label)."""
    method = scope["method"]
    return method if method in _METHODS else "OTHER"


def current_request_id() -> str | None:
    """The id of the request being handled in this context, if any."""
    context = _request.get()
    return context.request_id if context else None


def request_id_from(header: str | None) -> str:
    """The caller's `X-Request-ID` when it is a sane short token that carries nothing secret, else a new id."""
    if header and _SANE_REQUEST_ID.fullmatch(header) and scrub(header) == header:
        return header
    return uuid.uuid4().hex


# --- formatting and set-up -------------------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per record; the request context is read from the context the record was logged in."""

    #: Attributes a record may carry (`extra=`) that become fields of the line.
    FIELDS = ("status", "duration_ms")

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": self.service,
        }
        context = _request.get()
        if context is not None:
            entry.update(request_id=context.request_id, method=context.method, path=context.path)
        for name in self.FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, default=str)


class JsonLogHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever `sys.stderr` is at the time of writing (so test capture works too)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:  # StreamHandler.setStream; there is nothing to keep
        pass


def configure_logging(service: str, *, level: int | str = logging.INFO) -> None:
    """JSON lines on stderr for every logger of this process (uvicorn's included); idempotent."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, JsonLogHandler)), None)
    if handler is None:
        handler = JsonLogHandler()
        handler.addFilter(ScrubFilter())
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter(service))
    root.setLevel(level)
    # Uvicorn's server and error messages go through our handler; its access log (with query strings) goes nowhere.
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers.clear()
    uvicorn_access.propagate = False
    uvicorn_access.disabled = True
    # httpx logs every request URL at INFO, query string included.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)


# --- the middleware --------------------------------------------------------------------------------------------------


class RequestLogging:
    """Give each request an id (echoed in `X-Request-ID`), bind it to its log lines, write one access line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        request_id = request_id_from(headers.get(REQUEST_ID_HEADER.lower()))
        method = request_method(scope)
        # Each request runs in its own task (uvicorn, Starlette's test client), so the value set here is seen by
        # everything the request does, uvicorn's report of an unhandled exception included, and by nothing else.
        path = scrub(scope["path"])
        _request.set(RequestContext(request_id, method, path))
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            access_log.log(logging.ERROR if status >= 500 else logging.INFO, "%s %s %d", method, path, status,
                           extra={"status": status, "duration_ms": duration_ms})
