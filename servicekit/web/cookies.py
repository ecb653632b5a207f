"""The cookies of a service's pages: the page session, flash messages and the chosen language.

Cookies are HttpOnly, `SameSite=Lax`, `Path=/`, and `Secure` with the `__Host-` name prefix when
the service's public URL is https (RFC 6265bis section 4.1.3.2). Names carry the service name,
because cookies do not tell ports apart and the three services may share a host name.
Only the language cookie is shared by all three services.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from typing import Literal

from starlette.requests import Request
from starlette.responses import Response

from servicekit.web.i18n import LANG_COOKIE
from vc.encoding import b64url_decode, b64url_encode
from vc.errors import VcError

__all__ = ["FlashLevel", "FlashMessage", "PageCookies"]

FlashLevel = Literal["info", "success", "warning", "error"]
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}")
_FLASH_MAX_BYTES = 2000
_LANG_MAX_AGE = 365 * 24 * 3600


@dataclass(frozen=True)
class FlashMessage:
    level: FlashLevel
    text: str


@dataclass(frozen=True)
class PageCookies:
    """Set and read one service's page cookies."""

    service: str
    secure: bool
    secret: bytes

    @property
    def session_name(self) -> str:
        return f"{'__Host-' if self.secure else ''}{self.service}_session"

    @property
    def flash_name(self) -> str:
        return f"{'__Host-' if self.secure else ''}{self.service}_flash"

    def set(self, response: Response, name: str, value: str, *, max_age: int | None = None) -> None:
        """Set a cookie with this service's flags (HttpOnly, SameSite=Lax, Secure on https)."""
        response.set_cookie(name, value, max_age=max_age, path="/", secure=self.secure, httponly=True,
                            samesite="lax")

    def delete(self, response: Response, name: str) -> None:
        response.delete_cookie(name, path="/", secure=self.secure, httponly=True, samesite="lax")

    # The page session: an opaque random id. A service may link it to a login in its database,
    # and must call `new_session` when someone logs in (a fresh id defeats session fixation).

    def session_id(self, request: Request) -> str | None:
        """The session id the browser has after this request (a new one if `new_session` just made it)."""
        fresh = getattr(request.state, "new_session_id", None)
        if fresh:
            return str(fresh)
        return self.cookie_session_id(request)

    def cookie_session_id(self, request: Request) -> str | None:
        """The session id the request came with, as CSRF checks need it."""
        value = request.cookies.get(self.session_name)
        return value if value and _SESSION_ID.fullmatch(value) else None

    def new_session(self, request: Request, response: Response, *, max_age: int | None = None) -> str:
        """A fresh random session id in the cookie; pages rendered for this request already use it."""
        session_id = secrets.token_urlsafe(32)
        request.state.new_session_id = session_id
        self.set(response, self.session_name, session_id, max_age=max_age)
        return session_id

    def ensure_session(self, request: Request) -> str:
        """The session id, minting one (written by `write_new_session`) when the browser has none."""
        session_id = self.session_id(request)
        if session_id is None:
            session_id = request.state.new_session_id = secrets.token_urlsafe(32)
        return session_id

    def write_new_session(self, request: Request, response: Response) -> None:
        """Set the cookie for a session id minted by `ensure_session` during this request."""
        fresh = getattr(request.state, "new_session_id", None)
        if fresh and fresh != self.cookie_session_id(request) and self.session_name not in _set_names(response):
            self.set(response, self.session_name, fresh)

    def end_session(self, response: Response) -> None:
        self.delete(response, self.session_name)

    # Flash messages: shown once on the next page, signed and bound to the session.

    def add_flash(self, request: Request, response: Response, message: FlashMessage) -> None:
        session_id = self.session_id(request) or ""
        pending = [*getattr(request.state, "pending_flashes", []), [message.level, message.text]]
        request.state.pending_flashes = pending
        payload = b64url_encode(json.dumps(pending, ensure_ascii=False).encode())
        if len(payload) > _FLASH_MAX_BYTES:
            return
        self.set(response, self.flash_name, f"{payload}.{self._flash_mac(session_id, payload)}", max_age=300)

    def take_flashes(self, request: Request) -> list[FlashMessage]:
        """The flash messages the request carries (the caller deletes the cookie on its response)."""
        value = request.cookies.get(self.flash_name, "")
        payload, _, mac = value.partition(".")
        session_id = self.session_id(request) or ""
        if not payload or not hmac.compare_digest(mac.encode(), self._flash_mac(session_id, payload).encode()):
            return []
        try:
            items = json.loads(b64url_decode(payload))
        except (VcError, ValueError):
            return []
        return [FlashMessage(level, text) for level, text in items
                if level in ("info", "success", "warning", "error") and isinstance(text, str)]

    def _flash_mac(self, session_id: str, payload: str) -> str:
        message = b"eduwallet-flash\x00" + session_id.encode() + b"\x00" + payload.encode()
        return b64url_encode(hmac.new(self.secret, message, hashlib.sha256).digest())

    # The language: shared by the services, readable by nobody's script but harmless if it were.

    def set_language(self, response: Response, language: str) -> None:
        self.set(response, LANG_COOKIE, language, max_age=_LANG_MAX_AGE)


def _set_names(response: Response) -> set[str]:
    return {value.decode("latin-1").split("=", 1)[0] for name, value in response.raw_headers if name == b"set-cookie"}
