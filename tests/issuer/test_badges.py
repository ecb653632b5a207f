"""Badge classes: OB 3.0 Achievement fields, EU microcredential elements, archive, access across institutions."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError
from sqlmodel import Session

from issuer.admin_models import BadgeClassCreate, BadgeClassUpdate, IssuerCreate, StaffCreate
from issuer.services import badges, institutions
from issuer.services.images import PNG_SIGNATURE, default_badge_png
from issuer.services.keys import KeyStore
from issuer.services.staff import Principal, authenticate, create_staff
from schemas.oauth2 import AccessDenied, InvalidRequest, NotFound
from tests.issuer.conftest import BASE_URL
from tests.issuer.factories import make_badge, make_institution


def test_badge_class_keeps_achievement_and_eu_fields(session: Session, admin: Principal, keys: KeyStore) -> None:
    inst = make_institution(session, admin, keys)
    png = default_badge_png("X", 1)
    badge = make_badge(
        session, admin, inst.id, BASE_URL, achievement_type="MicroCredential", tags=["security", "web"],
        image="data:image/png;base64," + base64.b64encode(png).decode(),
        alignments=[{"targetName": "manage information security", "targetType": "ext:ESCO",
                     "targetUrl": "http://data.europa.eu/esco/skill/0c3e5b79-3eb4-4f0e-8f5c-9d1ea0a4e3c7"}],
        result_descriptions=[{"name": "Final grade", "resultType": "ext:ECTSGradeScore", "requiredValue": "5.5",
                              "valueMin": "1", "valueMax": "10"}],
        learning_outcomes=["Threat modelling", "Secure API design"], assessment_type="testing",
        participation_type="online", supervision_type="supervised online", identity_checked=True,
        quality_assurance={"name": "NVAO", "url": "https://www.nvao.net/"}, language="en", nlqf_level=6)
    assert badge.ects == 3.0 and badge.eqf_level == 6 and badge.nlqf_level == 6
    assert badge.result_descriptions[0]["id"] == f"{BASE_URL}/badge-classes/{badge.id}#result-1"
    assert badge.result_descriptions[0]["requiredValue"] == "5.5"
    assert badge.vct == f"{BASE_URL}/vct/badge-classes/{badge.id}"
    assert badge.image_url == f"{BASE_URL}/badge-classes/{badge.id}/image"
    assert badges.badge_image(session=session, badge_class_id=badge.id) == (png, "image/png")
    # a default issuer named after the institution was made
    assert [i.name for i in institutions.list_issuers(session=session, principal=admin,
                                                      institution_id=inst.id)] == [inst.name]


def test_badge_without_image_gets_a_generated_png(session: Session, admin: Principal, keys: KeyStore) -> None:
    inst = make_institution(session, admin, keys)
    badge = make_badge(session, admin, inst.id, BASE_URL)
    content, media_type = badges.badge_image(session=session, badge_class_id=badge.id)
    assert media_type == "image/png" and content.startswith(PNG_SIGNATURE)


def test_bad_badge_input_is_refused(session: Session, admin: Principal, keys: KeyStore) -> None:
    inst = make_institution(session, admin, keys)
    with pytest.raises(ValidationError):
        BadgeClassCreate(institution_id=inst.id, name="x", unknown_field=1)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        BadgeClassCreate(institution_id=inst.id, name="x", eqf_level=9)
    with pytest.raises(ValidationError):
        BadgeClassCreate(institution_id=inst.id, name="x", ects=2.3)
    with pytest.raises(InvalidRequest):
        make_badge(session, admin, inst.id, BASE_URL, image="data:image/png;base64,"
                   + base64.b64encode(b"GIF89a not a png").decode())


def test_archive_hides_from_list_but_keeps_the_badge(session: Session, admin: Principal, keys: KeyStore) -> None:
    inst = make_institution(session, admin, keys)
    badge = make_badge(session, admin, inst.id, BASE_URL)
    archived = badges.update_badge_class(session=session, principal=admin, badge_class_id=badge.id,
                                         data=BadgeClassUpdate(archived=True, description="Old"), base_url=BASE_URL)
    assert archived.archived and archived.description == "Old"
    assert badges.list_badge_classes(session=session, principal=admin, base_url=BASE_URL) == []
    assert [b.id for b in badges.list_badge_classes(session=session, principal=admin, base_url=BASE_URL,
                                                    include_archived=True)] == [badge.id]


def test_other_institutions_badges_are_invisible(session: Session, admin: Principal, keys: KeyStore) -> None:
    one = make_institution(session, admin, keys, "One")
    two = make_institution(session, admin, keys, "Two")
    badge_two = make_badge(session, admin, two.id, BASE_URL)
    boss = authenticate(session=session, token=create_staff(session=session, principal=admin, data=StaffCreate(
        name="boss", role="institution_admin", institution_id=one.id)).token)
    with pytest.raises(NotFound):
        badges.get_badge_class(session=session, principal=boss, badge_class_id=badge_two.id, base_url=BASE_URL)
    with pytest.raises(NotFound):
        badges.update_badge_class(session=session, principal=boss, badge_class_id=badge_two.id,
                                  data=BadgeClassUpdate(name="Hijacked"), base_url=BASE_URL)
    with pytest.raises(NotFound):
        make_badge(session, boss, two.id, BASE_URL)
    assert badges.list_badge_classes(session=session, principal=boss, base_url=BASE_URL) == []


def test_issuer_staff_work_only_on_their_issuers_badges(session: Session, admin: Principal, keys: KeyStore) -> None:
    inst = make_institution(session, admin, keys)
    science = institutions.create_issuer(session=session, principal=admin, institution_id=inst.id,
                                         data=IssuerCreate(name="Science"))
    law = institutions.create_issuer(session=session, principal=admin, institution_id=inst.id,
                                     data=IssuerCreate(name="Law"))
    clerk = authenticate(session=session, token=create_staff(session=session, principal=admin, data=StaffCreate(
        name="clerk", role="issuer_staff", institution_id=inst.id, issuer_id=science.id)).token)
    own = make_badge(session, clerk, inst.id, BASE_URL)
    assert own.issuer_id == science.id
    law_badge = make_badge(session, admin, inst.id, BASE_URL, issuer_id=law.id)
    with pytest.raises(AccessDenied):
        badges.get_badge_class(session=session, principal=clerk, badge_class_id=law_badge.id, base_url=BASE_URL)
    assert [b.id for b in badges.list_badge_classes(session=session, principal=clerk, base_url=BASE_URL)] == [own.id]
