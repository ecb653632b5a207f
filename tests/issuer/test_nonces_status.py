"""`c_nonce` single use and expiry; random, unique status indices and the lists built from award statuses."""

from __future__ import annotations

import pytest
from sqlalchemy import insert
from sqlmodel import Session, select

from issuer.models import Award, BadgeClass, CNonce, Institution, IssuedCredential, Issuer, StatusList
from issuer.services.keys import KeyStore
from issuer.services.nonces import consume_c_nonce, issue_c_nonce, purge_c_nonces
from issuer.services.status import (
    BITSTRING_STATUS_LIST,
    TOKEN_STATUS_LIST,
    allocate_status_entry,
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


def _row(award: Award) -> IssuedCredential:
    assert award.id is not None
    return IssuedCredential(award_id=award.id, credential_configuration_id="EduCredentialSdJwt",
                            credential_id="urn:uuid:x", status_list_id=0, status_index=0, signing_kid="k")


def test_indices_are_random_and_unique(session: Session, keys: KeyStore) -> None:
    award = _award(session, keys)
    entries = [allocate_status_entry(session=session, institution_id=award.institution_id, kind=TOKEN_STATUS_LIST,
                                     size=131_072, credential=_row(award)) for _ in range(50)]
    session.commit()
    assert len({e.status_list_id for e in entries}) == 1
    indices = [e.index for e in entries]
    assert len(set(indices)) == 50 and indices != sorted(indices)


def test_a_half_full_list_is_followed_by_a_new_one(session: Session, keys: KeyStore) -> None:
    award = _award(session, keys)
    first = allocate_status_entry(session=session, institution_id=award.institution_id, kind=TOKEN_STATUS_LIST,
                                  size=131_072, credential=_row(award))
    session.execute(insert(IssuedCredential), [
        {"award_id": award.id, "credential_configuration_id": "EduCredentialSdJwt", "credential_id": f"urn:uuid:{n}",
         "status_list_id": first.status_list_id, "status_index": n, "signing_kid": "k", "issued_at": 0}
        for n in range(65_536) if n != first.index])
    session.commit()
    lists = []
    for _ in range(60):  # each pick hits a used index with probability 1/2; then the fill is counted
        lists.append(allocate_status_entry(session=session, institution_id=award.institution_id,
                                           kind=TOKEN_STATUS_LIST, size=131_072, credential=_row(award)).status_list_id)
    session.commit()
    # once a pick lands on a used index of the half-full list, every later credential goes to a new list
    assert lists[-1] != first.status_list_id
    assert lists == sorted(lists) and len(session.exec(select(StatusList)).all()) == 2


def test_token_status_list_follows_award_status(session: Session, keys: KeyStore) -> None:
    award = _award(session, keys)
    entry = allocate_status_entry(session=session, institution_id=award.institution_id, kind=TOKEN_STATUS_LIST,
                                  size=131_072, credential=_row(award))
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
    bsl = allocate_status_entry(session=session, institution_id=award.institution_id, kind=BITSTRING_STATUS_LIST,
                                size=131_072, credential=_row(award))
    session.commit()
    from schemas.oauth2 import NotFound

    with pytest.raises(NotFound):
        status_list_token(session=session, keys=keys, list_id=bsl.status_list_id, ttl_seconds=60)
