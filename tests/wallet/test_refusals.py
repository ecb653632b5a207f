"""A verifier's "no" read in a word (`wallet.refusals`): the request is over, or the presentation was refused."""

from __future__ import annotations

import pytest

from schemas.oauth2 import InvalidRequest
from vc.errors import FetchError, FetchRefused
from vc.fetch import FetchStatusError
from vc.oid4vci_client import ErrorResponse
from wallet.errors import PartyError, VerifierRefused, VerifierUnreachable
from wallet.refusals import refusal_reason, verifier_errors


@pytest.mark.parametrize(("error", "description", "reason"), [
    ("invalid_request", "the presentation request has expired", "expired"),
    ("invalid_request", "the request has expired", "expired"),
    ("invalid_request", "Request expired", "expired"),
    ("invalid_request", "the presentation request has already been answered", "answered"),
    ("invalid_request", "the request has already been answered", "answered"),
    ("invalid_request", "this state was already used", "answered"),
    ("invalid_request", "presentation rejected: trusted_issuer", "refused"),
    # A credential of its own that expired is the verifier refusing it, not the request ending.
    ("invalid_request", "presentation rejected: validity_period (the credential expired)", "refused"),
    ("access_denied", None, "refused"),
    (None, None, "refused"),
])
def test_why_a_verifier_said_no(error: str | None, description: str | None, reason: str) -> None:
    assert refusal_reason(error, description) == reason


def test_verifier_answers_become_the_learners_errors() -> None:
    with pytest.raises(VerifierRefused) as refused, verifier_errors("send"):
        raise ErrorResponse("the response_uri", 400, "invalid_request", "the presentation request has expired")
    assert refused.value.reason == "expired" and refused.value.status_code == 502
    assert refused.value.error == "verifier_refused" and isinstance(refused.value, PartyError)
    assert refused.value.verifier_words == "the presentation request has expired"
    assert refused.value.description == ("the verifier did not accept the presentation: the request has expired "
                                         "(it answered HTTP 400 invalid_request: the presentation request has expired)")

    with pytest.raises(VerifierRefused) as opened, verifier_errors("open"):
        raise ErrorResponse("the verifier's request_uri", 400, "invalid_request", "already been answered")
    assert opened.value.reason == "answered" and opened.value.description is not None
    assert opened.value.description.startswith("the verifier did not hand out its request: ")

    with pytest.raises(VerifierRefused) as bare, verifier_errors("send"):
        raise FetchStatusError("answered HTTP 500", status=500)
    assert bare.value.reason == "refused" and bare.value.verifier_words is None
    assert "it answered HTTP 500" in (bare.value.description or "")

    long_words = "no " * 400
    with pytest.raises(VerifierRefused) as wordy, verifier_errors("send"):
        raise ErrorResponse("the response_uri", 400, "invalid_request", long_words)
    assert wordy.value.verifier_words == long_words[:300]

    with pytest.raises(VerifierUnreachable) as silent, verifier_errors("send"):
        raise FetchError("http://localhost:1 timed out")
    assert silent.value.error == "verifier_unreachable" and silent.value.status_code == 502

    # What the wallet refuses to contact stays the learner's invalid_request, not the verifier's "no".
    with pytest.raises(InvalidRequest) as blocked, verifier_errors("send"):
        raise FetchRefused("refusing '10.0.0.1': it resolves to a private address")
    assert not isinstance(blocked.value, PartyError)
