"""Receiving over OpenID4VCI (service layer, real SQLite, real HTTP to a tiny issuer on loopback)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from schemas.oauth2 import InvalidGrant, InvalidRequest, NotFound
from tests.wallet.helpers import raw_database_bytes
from tests.wallet.tiny_issuer import (
    FAMILY_NAME,
    GIVEN_NAME,
    GRADE,
    OB3_ACHIEVEMENT,
    SD_ACHIEVEMENT,
    TinyIssuer,
    running_tiny_issuer,
)
from vc.jwk import jwk_thumbprint
from wallet.accounts import LearnerContext, register_learner
from wallet.errors import CredentialRefused, RequestRefused
from wallet.models import utcnow
from wallet.receiving import accept_offer, resolve_offer
from wallet.rendering import card, detail
from wallet.services import WalletServices
from wallet.store import get_credential, list_credentials
from wallet.vault import IndexKey


@pytest.fixture
def issuer() -> Iterator[TinyIssuer]:
    with running_tiny_issuer() as issuer:
        yield issuer


@pytest.fixture
def ada(make_learner: Callable[..., LearnerContext]) -> LearnerContext:
    return make_learner("ada.lovelace")


def _receive(session: Session, learner: LearnerContext, services: WalletServices, link: str,
             tx_code: str | None = "493536") -> dict[str, Any]:
    view = resolve_offer(session=session, learner=learner, services=services, link=link)
    return accept_offer(session=session, learner=learner, services=services, pending_id=view["id"], tx_code=tx_code)


def test_resolve_shows_issuer_credentials_and_tx_code(session: Session, ada: LearnerContext,
                                                      services: WalletServices, issuer: TinyIssuer) -> None:
    view = resolve_offer(session=session, learner=ada, services=services,
                         link=issuer.offer("Microcredential_sd_jwt", "OpenBadgeCredential_jwt", "Mdoc"))
    assert view["issuer"] == {"name": "Tiny University", "logo": f"{issuer.url}/logo.png"}
    assert view["credential_issuer"] == issuer.url
    assert [(c["name"], c["supported"]) for c in view["credentials"]] == [
        ("Microcredential", True), ("Open Badge", True), ("Mdoc", False)]
    assert view["tx_code"] == {"input_mode": "numeric", "length": 6, "description": "Code sent to your e-mail"}


def test_receive_both_formats_with_batch_copies(session: Session, ada: LearnerContext, services: WalletServices,
                                                issuer: TinyIssuer) -> None:
    result = _receive(session, ada, services, issuer.offer())
    assert result["refused"] == []
    by_format = {c["format"]: c for c in result["credentials"]}
    assert by_format["dc+sd-jwt"]["name"] == SD_ACHIEVEMENT and by_format["dc+sd-jwt"]["copies"] == 3
    assert by_format["jwt_vc_json"]["name"] == OB3_ACHIEVEMENT
    assert by_format["jwt_vc_json"]["issuer"] == "Tiny University"
    # A fresh key per copy: six proofs, six different keys.
    keys = {jwk_thumbprint(h["jwk"]) if "jwk" in h else h["kid"] for h in issuer.proof_headers}
    assert len(issuer.proof_headers) == 6 and len(keys) == 6
    # OB3 binds a did:jwk subject; the SD-JWT VC a cnf.jwk.
    assert any(h.get("kid", "").startswith("did:jwk:") for h in issuer.proof_headers)
    sd = get_credential(session=session, learner=ada, credential_id=by_format["dc+sd-jwt"]["id"])
    assert len({c.holder_key_id for c in sd.copies}) == 3
    assert sd.claims["given_name"] == GIVEN_NAME and sd.claims["grade"] == GRADE
    shown = detail(sd.summary, locale="en", status="valid")
    assert shown["ects"] == 5 and shown["eqf"] == 6
    assert ["given_name"] in shown["disclosable"] and ["achievement", "ects"] in shown["disclosable"]
    assert shown["issuer"]["name"] == "Tiny University"
    ob3 = get_credential(session=session, learner=ada, credential_id=by_format["jwt_vc_json"]["id"])
    shown = detail(ob3.summary, locale="en", status="valid")
    assert shown["ects"] == 4 and shown["eqf"] == 5 and shown["image"] == f"{issuer.url}/badge.png"
    assert shown["valid_until"] is not None and "OpenBadgeCredential" in shown["types"]


def test_issuer_name_in_the_learners_language(session: Session, username_index: IndexKey,
                                              services: WalletServices, issuer: TinyIssuer) -> None:
    learner = register_learner(session=session, master_key=services.master_key, username_index=username_index,
                               username="ans.devries", password="wachtwoord123", locale="nl-NL")
    _receive(session, learner, services, issuer.offer("Microcredential_sd_jwt"))
    [stored] = list_credentials(session=session, learner=learner)
    assert card(stored.summary, locale="nl-NL", status="valid")["issuer"]["name"] == "Kleine Universiteit"
    assert card(stored.summary, locale="en", status="valid")["issuer"]["name"] == "Tiny University"


def test_offer_by_value_and_without_batch(session: Session, ada: LearnerContext, services: WalletServices) -> None:
    with running_tiny_issuer(batch_size=None, tx_code=None) as issuer:
        result = _receive(session, ada, services, issuer.offer("Microcredential_sd_jwt", by_reference=False),
                          tx_code=None)
    assert [c["copies"] for c in result["credentials"]] == [1]


def test_wrong_tx_code_keeps_the_offer_for_another_try(session: Session, ada: LearnerContext,
                                                       services: WalletServices, issuer: TinyIssuer) -> None:
    view = resolve_offer(session=session, learner=ada, services=services, link=issuer.offer("Microcredential_sd_jwt"))
    with pytest.raises(InvalidRequest):
        accept_offer(session=session, learner=ada, services=services, pending_id=view["id"], tx_code=None)
    with pytest.raises(InvalidGrant):
        accept_offer(session=session, learner=ada, services=services, pending_id=view["id"], tx_code="000000")
    result = accept_offer(session=session, learner=ada, services=services, pending_id=view["id"], tx_code="493536")
    assert len(result["credentials"]) == 1
    with pytest.raises(NotFound):  # accepted once, gone
        accept_offer(session=session, learner=ada, services=services, pending_id=view["id"], tx_code="493536")


def test_an_offer_is_only_for_the_learner_who_resolved_it(session: Session, make_learner: Callable[..., LearnerContext],
                                                          services: WalletServices, issuer: TinyIssuer) -> None:
    ada, grace = make_learner("ada.lovelace"), make_learner("grace.hopper")
    view = resolve_offer(session=session, learner=ada, services=services, link=issuer.offer("Microcredential_sd_jwt"))
    with pytest.raises(NotFound):
        accept_offer(session=session, learner=grace, services=services, pending_id=view["id"], tx_code="493536")


@pytest.mark.parametrize(("fault", "configuration", "reason"), [
    ("bad_signature", "Microcredential_sd_jwt", "issuer signature"),
    ("bad_signature", "OpenBadgeCredential_jwt", "issuer signature"),
    ("wrong_holder", "Microcredential_sd_jwt", "holder binding"),
    ("wrong_holder", "OpenBadgeCredential_jwt", "holder binding"),
    ("expired", "Microcredential_sd_jwt", "expired"),
    ("expired", "OpenBadgeCredential_jwt", "expired"),
    ("unreferenced_disclosure", "Microcredential_sd_jwt", "disclosure"),
    ("wrong_vct", "Microcredential_sd_jwt", "not the offered"),
    ("sd_never_disclosable", "Microcredential_sd_jwt", "type metadata"),
    ("not_ob3", "OpenBadgeCredential_jwt", "validFrom"),
])
def test_bad_credentials_are_refused_with_a_reason_and_not_stored(
        session: Session, ada: LearnerContext, services: WalletServices, fault: str, configuration: str,
        reason: str) -> None:
    with running_tiny_issuer(fault=fault) as issuer, pytest.raises(CredentialRefused) as caught:
        _receive(session, ada, services, issuer.offer(configuration))
    assert reason.lower() in (caught.value.description or "").lower(), caught.value.description
    assert list_credentials(session=session, learner=ada) == []


def test_one_bad_configuration_does_not_lose_the_good_one(session: Session, ada: LearnerContext,
                                                          services: WalletServices, issuer: TinyIssuer) -> None:
    result = _receive(session, ada, services, issuer.offer("Microcredential_sd_jwt", "Mdoc"))
    assert [c["format"] for c in result["credentials"]] == ["dc+sd-jwt"]
    assert result["refused"][0]["credential_configuration_id"] == "Mdoc"
    assert "not supported" in result["refused"][0]["reason"]


def test_metadata_naming_another_issuer_is_refused(session: Session, ada: LearnerContext,
                                                   services: WalletServices) -> None:
    with running_tiny_issuer(fault="wrong_metadata_issuer") as issuer, pytest.raises(RequestRefused) as caught:
        resolve_offer(session=session, learner=ada, services=services, link=issuer.offer())
    assert "credential_issuer" in (caught.value.description or "")


def test_offers_pointing_at_private_addresses_are_not_fetched(session: Session, ada: LearnerContext,
                                                              services: WalletServices) -> None:
    for link in ("openid-credential-offer://?credential_offer_uri=https%3A%2F%2F10.1.2.3%2Foffer",
                 "https://169.254.169.254/latest/meta-data/",
                 "openid-credential-offer://?credential_offer=" + '{"credential_issuer":"https://192.168.0.1",'
                 '"credential_configuration_ids":["x"]}'.replace('"', "%22")):
        with pytest.raises(InvalidRequest, match="refusing"):
            resolve_offer(session=session, learner=ada, services=services, link=link)


def test_nothing_received_is_stored_in_plain_text(session: Session, ada: LearnerContext, services: WalletServices,
                                                  issuer: TinyIssuer, db_path: Path) -> None:
    result = _receive(session, ada, services, issuer.offer())
    stored = [get_credential(session=session, learner=ada, credential_id=c["id"]) for c in result["credentials"]]
    raw = raw_database_bytes(db_path)
    secrets = [GIVEN_NAME, FAMILY_NAME, GRADE, SD_ACHIEVEMENT, OB3_ACHIEVEMENT, "Tiny University", "ada.lovelace",
               issuer.url, "Cryptography", "Lichenology"]
    for credential in stored:
        secrets += [copy.credential for copy in credential.copies]
        secrets += [copy.credential.split(".")[1][:40] for copy in credential.copies]
    for secret in secrets:
        assert secret.encode() not in raw, secret


def test_status_from_the_issuers_status_lists(session: Session, ada: LearnerContext, services: WalletServices,
                                              issuer: TinyIssuer) -> None:
    result = _receive(session, ada, services, issuer.offer())
    ids = {c["format"]: c["id"] for c in result["credentials"]}

    def status(fmt: str, after: timedelta) -> str:
        summary = get_credential(session=session, learner=ada, credential_id=ids[fmt]).summary
        return services.status_checker(session, now=utcnow() + after).status(summary)

    assert status("dc+sd-jwt", timedelta(0)) == "valid" and status("jwt_vc_json", timedelta(0)) == "valid"
    # The batch copies of the SD-JWT VC are issued 0-2, the OB3 badge 3-5; one of each is enough.
    issuer.set_status(0, 2)
    issuer.set_status(3, 1)
    assert status("dc+sd-jwt", timedelta(0)) == "valid"  # the cached list is still fresh (its ttl)
    assert status("dc+sd-jwt", timedelta(seconds=5)) == "suspended"
    assert status("jwt_vc_json", timedelta(minutes=6)) == "revoked"
    issuer.set_status(0, 0)
    assert status("dc+sd-jwt", timedelta(seconds=10)) == "valid"
    assert status("dc+sd-jwt", timedelta(days=400)) == "expired"


def test_unreachable_status_list_gives_unknown(session: Session, ada: LearnerContext,
                                               services: WalletServices) -> None:
    with running_tiny_issuer() as issuer:
        result = _receive(session, ada, services, issuer.offer("Microcredential_sd_jwt"))
    summary = get_credential(session=session, learner=ada, credential_id=result["credentials"][0]["id"]).summary
    assert services.status_checker(session, now=utcnow() + timedelta(minutes=1)).status(summary) == "unknown"
