"""A verifier's "no", as the learner's errors: why in a word, and the verifier's own words kept apart.

OpenID4VP 1.0 gives a verifier no error codes of its own for a refused answer (§8.2: it answers
the `direct_post` with an HTTP error and, usually, an OAuth-style `{"error", "error_description"}`),
so the wallet reads the request's end from the description: an `expired` request, one already
`answered`, or otherwise a plain refusal. Everything else that goes wrong on the way (no
connection, a timeout, no usable answer) is `VerifierUnreachable`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from vc.errors import FetchError, FetchRefused
from vc.fetch import FetchStatusError
from vc.oid4vci_client import ErrorResponse
from wallet.errors import RefusalReason, VerifierRefused, VerifierUnreachable
from wallet.receiving import party_errors

__all__ = ["Stage", "refusal_reason", "verifier_errors"]

#: Where the verifier said no: when the wallet fetched its request (`open`), or took the answer (`send`).
Stage = Literal["open", "send"]

_EXPIRED = re.compile(r"\brequest\b.{0,40}\b(has |is |was )?expired\b|\bexpired (presentation )?request\b")
_ANSWERED = re.compile(r"\balready (been )?(answered|used|received|completed)\b")
_WHAT = {"open": "the verifier did not hand out its request", "send": "the verifier did not accept the presentation"}
_WHY = {"expired": "the request has expired", "answered": "the request was already answered",
        "refused": "it refused it"}


def refusal_reason(error: str | None, description: str | None) -> RefusalReason:
    """Why the verifier said no, read from its error answer (a credential's own expiry is a refusal)."""
    text = f"{error or ''} {description or ''}".lower()
    if _EXPIRED.search(text):
        return "expired"
    if _ANSWERED.search(text):
        return "answered"
    return "refused"


def _refused(stage: Stage, status: int, error: str | None, words: str | None) -> VerifierRefused:
    reason = refusal_reason(error, words)
    answered = f"HTTP {status}" + (f" {error}" if error else "") + (f": {words}" if words else "")
    return VerifierRefused(f"{_WHAT[stage]}: {_WHY[reason]} (it answered {answered})", reason=reason,
                           verifier_error=error, verifier_words=words)


@contextmanager
def verifier_errors(stage: Stage) -> Iterator[None]:
    """Talking to a verifier: its error answers as `VerifierRefused`, no answer as `VerifierUnreachable`;
    the rest as `wallet.receiving.party_errors` says (a refused address stays `invalid_request`)."""
    with party_errors("verifier"):
        try:
            yield
        except ErrorResponse as exc:
            raise _refused(stage, exc.status, exc.error, exc.description) from exc
        except FetchStatusError as exc:
            raise _refused(stage, exc.status, None, None) from exc
        except FetchRefused:
            raise
        except FetchError as exc:
            raise VerifierUnreachable(f"the verifier could not be reached: {exc}") from exc
