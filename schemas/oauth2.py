"""OAuth 2.0 error responses (RFC 6749 §5.2, RFC 6750 §3.1) as exceptions.

https://www.rfc-editor.org/rfc/rfc6749#section-5.2

`ProtocolError` is the base of every protocol error this project answers with.
Each subclass names the spec's error code; one handler per service writes
`{"error": code, "error_description": ...}` with the right HTTP status.
The description is public: keep internals out of it (`internal` is for logs).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

__all__ = [
    "AccessDenied",
    "DpopProofRefused",
    "InvalidClient",
    "InvalidDpopProof",
    "InvalidGrant",
    "InvalidRequest",
    "InvalidScope",
    "InvalidToken",
    "NotFound",
    "ProtocolError",
    "ResourceUseDpopNonce",
    "UnauthorizedClient",
    "UnsupportedGrantType",
    "UseDpopNonce",
]

# RFC 6749 §5.2: error_description is ASCII %x20-21 / %x23-5B / %x5D-7E.
_ALLOWED_DESCRIPTION = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")


class ProtocolError(Exception):
    """An error answered to the other party with a spec error code."""

    error: ClassVar[str] = "server_error"
    status_code: ClassVar[int] = 400

    def __init__(self, description: str | None = None, *, internal: str | None = None) -> None:
        self.description = _ALLOWED_DESCRIPTION.sub("", description)[:500] if description else None
        self.internal = internal
        super().__init__(description or self.error)

    def body(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body

    def headers(self) -> dict[str, str]:
        return {"Cache-Control": "no-store"}


class InvalidRequest(ProtocolError):
    """The request is missing a required parameter, includes an unsupported value, or is otherwise malformed."""

    error = "invalid_request"


class InvalidClient(ProtocolError):
    """Client authentication failed."""

    error = "invalid_client"
    status_code = 401


class InvalidGrant(ProtocolError):
    """The grant (code, pre-authorized code, PIN) is invalid, expired, revoked or already used."""

    error = "invalid_grant"


class UnauthorizedClient(ProtocolError):
    error = "unauthorized_client"


class UnsupportedGrantType(ProtocolError):
    error = "unsupported_grant_type"


class InvalidScope(ProtocolError):
    error = "invalid_scope"


class AccessDenied(ProtocolError):
    """The resource owner or server denied the request."""

    error = "access_denied"
    status_code = 403


class InvalidToken(ProtocolError):
    """RFC 6750 §3.1: the access token is expired, revoked, malformed or invalid. The challenge names the
    scheme the token goes with: `Bearer`, or `DPoP` with the accepted proof algorithms (RFC 9449 §7.1)."""

    error = "invalid_token"
    status_code = 401

    def __init__(self, description: str | None = None, *, internal: str | None = None,
                 dpop_algorithms: Sequence[str] = ()) -> None:
        super().__init__(description, internal=internal)
        self.dpop_algorithms = tuple(dpop_algorithms)

    def headers(self) -> dict[str, str]:
        value = f'{"DPoP" if self.dpop_algorithms else "Bearer"} error="{self.error}"'
        if self.description:
            value += f', error_description="{self.description}"'
        if self.dpop_algorithms:
            value += f', algs="{" ".join(self.dpop_algorithms)}"'
        return {**super().headers(), "WWW-Authenticate": value}


class InvalidDpopProof(ProtocolError):
    """RFC 9449 §5: the DPoP proof of a token request is missing or invalid (400)."""

    error = "invalid_dpop_proof"


class DpopProofRefused(InvalidToken):
    """RFC 9449 §7.1: the DPoP proof that came with an access token is missing or invalid (401, `DPoP`)."""

    error = "invalid_dpop_proof"


class _UseDpopNonce(ProtocolError):
    """`use_dpop_nonce` with the nonce to use in `DPoP-Nonce` (RFC 9449 §8, §9); the other keyword arguments go
    to the error it is combined with."""

    error = "use_dpop_nonce"

    def __init__(self, description: str | None = None, *, nonce: str, **kwargs: Any) -> None:
        super().__init__(description, **kwargs)
        self.nonce = nonce

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "DPoP-Nonce": self.nonce}


class UseDpopNonce(_UseDpopNonce, InvalidDpopProof):
    """RFC 9449 §8: the token endpoint wants a DPoP proof with the nonce it sends (400)."""


class ResourceUseDpopNonce(_UseDpopNonce, DpopProofRefused):
    """RFC 9449 §9: a resource endpoint wants a DPoP proof with the nonce it sends (401, `DPoP` challenge)."""


class NotFound(ProtocolError):
    """Not an OAuth code: the addressed resource does not exist (404)."""

    error = "not_found"
    status_code = 404
