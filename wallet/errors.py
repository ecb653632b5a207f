"""Errors the wallet answers its learners with (the `ProtocolError` shape, wallet-specific codes).

Errors of the protocols themselves (`invalid_request`, `invalid_grant`, `invalid_token`,
`access_denied`, ...) come from `schemas.oauth2`; these add what only the wallet says.
"""

from __future__ import annotations

from schemas.oauth2 import ProtocolError

__all__ = ["Conflict", "CredentialRefused", "PartyError", "RequestRefused"]


class Conflict(ProtocolError):
    """The request clashes with what exists (a username already taken)."""

    error = "invalid_request"
    status_code = 409


class CredentialRefused(ProtocolError):
    """A credential received from an issuer failed the wallet's checks and was not stored."""

    error = "credential_refused"
    status_code = 422


class RequestRefused(ProtocolError):
    """An offer or presentation request was malformed, unsigned where it must be signed, or expired."""

    error = "request_refused"
    status_code = 422


class PartyError(ProtocolError):
    """The issuer or verifier could not be reached or answered with an error."""

    error = "party_error"
    status_code = 502
