"""Staff accounts, API keys (stored hashed), roles, and the development bootstrap."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlmodel import Session, select

from issuer.admin_models import IssuerCreate, StaffCreate
from issuer.models import ApiKey
from issuer.services import institutions
from issuer.services.keys import KeyStore
from issuer.services.staff import Principal, authenticate, bootstrap_admin, create_api_key, create_staff
from schemas.oauth2 import AccessDenied, InvalidRequest, InvalidToken, NotFound
from tests.issuer.factories import make_institution


def test_bootstrap_writes_a_working_token_once_with_mode_0600(session: Session, tmp_path: Path) -> None:
    path = bootstrap_admin(session=session, var_dir=tmp_path / "var")
    assert path is not None
    token_file = Path(path)
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    principal = authenticate(session=session, token=token)
    assert principal.role == "service_admin"
    # the database keeps only a hash of the token
    hashes = session.exec(select(ApiKey.token_hash)).all()
    assert token not in hashes and len(hashes) == 1
    assert bootstrap_admin(session=session, var_dir=tmp_path / "var") is None
    assert token_file.read_text().strip() == token


def test_unknown_or_missing_token_is_invalid_token(session: Session) -> None:
    with pytest.raises(InvalidToken):
        authenticate(session=session, token="ewi_nope")
    with pytest.raises(InvalidToken):
        authenticate(session=session, token=None)


def test_institution_admin_manages_only_their_institution(session: Session, admin: Principal,
                                                          keys: KeyStore) -> None:
    one = make_institution(session, admin, keys, "One")
    two = make_institution(session, admin, keys, "Two")
    created = create_staff(session=session, principal=admin,
                           data=StaffCreate(name="boss of one", role="institution_admin", institution_id=one.id))
    assert created.token
    boss = authenticate(session=session, token=created.token)
    institutions.create_issuer(session=session, principal=boss, institution_id=one.id,
                               data=IssuerCreate(name="Faculty of Science"))
    with pytest.raises(NotFound):
        institutions.create_issuer(session=session, principal=boss, institution_id=two.id,
                                   data=IssuerCreate(name="Sneaky"))
    with pytest.raises(NotFound):
        create_staff(session=session, principal=boss,
                     data=StaffCreate(name="mole", role="institution_admin", institution_id=two.id))
    with pytest.raises(AccessDenied):
        create_staff(session=session, principal=boss, data=StaffCreate(name="root", role="service_admin"))
    assert [i.name for i in institutions.list_institutions(session=session, principal=boss,
                                                           base_url=keys.base_url)] == ["One"]


def test_issuer_staff_need_an_issuer_of_their_institution(session: Session, admin: Principal,
                                                          keys: KeyStore) -> None:
    one = make_institution(session, admin, keys, "One")
    two = make_institution(session, admin, keys, "Two")
    faculty_two = institutions.create_issuer(session=session, principal=admin, institution_id=two.id,
                                             data=IssuerCreate(name="Law"))
    with pytest.raises(InvalidRequest):
        create_staff(session=session, principal=admin, data=StaffCreate(
            name="x", role="issuer_staff", institution_id=one.id, issuer_id=faculty_two.id))
    staff = create_staff(session=session, principal=admin, data=StaffCreate(
        name="y", role="issuer_staff", institution_id=two.id, issuer_id=faculty_two.id))
    clerk = authenticate(session=session, token=staff.token)
    assert clerk == Principal(staff.id, "issuer_staff", two.id, faculty_two.id)
    with pytest.raises(AccessDenied):
        institutions.create_issuer(session=session, principal=clerk, institution_id=two.id,
                                   data=IssuerCreate(name="Own faculty"))
    second = create_api_key(session=session, principal=clerk, staff_id=staff.id)
    assert second.token != staff.token
    assert authenticate(session=session, token=second.token).staff_id == staff.id
