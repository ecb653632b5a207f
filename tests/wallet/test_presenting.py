"""Presenting over OpenID4VP (service layer, real SQLite, real HTTP to a tiny issuer and verifier on loopback)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlmodel import Session

from schemas.oauth2 import AccessDenied, InvalidRequest, NotFound
from tests.wallet.tiny_issuer import FAMILY_NAME, GIVEN_NAME, GRADE, TinyIssuer, running_tiny_issuer
from tests.wallet.tiny_verifier import TinyVerifier, disclosed_claims, running_tiny_verifier
from vc.jws import decode_jws
from vc.sd_jwt import parse_sd_jwt
from wallet.accounts import LearnerContext
from wallet.errors import RequestRefused
from wallet.history import list_history
from wallet.presenting import confirm_presentation, decline_presentation, prepare_presentation
from wallet.receiving import accept_offer, resolve_offer
from wallet.services import WalletServices


@pytest.fixture
def issuer() -> Iterator[TinyIssuer]:
    with running_tiny_issuer() as issuer:
        yield issuer


@pytest.fixture
def verifier() -> Iterator[TinyVerifier]:
    with running_tiny_verifier() as verifier:
        yield verifier


@pytest.fixture
def ada(session: Session, make_learner: Callable[..., LearnerContext], services: WalletServices,
        issuer: TinyIssuer) -> LearnerContext:
    """A learner holding one SD-JWT VC (3 copies) and one OB3 badge from the tiny issuer."""
    learner = make_learner("ada.lovelace")
    view = resolve_offer(session=session, learner=learner, services=services, link=issuer.offer())
    accept_offer(session=session, learner=learner, services=services, pending_id=view["id"], tx_code="493536")
    return learner


def sd_query(*paths: list[Any], vct: str, query_id: str = "micro") -> dict[str, Any]:
    query: dict[str, Any] = {"id": query_id, "format": "dc+sd-jwt", "meta": {"vct_values": [vct]}}
    if paths:
        query["claims"] = [{"path": list(p)} for p in paths]
    return {"credentials": [query]}


OB3_QUERY = {"credentials": [{
    "id": "badge", "format": "jwt_vc_json",
    "meta": {"type_values": [["https://purl.imsglobal.org/spec/vc/ob/vocab.html#OpenBadgeCredential"]]},
    "claims": [{"path": ["credentialSubject", "achievement", "name"]}]}]}


def _paths(entries: list[dict[str, Any]]) -> list[list[Any]]:
    return [e["path"] for e in entries]


def test_consent_lists_exactly_what_is_sent_and_only_that_is_sent(
        session: Session, ada: LearnerContext, services: WalletServices, issuer: TinyIssuer,
        verifier: TinyVerifier) -> None:
    uri, transaction = verifier.request(sd_query(["grade"], ["achievement", "name"], vct=issuer.vct))
    consent = prepare_presentation(session=session, learner=ada, services=services, request_uri=uri)
    assert consent["satisfiable"] is True
    assert consent["verifier"] == {
        "client_id": verifier.client_id, "identified_by": "x509_hash", "signed": True, "name": "Tiny Employer",
        "certificate_dns_names": ["localhost"], "response_host": "localhost"}
    [request] = consent["requests"]
    [option] = request["options"]
    assert option["disclosed"] == [{"path": ["grade"], "value": GRADE}]
    always = _paths(option["always_shared"])
    assert ["achievement", "name"] in always and ["vct"] in always and ["given_name"] not in always
    assert all(p[0] not in ("given_name", "family_name", "grade") for p in always)

    result = confirm_presentation(session=session, learner=ada, services=services, pending_id=consent["id"])
    assert result["status"] == "sent" and result["verifier"] == verifier.client_id
    assert result["redirect_uri"].startswith(f"{verifier.url}/done#response_code=")
    # What reached the verifier: only the grade Disclosure, bound to this request.
    [presentation] = transaction.vp_token["micro"]  # type: ignore[index]
    assert disclosed_claims(presentation) == {"grade": GRADE}
    assert GIVEN_NAME not in presentation and FAMILY_NAME not in str(disclosed_claims(presentation))
    kb = decode_jws(parse_sd_jwt(presentation).kb_jwt or "").claims()
    assert kb["aud"] == verifier.client_id and kb["nonce"] == transaction.nonce and "sd_hash" in kb
    [report] = transaction.reports["micro"]
    assert report.verified, report.to_json()
    # The reference implementation (sd-jwt-python) accepts the presentation and sees the same.
    [reference] = transaction.reference_checks
    assert isinstance(reference, dict), reference
    assert reference["grade"] == GRADE and "given_name" not in reference
    assert result["disclosed"][0]["disclosed"] == [["grade"]]


def test_learner_may_disclose_fewer_claims_than_asked(session: Session, ada: LearnerContext,
                                                      services: WalletServices, issuer: TinyIssuer,
                                                      verifier: TinyVerifier) -> None:
    uri, transaction = verifier.request(sd_query(["grade"], ["given_name"], ["family_name"], vct=issuer.vct))
    consent = prepare_presentation(session=session, learner=ada, services=services, request_uri=uri)
    assert sorted(_paths(consent["requests"][0]["options"][0]["disclosed"])) == [
        ["family_name"], ["given_name"], ["grade"]]
    confirm_presentation(session=session, learner=ada, services=services, pending_id=consent["id"],
                         disclose=[["given_name"]])
    [presentation] = transaction.vp_token["micro"]  # type: ignore[index]
    assert disclosed_claims(presentation) == {"given_name": GIVEN_NAME}


def test_jwt_vc_json_as_an_encrypted_vp_jwt(session: Session, ada: LearnerContext, services: WalletServices,
                                            verifier: TinyVerifier) -> None:
    uri, transaction = verifier.request(OB3_QUERY, response_mode="direct_post.jwt", method="post")
    consent = prepare_presentation(session=session, learner=ada, services=services, request_uri=uri)
    [option] = consent["requests"][0]["options"]
    assert option["format"] == "jwt_vc_json" and option["disclosed"] == []
    assert ["credentialSubject", "achievement", "name"] in _paths(option["always_shared"])
    confirm_presentation(session=session, learner=ada, services=services, pending_id=consent["id"])
    assert set(transaction.posted[0]) == {"response"}  # encrypted on the wire
    [presentation] = transaction.vp_token["badge"]  # type: ignore[index]
    claims = decode_jws(presentation).claims()
    assert claims["aud"] == verifier.client_id and claims["nonce"] == transaction.nonce
    assert all(report.verified for report in transaction.reports["badge"]), [
        r.to_json() for r in transaction.reports["badge"]]


def test_each_presentation_uses_the_next_copy_and_key(session: Session, ada: LearnerContext,
                                                      services: WalletServices, issuer: TinyIssuer,
                                                      verifier: TinyVerifier) -> None:
    keys = []
    for _ in range(3):
        uri, transaction = verifier.request(sd_query(["grade"], vct=issuer.vct))
        consent = prepare_presentation(session=session, learner=ada, services=services, request_uri=uri)
        confirm_presentation(session=session, learner=ada, services=services, pending_id=consent["id"])
        [presentation] = transaction.vp_token["micro"]  # type: ignore[index]
        keys.append(str(decode_jws(parse_sd_jwt(presentation).issuer_jwt).claims()["cnf"]["jwk"]))
    assert len(set(keys)) == 3


def test_no_matching_credential_can_only_be_declined(session: Session, ada: LearnerContext,
                                                     services: WalletServices, verifier: TinyVerifier) -> None:
    uri, transaction = verifier.request(sd_query(["grade"], vct="https://other.example.com/vct"))
    consent = prepare_presentation(session=session, learner=ada, services=services, request_uri=uri)
    assert consent["satisfiable"] is False and consent["requests"] == []
    with pytest.raises(AccessDenied):
        confirm_presentation(session=session, learner=ada, services=services, pending_id=consent["id"])
    result = decline_presentation(session=session, learner=ada, services=services, pending_id=consent["id"])
    assert result["status"] == "declined" and transaction.error == "access_denied"
    assert transaction.vp_token is None


def test_history_records_who_got_what(session: Session, ada: LearnerContext, services: WalletServices,
                                      issuer: TinyIssuer, verifier: TinyVerifier) -> None:
    uri, _ = verifier.request(sd_query(["grade"], vct=issuer.vct))
    consent = prepare_presentation(session=session, learner=ada, services=services, request_uri=uri)
    confirm_presentation(session=session, learner=ada, services=services, pending_id=consent["id"])
    [record] = list_history(session=session, learner=ada)
    assert record["verifier"] == verifier.client_id and record["outcome"] == "sent"
    assert record["credentials"][0]["disclosed"] == [["grade"]] and record["at"]


def test_choices_must_be_among_the_offered_and_pending_is_per_learner(
        session: Session, ada: LearnerContext, make_learner: Callable[..., LearnerContext],
        services: WalletServices, issuer: TinyIssuer, verifier: TinyVerifier) -> None:
    uri, _ = verifier.request(sd_query(["grade"], vct=issuer.vct))
    consent = prepare_presentation(session=session, learner=ada, services=services, request_uri=uri)
    grace = make_learner("grace.hopper")
    with pytest.raises(NotFound):
        confirm_presentation(session=session, learner=grace, services=services, pending_id=consent["id"])
    with pytest.raises(InvalidRequest):
        confirm_presentation(session=session, learner=ada, services=services, pending_id=consent["id"],
                             credentials={"micro": ["not-a-credential"]})
    with pytest.raises(InvalidRequest):
        confirm_presentation(session=session, learner=ada, services=services, pending_id=consent["id"],
                             credentials={"other": ["x"]})
    confirm_presentation(session=session, learner=ada, services=services, pending_id=consent["id"])
    with pytest.raises(NotFound):  # answered once
        confirm_presentation(session=session, learner=ada, services=services, pending_id=consent["id"])


def test_expired_request_object_is_refused(session: Session, ada: LearnerContext, services: WalletServices,
                                           issuer: TinyIssuer, verifier: TinyVerifier) -> None:
    verifier.expired = True
    uri, _ = verifier.request(sd_query(["grade"], vct=issuer.vct))
    with pytest.raises(RequestRefused, match="expired"):
        prepare_presentation(session=session, learner=ada, services=services, request_uri=uri)


def test_sd_jwt_vc_made_by_the_reference_implementation(session: Session, make_learner: Callable[..., LearnerContext],
                                                        services: WalletServices, verifier: TinyVerifier) -> None:
    """Receive an SD-JWT VC that sd-jwt-python issued, and present it with selective disclosure."""
    learner = make_learner("grace.hopper")
    with running_tiny_issuer(sd_jwt_library="sd-jwt-python") as issuer:
        view = resolve_offer(session=session, learner=learner, services=services,
                             link=issuer.offer("Microcredential_sd_jwt"))
        accept_offer(session=session, learner=learner, services=services, pending_id=view["id"], tx_code="493536")
        uri, transaction = verifier.request(sd_query(["family_name"], ["achievement", "ects"], vct=issuer.vct))
        consent = prepare_presentation(session=session, learner=learner, services=services, request_uri=uri)
        assert sorted(_paths(consent["requests"][0]["options"][0]["disclosed"])) == [
            ["achievement", "ects"], ["family_name"]]
        confirm_presentation(session=session, learner=learner, services=services, pending_id=consent["id"])
    [presentation] = transaction.vp_token["micro"]  # type: ignore[index]
    assert disclosed_claims(presentation) == {"family_name": FAMILY_NAME, "ects": 5}
    assert transaction.reports["micro"][0].verified, transaction.reports["micro"][0].to_json()
    [reference] = transaction.reference_checks
    assert isinstance(reference, dict) and reference["family_name"] == FAMILY_NAME, reference
    assert reference["achievement"]["ects"] == 5 and "grade" not in reference
