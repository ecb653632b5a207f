"""Errors the wallet answers its learners with (the `ProtocolError` shape, wallet-specific codes).

Errors of the protocols themselves (`invalid_request`, `invalid_grant`, `invalid_token`,
`access_denied`, ...) come from `schemas.oauth2`; these add what only the wallet says.
"""

from __future__ import annotations

from typing import Literal

from schemas.oauth2 import ProtocolError

__all__ = ["Conflict", "CredentialRefused", "PartyError", "RefusalReason", "RequestRefused", "VerifierRefused",
           "VerifierUnreachable"]

#: Why a verifier said no, in a word the pages turn into a sentence: the request is over
#: (`expired`, already `answered`), or the verifier `refused` what it got.
RefusalReason = Literal["expired", "answered", "refused"]
#: The most of a verifier's own `error_description` the wallet keeps and shows.
MAX_VERIFIER_WORDS = 300


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


class VerifierRefused(PartyError):
    """The verifier answered with an error: it did not accept the presentation (or would not hand
    out its request). Still a 502 (the other party said no, not the learner's request was wrong),
    with the verifier's answer kept apart so the pages can say it in words: `reason`, the verifier's
    `verifier_error` code and `verifier_words` (its `error_description`, as it wrote it)."""

    error = "verifier_refused"
    status_code = 502

    def __init__(self, description: str, *, reason: RefusalReason, verifier_error: str | None = None,
                 verifier_words: str | None = None, internal: str | None = None) -> None:
        super().__init__(description, internal=internal)
        self.reason: RefusalReason = reason
        self.verifier_error = verifier_error
        self.verifier_words = verifier_words[:MAX_VERIFIER_WORDS] if verifier_words else None


class VerifierUnreachable(PartyError):
    """No answer from the verifier (connection refused, timed out, or nothing usable came back)."""

    error = "verifier_unreachable"
    status_code = 502
