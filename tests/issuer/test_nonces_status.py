"""`c_nonce` single use and expiry; random, unique status indices and the lists built from award statuses."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import event, insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from issuer.models import Award, BadgeClass, CNonce, Institution, IssuedCredential, Issuer, StatusList
from issuer.services.keys import KeyStore
from issuer.services.nonces import consume_c_nonce, issue_c_nonce, purge_c_nonces
from issuer.services.status import (
    BITSTRING_STATUS_LIST,
    TOKEN_STATUS_LIST,
    StatusEntry,
    claim_status_entries,
    status_list_token,
)
from schemas.oid4vci import InvalidNonce
from vc.jws import decode_jws
from vc.token_status_list import INVALID, SUSPENDED, VALID
from vc.token_status_list import StatusList as TokenStatusList


def test_c_nonce_is_single_use_and_expires(session: Session) -> None:
    value = issue_c_nonce(session=session, ttl_seconds=300, now=1000)
    assert value not in session.exec(select(CNonce.value_hash)).all()  # stored as a hash
    consume_c_nonce(session=session, c_nonce=value, now=1100)
    with pytest.raises(InvalidNonce):
        consume_c_nonce(session=session, c_nonce=value, now=1101)
    old = issue_c_nonce(session=session, ttl_seconds=300, now=1000)
    with pytest.raises(InvalidNonce):
        consume_c_nonce(session=session, c_nonce=old, now=1300)
    with pytest.raises(InvalidNonce):
        consume_c_nonce(session=session, c_nonce="never-issued", now=1000)
    assert purge_c_nonces(session=session, now=1300) == 2


def _award(session: Session, keys: KeyStore) -> Award:
    institution = Institution(name="Uni")
    session.add(institution)
    session.flush()
    assert institution.id is not None
    keys.new_key(session=session, institution_id=institution.id)
    issuer = Issuer(institution_id=institution.id, name="F")
    session.add(issuer)
    session.flush()
    assert issuer.id is not None
    badge = BadgeClass(institution_id=institution.id, issuer_id=issuer.id, name="B")
    session.add(badge)
    session.flush()
    assert badge.id is not None
    award = Award(badge_class_id=badge.id, institution_id=institution.id, learner_name="A", learner_email="a@b.nl")
    session.add(award)
    session.commit()
    return award


def _row(award: Award) -> dict[str, Any]:
    return {"award_id": award.id, "credential_configuration_id": "EduCredentialSdJwt", "credential_id": "urn:uuid:x",
            "signing_kid": "k", "issued_at": 0}


def _claim(session: Session, award: Award, count: int = 1, kind: str = TOKEN_STATUS_LIST,
           rng: random.Random | None = None) -> list[StatusEntry]:
    return claim_status_entries(session=session, institution_id=award.institution_id, kind=kind,  # type: ignore[arg-type]
                                size=131_072, credentials=[_row(award)] * count, rng=rng)


def _fill(session: Session, award: Award, claimed: StatusEntry, used: int) -> None:
    """Take indices of `claimed`'s list until `used` are taken."""
    session.execute(insert(IssuedCredential), [
        {**_row(award), "credential_id": f"urn:uuid:{n}", "status_list_id": claimed.status_list_id, "status_index": n}
        for n in range(used) if n != claimed.index][:used - 1])
    session.commit()


def test_indices_are_random_and_unique(session: Session, keys: KeyStore) -> None:
    award = _award(session, keys)
    entries = [entry for _ in range(5) for entry in _claim(session, award, 10)]
    session.commit()
    assert len({e.status_list_id for e in entries}) == 1
    indices = [e.index for e in entries]
    assert len(set(indices)) == 50 and indices != sorted(indices)
    logged = session.exec(select(IssuedCredential.status_index)).all()
    assert sorted(logged) == sorted(indices), "the insert of the log rows is the claim"


def test_a_half_full_list_is_followed_by_a_new_one(session: Session, keys: KeyStore) -> None:
    award = _award(session, keys)
    [first] = _claim(session, award)
    _fill(session, award, first, 65_536)
    rng = random.Random(3)
    lists = [entry.status_list_id for _ in range(30) for entry in _claim(session, award, 2, rng=rng)]
    session.commit()
    # a pick that lands on a used index has the fill estimated; from then on credentials go to a new list
    assert lists[-1] != first.status_list_id
    assert lists == sorted(lists) and len(session.exec(select(StatusList)).all()) == 2


def test_a_list_far_from_half_full_is_kept(session: Session, keys: KeyStore) -> None:
    award = _award(session, keys)
    [first] = _claim(session, award)
    _fill(session, award, first, 13_107)  # 10 %: picks hit used indices now and then
    rng = random.Random(5)
    entries = [entry for _ in range(30) for entry in _claim(session, award, 3, rng=rng)]
    assert {e.status_list_id for e in entries} == {first.status_list_id}


def test_claiming_status_entries_never_scans_the_log(session: Session, keys: KeyStore, engine: Engine) -> None:
    """Every query a claim runs is an index search (SQLite's query plan), and in the credential log a
    lookup of single (list, index) keys, never a range over a whole list (as counting would be)."""
    award = _award(session, keys)
    [first] = _claim(session, award)
    _fill(session, award, first, 20_000)
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    rng = random.Random(11)
    try:
        for _ in range(20):
            _claim(session, award, 10, rng=rng)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    session.rollback()
    assert any("status_index IN" in statement for statement, _ in statements)
    with engine.connect() as connection:
        for statement, parameters in statements:
            plan = [step[-1] for step in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
            assert not [step for step in plan if step.startswith("SCAN")], (statement, plan)
            assert all("status_index=?" in step for step in plan if "issuedcredential" in step), (statement, plan)


def test_token_status_list_follows_award_status(session: Session, keys: KeyStore) -> None:
    award = _award(session, keys)
    [entry] = _claim(session, award)
    session.commit()

    def value() -> int:
        token = status_list_token(session=session, keys=keys, list_id=entry.status_list_id, ttl_seconds=60)
        return TokenStatusList.from_json(decode_jws(token).claims()["status_list"]).get(entry.index)

    assert value() == VALID
    for status, expected in (("suspended", SUSPENDED), ("revoked", INVALID)):
        award.status = status
        session.add(award)
        session.commit()
        assert value() == expected


def test_bitstring_list_and_token_list_are_separate_kinds(session: Session, keys: KeyStore) -> None:
    award = _award(session, keys)
    [bsl] = _claim(session, award, kind=BITSTRING_STATUS_LIST)
    session.commit()
    from schemas.oauth2 import NotFound

    with pytest.raises(NotFound):
        status_list_token(session=session, keys=keys, list_id=bsl.status_list_id, ttl_seconds=60)
