"""Learner accounts: registration, login, tokens, deletion (service layer on real SQLite)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from schemas.oauth2 import InvalidGrant, InvalidRequest, InvalidToken
from tests.wallet.helpers import raw_database_bytes
from vc.errors import VcError
from vc.keys import MasterKey, generate_private_key
from wallet.accounts import (
    API_TOKEN,
    PAGE_SESSION,
    LearnerContext,
    authenticate,
    delete_learner,
    issue_token,
    learner_context,
    purge_expired,
    resolve_token,
    revoke_token,
)
from wallet.errors import Conflict
from wallet.models import AuthToken, HolderKey, Learner, PresentationRecord, StoredCredential, WalletTable, utcnow
from wallet.store import NewCredential, add_credentials
from wallet.vault import IndexKey, unwrap_data_key


def test_register_then_log_in(session: Session, master_key: MasterKey, username_index: IndexKey,
                              make_learner: Callable[..., LearnerContext]) -> None:
    created = make_learner("ada.lovelace", "correct horse battery")
    logged_in = authenticate(session=session, master_key=master_key, username_index=username_index,
                             username="ada.lovelace", password="correct horse battery")
    assert logged_in.id == created.id
    assert logged_in.username == "ada.lovelace"
    row = session.get(Learner, created.id)
    assert row is not None and row.password_hash is not None and row.password_hash.startswith("$argon2id$")


def test_usernames_are_unique_ignoring_case(make_learner: Callable[..., LearnerContext]) -> None:
    make_learner("ada.lovelace")
    with pytest.raises(Conflict) as caught:
        make_learner("Ada.Lovelace")
    assert caught.value.status_code == 409


@pytest.mark.parametrize(("username", "password"), [("ab", "long enough pw"), ("has space", "long enough pw"),
                                                    ("-leading", "long enough pw"), ("fine.name", "short")])
def test_register_refuses_bad_usernames_and_passwords(make_learner: Callable[..., LearnerContext], username: str,
                                                      password: str) -> None:
    with pytest.raises(InvalidRequest):
        make_learner(username, password)


def test_wrong_password_and_unknown_user_fail_alike(session: Session, master_key: MasterKey,
                                                    username_index: IndexKey,
                                                    make_learner: Callable[..., LearnerContext]) -> None:
    make_learner("ada.lovelace", "correct horse battery")
    for username, password in [("ada.lovelace", "wrong password!"), ("nobody.here", "correct horse battery")]:
        with pytest.raises(InvalidGrant) as caught:
            authenticate(session=session, master_key=master_key, username_index=username_index,
                         username=username, password=password)
        assert caught.value.description == "wrong username or password"


def test_tokens_resolve_until_they_expire_or_are_revoked(session: Session, master_key: MasterKey,
                                                         make_learner: Callable[..., LearnerContext]) -> None:
    learner = make_learner()
    now = utcnow()
    token = issue_token(session=session, learner_id=learner.id, kind=API_TOKEN, ttl=timedelta(hours=1), now=now)
    assert resolve_token(session=session, master_key=master_key, token=token, kind=API_TOKEN, now=now).id == learner.id
    assert session.get(AuthToken, token) is None  # only the hash is stored
    with pytest.raises(InvalidToken):
        resolve_token(session=session, master_key=master_key, token=token, kind=PAGE_SESSION, now=now)
    with pytest.raises(InvalidToken):
        resolve_token(session=session, master_key=master_key, token=token, kind=API_TOKEN,
                      now=now + timedelta(hours=1, seconds=1))
    with pytest.raises(InvalidToken):
        resolve_token(session=session, master_key=master_key, token=token + "x", kind=API_TOKEN, now=now)
    revoke_token(session=session, token=token)
    with pytest.raises(InvalidToken):
        resolve_token(session=session, master_key=master_key, token=token, kind=API_TOKEN, now=now)


def test_purge_drops_expired_tokens(session: Session, make_learner: Callable[..., LearnerContext]) -> None:
    learner = make_learner()
    now = utcnow()
    issue_token(session=session, learner_id=learner.id, kind=API_TOKEN, ttl=timedelta(seconds=1), now=now)
    keep = issue_token(session=session, learner_id=learner.id, kind=API_TOKEN, ttl=timedelta(days=1), now=now)
    purge_expired(session=session, now=now + timedelta(minutes=1))
    assert session.exec(select(func.count()).select_from(AuthToken)).one() == 1
    assert keep


def test_data_key_is_bound_to_its_learner(session: Session, master_key: MasterKey,
                                          make_learner: Callable[..., LearnerContext]) -> None:
    ada, grace = make_learner("ada.lovelace"), make_learner("grace.hopper")
    ada_row, grace_row = session.get(Learner, ada.id), session.get(Learner, grace.id)
    assert ada_row is not None and grace_row is not None
    # A wrapped key moved to another learner's row does not open.
    with pytest.raises(VcError):
        unwrap_data_key(master_key, grace.id, ada_row.data_key_sealed)
    # Nor does a sealed username copied between learners.
    grace_row.username_sealed = ada_row.username_sealed
    with pytest.raises(VcError):
        learner_context(grace_row, master_key)
    # Nor anything under another master key.
    with pytest.raises(VcError):
        learner_context(ada_row, MasterKey.from_text(MasterKey.generate_text()))


def test_usernames_are_not_stored_in_plain_text(session: Session, db_path: Path,
                                                make_learner: Callable[..., LearnerContext]) -> None:
    make_learner("zenobia.quartermaine")
    session.close()
    assert b"zenobia" not in raw_database_bytes(db_path)


def _count(session: Session, table: type[WalletTable], learner_id: str) -> int:
    return session.exec(select(func.count()).select_from(table).where(  # type: ignore[attr-defined]
        table.learner_id == learner_id)).one()


def test_delete_learner_removes_everything_they_own(session: Session,
                                                    make_learner: Callable[..., LearnerContext]) -> None:
    ada, grace = make_learner("ada.lovelace"), make_learner("grace.hopper")
    for learner in (ada, grace):
        issue_token(session=session, learner_id=learner.id, kind=API_TOKEN, ttl=timedelta(hours=1))
        add_credentials(session=session, learner=learner, credentials=[NewCredential(
            format="dc+sd-jwt", copies=[("raw~", generate_private_key())], summary={"name": "Badge"},
            types=["urn:t"], search_text=["Badge"])])
        session.add(PresentationRecord(id=learner.id[:8] + "-rec", learner_id=learner.id,
                                       record_sealed=learner.data_key.seal_json({}, "x"), created_at=utcnow()))
        session.commit()
    delete_learner(session=session, learner_id=ada.id)
    assert session.get(Learner, ada.id) is None
    for table in (AuthToken, StoredCredential, HolderKey, PresentationRecord):
        assert _count(session, table, ada.id) == 0
        assert _count(session, table, grace.id) == 1
