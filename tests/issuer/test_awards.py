"""Awards: one learner, bulk with per-row errors and idempotent re-runs, status changes, access rules."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import Session, select

from issuer.admin_models import AwardCreate, BulkAwardCreate, BulkAwardRow, StaffCreate
from issuer.models import Award, CredentialOffer
from issuer.services import awards
from issuer.services.common import Conflict
from issuer.services.keys import KeyStore
from issuer.services.staff import Principal, authenticate, create_staff
from issuer.settings import IssuerSettings
from schemas.oauth2 import InvalidRequest, NotFound
from tests.issuer.conftest import BASE_URL
from tests.issuer.factories import make_award, make_badge, make_institution


@pytest.fixture
def badge_id(session: Session, admin: Principal, keys: KeyStore) -> int:
    inst = make_institution(session, admin, keys)
    return make_badge(session, admin, inst.id, BASE_URL, result_descriptions=[
        {"name": "Grade", "resultType": "LetterGrade", "allowedValue": ["A", "B", "C", "F"], "requiredValue": "C"}]).id


def test_award_gives_an_offer_by_reference_with_pin(session: Session, admin: Principal, badge_id: int,
                                                    settings: IssuerSettings) -> None:
    award = make_award(session, admin, badge_id, settings, pin=True, result="B", email="Ada@Student.Example.NL")
    assert award.learner_email == "ada@student.example.nl" and award.result == "B"
    assert award.credential_configuration_ids == ["EduCredential"]
    assert award.offer_uri is not None and award.offer_uri.startswith("openid-credential-offer://?")
    [uri] = parse_qs(urlsplit(award.offer_uri).query)["credential_offer_uri"]
    assert uri == award.credential_offer_uri and uri.startswith(f"{BASE_URL}/oid4vci/offers/")
    assert award.qr_png_url == uri + "/qr.png"
    assert award.tx_code is not None and award.tx_code.isdigit() and len(award.tx_code) == 6
    # only hashes are stored
    offer = session.exec(select(CredentialOffer)).one()
    reference = uri.rsplit("/", 1)[1]
    assert reference not in (offer.reference_hash, offer.pre_authorized_code_hash)
    assert award.tx_code not in (offer.tx_code_hash or "")


def test_sd_jwt_format_offers_the_sd_jwt_configuration(session: Session, admin: Principal, badge_id: int,
                                                       settings: IssuerSettings) -> None:
    award = make_award(session, admin, badge_id, settings, format="dc+sd-jwt")
    assert award.credential_configuration_ids == ["EduCredentialSdJwt"] and award.tx_code is None
    both = make_award(session, admin, badge_id, settings, email="b@x.nl",
                      credential_configuration_ids=["EduCredential", "EULearningCredential"])
    assert both.credential_configuration_ids == ["EduCredential", "EULearningCredential"]
    with pytest.raises(InvalidRequest):
        make_award(session, admin, badge_id, settings, email="c@x.nl", credential_configuration_ids=["Nope"])


def test_result_must_be_an_allowed_value(session: Session, admin: Principal, badge_id: int,
                                         settings: IssuerSettings) -> None:
    with pytest.raises(InvalidRequest):
        make_award(session, admin, badge_id, settings, result="Z")


def test_idempotency_key_returns_the_first_award(session: Session, admin: Principal, badge_id: int,
                                                 settings: IssuerSettings) -> None:
    first = make_award(session, admin, badge_id, settings, idempotency_key="row-1")
    again = make_award(session, admin, badge_id, settings, idempotency_key="row-1", name="Other")
    assert again.id == first.id and again.created is False and again.offer_uri is None
    assert len(session.exec(select(Award)).all()) == 1


def test_bulk_award_reports_bad_rows_by_line_and_reruns_award_nobody_twice(
        session: Session, admin: Principal, badge_id: int, settings: IssuerSettings) -> None:
    rows = [BulkAwardRow(line=2, name="Ada", email="ada@x.nl", result="A"),
            BulkAwardRow(line=3, name="", email="bob@x.nl"),
            BulkAwardRow(line=4, name="Cy", email="not-an-email"),
            BulkAwardRow(line=5, name="Di", email="di@x.nl", result="Z"),
            BulkAwardRow(line=6, name="Ed", email="ED@x.nl")]
    data = BulkAwardCreate(rows=rows)
    first = awards.bulk_award(session=session, principal=admin, badge_class_id=badge_id, data=data, settings=settings)
    assert [(r.line, r.status) for r in first] == [(2, "created"), (3, "error"), (4, "error"), (5, "error"),
                                                   (6, "created")]
    assert "name" in (first[1].error or "") and "email" in (first[2].error or "") and "result" in (first[3].error or "")
    assert first[0].offer_uri
    second = awards.bulk_award(session=session, principal=admin, badge_class_id=badge_id, data=data,
                               settings=settings)
    assert [(r.line, r.status) for r in second] == [(2, "exists"), (3, "error"), (4, "error"), (5, "error"),
                                                    (6, "exists")]
    assert second[0].award_id == first[0].award_id
    assert len(session.exec(select(Award)).all()) == 2


def test_archived_badge_cannot_be_awarded(session: Session, admin: Principal, badge_id: int,
                                          settings: IssuerSettings) -> None:
    from issuer.admin_models import BadgeClassUpdate
    from issuer.services.badges import update_badge_class

    award = make_award(session, admin, badge_id, settings)
    update_badge_class(session=session, principal=admin, badge_class_id=badge_id,
                       data=BadgeClassUpdate(archived=True), base_url=BASE_URL)
    with pytest.raises(Conflict):
        make_award(session, admin, badge_id, settings, email="late@x.nl")
    assert awards.get_award(session=session, principal=admin, award_id=award.id).status == "valid"


def test_status_changes(session: Session, admin: Principal, badge_id: int, settings: IssuerSettings) -> None:
    award = make_award(session, admin, badge_id, settings)

    def change(action: str) -> str:
        return awards.change_award_status(session=session, principal=admin, award_id=award.id, action=action).status

    assert change("suspend") == "suspended"
    assert change("suspend") == "suspended"
    assert change("unsuspend") == "valid"
    assert change("unsuspend") == "valid"
    assert change("revoke") == "revoked"
    with pytest.raises(Conflict):
        change("unsuspend")
    with pytest.raises(Conflict):
        change("suspend")


def test_awards_of_another_institution_are_invisible(session: Session, admin: Principal, keys: KeyStore,
                                                     badge_id: int, settings: IssuerSettings) -> None:
    award = make_award(session, admin, badge_id, settings)
    other = make_institution(session, admin, keys, "Other")
    boss = authenticate(session=session, token=create_staff(session=session, principal=admin, data=StaffCreate(
        name="other boss", role="institution_admin", institution_id=other.id)).token)
    with pytest.raises(NotFound):
        awards.get_award(session=session, principal=boss, award_id=award.id)
    with pytest.raises(NotFound):
        awards.change_award_status(session=session, principal=boss, award_id=award.id, action="revoke")
    with pytest.raises(NotFound):
        awards.award_badge(session=session, principal=boss, badge_class_id=badge_id, settings=settings,
                           data=AwardCreate(name="X", email="x@y.nl"))
    with pytest.raises(NotFound):
        awards.new_offer(session=session, principal=boss, award_id=award.id, pin=False, settings=settings)
    assert awards.get_award(session=session, principal=admin, award_id=award.id).status == "valid"
