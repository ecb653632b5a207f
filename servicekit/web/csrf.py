"""Cross-site request forgery protection for page forms: a signed token bound to the page session.

OWASP CSRF Prevention Cheat Sheet, "Signed Double-Submit Cookie":
https://cheatsheetseries.owasp.org/cheatsheets/Cross-Site_Request_Forgery_Prevention_Cheat_Sheet.html

Every form carries `csrf_token` = `<nonce>.<HMAC-SHA256(secret, session id, nonce)>`; the session id
travels in the HttpOnly page-session cookie. A request is accepted only when the token's MAC matches
the session id in the cookie, so a forged form (another site cannot read the token) or a planted
cookie (an attacker cannot compute the MAC without the service's secret) is refused. Requests a
browser marks `Sec-Fetch-Site: cross-site` are refused outright.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from vc.encoding import b64url_encode

__all__ = ["CSRF_FIELD", "CSRF_HEADER", "CsrfRejected", "create_csrf_token", "verify_csrf_token"]

#: The form field (and, for scripts, the header) that carries the token.
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_MAX_TOKEN = 200


class CsrfRejected(Exception):  # noqa: N818 - named for what happened, like the spec errors
    """A state-changing page request without a valid CSRF token; answered with a 403 page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _mac(secret: bytes, session_id: str, nonce: str) -> str:
    message = b"eduwallet-csrf\x00" + session_id.encode() + b"\x00" + nonce.encode()
    return b64url_encode(hmac.new(secret, message, hashlib.sha256).digest())


def create_csrf_token(secret: bytes, session_id: str) -> str:
    """A fresh token for one rendered form, valid for as long as the page session lasts."""
    nonce = secrets.token_urlsafe(16)
    return f"{nonce}.{_mac(secret, session_id, nonce)}"


def verify_csrf_token(secret: bytes, session_id: str | None, token: str | None) -> None:
    """Raise `CsrfRejected` unless `token` was made by `create_csrf_token` for this `session_id`."""
    if not session_id:
        raise CsrfRejected("no page session cookie")
    if not token or len(token) > _MAX_TOKEN or token.count(".") != 1:
        raise CsrfRejected("no CSRF token in the form")
    nonce, mac = token.split(".")
    if not hmac.compare_digest(mac.encode(), _mac(secret, session_id, nonce).encode()):
        raise CsrfRejected("the CSRF token does not belong to this session")
