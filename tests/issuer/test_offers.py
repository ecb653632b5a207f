"""Credential offers and the pre-authorized code grant (OpenID4VCI 1.0 §4.1, §6), at the service layer."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from issuer.admin_models import AwardCreate
from issuer.models import AccessToken
from issuer.services import awards
from issuer.services.dpop import DpopNonces, DpopRequest
from issuer.services.keys import KeyStore
from issuer.services.offers import credential_offer, redeem_pre_authorized_code
from issuer.services.staff import Principal
from issuer.settings import IssuerSettings
from schemas.oauth2 import InvalidDpopProof, InvalidGrant, InvalidRequest, NotFound, UnsupportedGrantType
from schemas.oid4vci import PRE_AUTHORIZED_CODE_GRANT
from tests.issuer.conftest import BASE_URL
from tests.issuer.factories import make_award, make_badge, make_institution
from vc.dpop import create_dpop_proof
from vc.jwk import jwk_thumbprint
from vc.keys import SoftwareSigner


@pytest.fixture
def badge_id(session: Session, admin: Principal, keys: KeyStore) -> int:
    return make_badge(session, admin, make_institution(session, admin, keys).id, BASE_URL).id


def _offer(session: Session, settings: IssuerSettings, credential_offer_uri: str) -> dict:
    return credential_offer(session=session, reference=credential_offer_uri.rsplit("/", 1)[1], settings=settings)


def _token(session: Session, settings: IssuerSettings, code: str, **form: str) -> dict:
    return redeem_pre_authorized_code(session=session, settings=settings, form={
        "grant_type": PRE_AUTHORIZED_CODE_GRANT, "pre-authorized_code": code, **form})


def test_offer_object_names_issuer_configurations_and_pin(session: Session, admin: Principal, badge_id: int,
                                                          settings: IssuerSettings) -> None:
    award = make_award(session, admin, badge_id, settings, pin=True)
    offer = _offer(session, settings, award.credential_offer_uri)
    assert offer["credential_issuer"] == BASE_URL
    assert offer["credential_configuration_ids"] == ["EduCredential"]
    grant = offer["grants"][PRE_AUTHORIZED_CODE_GRANT]
    assert len(grant["pre-authorized_code"]) >= 43
    assert grant["tx_code"] == {"input_mode": "numeric", "length": 6, "description": grant["tx_code"]["description"]}


def test_token_once_then_invalid_grant(session: Session, admin: Principal, badge_id: int,
                                       settings: IssuerSettings) -> None:
    award = make_award(session, admin, badge_id, settings)
    code = _offer(session, settings, award.credential_offer_uri)["grants"][PRE_AUTHORIZED_CODE_GRANT][
        "pre-authorized_code"]
    token = _token(session, settings, code)
    assert token["token_type"] == "Bearer" and token["expires_in"] == settings.access_token_ttl_seconds
    assert "c_nonce" not in token
    with pytest.raises(InvalidGrant):
        _token(session, settings, code)
    with pytest.raises(NotFound):  # a used offer is gone
        _offer(session, settings, award.credential_offer_uri)


def test_pin_required_wrong_counted_and_locked_after_five(session: Session, admin: Principal, badge_id: int,
                                                          settings: IssuerSettings) -> None:
    award = make_award(session, admin, badge_id, settings, pin=True)
    assert award.tx_code is not None
    code = _offer(session, settings, award.credential_offer_uri)["grants"][PRE_AUTHORIZED_CODE_GRANT][
        "pre-authorized_code"]
    with pytest.raises(InvalidRequest):
        _token(session, settings, code)
    wrong = "000000" if award.tx_code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(InvalidGrant, match="wrong tx_code"):
            _token(session, settings, code, tx_code=wrong)
    with pytest.raises(InvalidGrant, match="locked"):
        _token(session, settings, code, tx_code=award.tx_code)


def test_right_pin_after_four_wrong_ones_works(session: Session, admin: Principal, badge_id: int,
                                               settings: IssuerSettings) -> None:
    award = make_award(session, admin, badge_id, settings, pin=True)
    code = _offer(session, settings, award.credential_offer_uri)["grants"][PRE_AUTHORIZED_CODE_GRANT][
        "pre-authorized_code"]
    for _ in range(4):
        with pytest.raises(InvalidGrant):
            _token(session, settings, code, tx_code="x")
    assert _token(session, settings, code, tx_code=award.tx_code or "")["access_token"]


def test_tx_code_not_offered_must_not_be_sent(session: Session, admin: Principal, badge_id: int,
                                              settings: IssuerSettings) -> None:
    award = make_award(session, admin, badge_id, settings)
    code = _offer(session, settings, award.credential_offer_uri)["grants"][PRE_AUTHORIZED_CODE_GRANT][
        "pre-authorized_code"]
    with pytest.raises(InvalidRequest):
        _token(session, settings, code, tx_code="123456")


def test_grant_type_and_code_are_checked(session: Session, settings: IssuerSettings) -> None:
    with pytest.raises(UnsupportedGrantType):
        redeem_pre_authorized_code(session=session, settings=settings,
                                   form={"grant_type": "authorization_code", "code": "x"})
    with pytest.raises(InvalidRequest):
        redeem_pre_authorized_code(session=session, settings=settings, form={})
    with pytest.raises(InvalidRequest):
        redeem_pre_authorized_code(session=session, settings=settings, form={"grant_type": PRE_AUTHORIZED_CODE_GRANT})
    with pytest.raises(InvalidGrant):
        _token(session, settings, "never-issued")


def test_expired_offer_and_revoked_award_give_invalid_grant(session: Session, admin: Principal, badge_id: int,
                                                            settings: IssuerSettings) -> None:
    old = awards.award_badge(session=session, principal=admin, badge_class_id=badge_id, settings=settings,
                             now=1_000_000, data=AwardCreate(name="Old", email="old@x.nl"))
    reference = old.credential_offer_uri.rsplit("/", 1)[1]
    code = credential_offer(session=session, reference=reference, settings=settings, now=1_000_001)["grants"][
        PRE_AUTHORIZED_CODE_GRANT]["pre-authorized_code"]
    with pytest.raises(InvalidGrant, match="expired"):
        _token(session, settings, code)
    award = make_award(session, admin, badge_id, settings)
    code = _offer(session, settings, award.credential_offer_uri)["grants"][PRE_AUTHORIZED_CODE_GRANT][
        "pre-authorized_code"]
    awards.change_award_status(session=session, principal=admin, award_id=award.id, action="revoke")
    with pytest.raises(InvalidGrant, match="revoked"):
        _token(session, settings, code)


def test_authorization_details_are_answered_with_credential_identifiers(
        session: Session, admin: Principal, badge_id: int, settings: IssuerSettings) -> None:
    award = make_award(session, admin, badge_id, settings)
    code = _offer(session, settings, award.credential_offer_uri)["grants"][PRE_AUTHORIZED_CODE_GRANT][
        "pre-authorized_code"]
    with pytest.raises(InvalidRequest):
        _token(session, settings, code, authorization_details=json.dumps(
            [{"type": "openid_credential", "credential_configuration_id": "EULearningCredential"}]))
    token = _token(session, settings, code, authorization_details=json.dumps(
        [{"type": "openid_credential", "credential_configuration_id": "EduCredential"}]))
    assert token["authorization_details"] == [{"type": "openid_credential",
                                               "credential_configuration_id": "EduCredential",
                                               "credential_identifiers": ["EduCredential"]}]


def test_a_new_offer_replaces_the_old_one(session: Session, admin: Principal, badge_id: int,
                                          settings: IssuerSettings) -> None:
    award = make_award(session, admin, badge_id, settings)
    again = awards.new_offer(session=session, principal=admin, award_id=award.id, pin=True, settings=settings)
    with pytest.raises(NotFound):
        _offer(session, settings, award.credential_offer_uri)
    assert _offer(session, settings, again.credential_offer_uri)["grants"][PRE_AUTHORIZED_CODE_GRANT]["tx_code"]


def test_an_issuer_that_requires_dpop_refuses_a_token_request_without_a_proof(
        session: Session, admin: Principal, badge_id: int, settings: IssuerSettings) -> None:
    strict = settings.model_copy(update={"dpop_required": True})
    award = make_award(session, admin, badge_id, strict)
    code = _offer(session, strict, award.credential_offer_uri)["grants"][PRE_AUTHORIZED_CODE_GRANT][
        "pre-authorized_code"]
    with pytest.raises(InvalidDpopProof, match="requires DPoP"):
        _token(session, strict, code)
    key = SoftwareSigner.generate("ES256")
    proof = create_dpop_proof(key, htm="POST", htu=settings.base_url + "/oid4vci/token")
    dpop = DpopRequest((proof,), "POST", settings.base_url + "/oid4vci/token", DpopNonces(b"test-secret"))
    answer = redeem_pre_authorized_code(session=session, settings=strict, dpop=dpop, form={
        "grant_type": PRE_AUTHORIZED_CODE_GRANT, "pre-authorized_code": code})
    assert answer["token_type"] == "DPoP"
    assert session.exec(select(AccessToken.dpop_jkt)).all() == [jwk_thumbprint(key.public_jwk)]
