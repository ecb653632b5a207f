"""The credential store: sealed storage, list/search/filter, detail, delete, per-learner scoping."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from schemas.oauth2 import NotFound
from tests.wallet.helpers import raw_database_bytes
from vc.jws import sign_jws, verify_jws
from vc.keys import generate_private_key
from wallet.accounts import LearnerContext
from wallet.models import HolderKey, StoredCredential
from wallet.store import (
    NewCredential,
    add_credentials,
    count_credentials,
    count_presentation,
    delete_credential,
    get_credential,
    holder_signer,
    list_credentials,
    search_words,
    select_by_type,
)


def _new(name: str, *, fmt: str = "jwt_vc_json", types: tuple[str, ...] = ("VerifiableCredential",),
         issuer: str = "Example University") -> NewCredential:
    return NewCredential(format=fmt, copies=[(f"raw-{name}-credential", generate_private_key())],
                         summary={"name": name, "types": list(types)}, types=types, search_text=[name, issuer])


def test_search_words_are_distinct_casefolded_words() -> None:
    assert search_words(["Web Security, web APIs!", None, "Ünïversity of X"]) == [
        "web", "security", "apis", "ünïversity", "of"]


def test_add_list_get_delete(session: Session, make_learner: Callable[..., LearnerContext]) -> None:
    ada = make_learner()
    ids = add_credentials(session=session, learner=ada, credentials=[_new("Web Security Essentials"),
                                                                     _new("Quantum Basics", fmt="dc+sd-jwt")])
    listed = list_credentials(session=session, learner=ada)
    assert {c.id for c in listed} == set(ids)
    assert all(c.credential is None for c in listed)  # lists never open the raw credential
    one = get_credential(session=session, learner=ada, credential_id=ids[0])
    assert one.credential == "raw-Web Security Essentials-credential"
    assert one.summary["name"] == "Web Security Essentials"
    key_id = one.copies[0].holder_key_id
    assert key_id is not None
    delete_credential(session=session, learner=ada, credential_id=ids[0])
    with pytest.raises(NotFound):
        get_credential(session=session, learner=ada, credential_id=ids[0])
    assert session.get(HolderKey, key_id) is None  # its holder key went with it
    assert count_credentials(session=session, learner=ada) == 1


def test_search_and_format_filter(session: Session, make_learner: Callable[..., LearnerContext]) -> None:
    ada = make_learner()
    add_credentials(session=session, learner=ada, credentials=[
        _new("Web Security Essentials"), _new("Web Design", fmt="dc+sd-jwt"),
        _new("Quantum Basics", issuer="Delft Institute")])

    def names(**kwargs: str) -> set[str]:
        return {c.summary["name"] for c in list_credentials(session=session, learner=ada, **kwargs)}

    assert names(query="web") == {"Web Security Essentials", "Web Design"}
    assert names(query="WEB security") == {"Web Security Essentials"}
    assert names(query="delft") == {"Quantum Basics"}
    assert names(query="web", format="dc+sd-jwt") == {"Web Design"}
    assert names(query="nothing-like-this") == set()
    assert names(query="%") == names()  # no words: no filter, and LIKE wildcards are not special
    assert count_credentials(session=session, learner=ada, query="web") == 2


def test_paging_is_newest_first(session: Session, make_learner: Callable[..., LearnerContext]) -> None:
    ada = make_learner()
    for name in ("one", "two", "three"):
        add_credentials(session=session, learner=ada, credentials=[_new(name)])
    first = list_credentials(session=session, learner=ada, limit=2)
    rest = list_credentials(session=session, learner=ada, limit=2, offset=2)
    assert [c.summary["name"] for c in first + rest] == ["three", "two", "one"]


def test_select_by_type_uses_the_keyed_type_index(session: Session,
                                                  make_learner: Callable[..., LearnerContext]) -> None:
    ada = make_learner()
    add_credentials(session=session, learner=ada, credentials=[
        _new("a", types=("VerifiableCredential", "OpenBadgeCredential")),
        _new("b", fmt="dc+sd-jwt", types=("https://issuer.example.edu/vct/microcredential/v1",)),
        _new("c", types=("VerifiableCredential", "EuropassCredential"))])
    assert [c.summary["name"] for c in select_by_type(session=session, learner=ada, format="jwt_vc_json",
                                                      type_values=["OpenBadgeCredential"])] == ["a"]
    assert {c.summary["name"] for c in select_by_type(session=session, learner=ada, format="jwt_vc_json",
                                                      type_values=None)} == {"a", "c"}
    assert [c.summary["name"] for c in select_by_type(
        session=session, learner=ada, format="dc+sd-jwt",
        type_values=["https://issuer.example.edu/vct/microcredential/v1"])] == ["b"]
    assert select_by_type(session=session, learner=ada, format="dc+sd-jwt", type_values=[]) == []


def test_a_learner_sees_and_touches_only_their_own(session: Session,
                                                   make_learner: Callable[..., LearnerContext]) -> None:
    ada, grace = make_learner("ada.lovelace"), make_learner("grace.hopper")
    [ada_id] = add_credentials(session=session, learner=ada, credentials=[_new("Shared Words Badge")])
    add_credentials(session=session, learner=grace, credentials=[_new("Shared Words Badge")])
    assert [c.id for c in list_credentials(session=session, learner=ada)] == [ada_id]
    assert len(list_credentials(session=session, learner=grace, query="shared")) == 1
    with pytest.raises(NotFound):
        get_credential(session=session, learner=grace, credential_id=ada_id)
    with pytest.raises(NotFound):
        delete_credential(session=session, learner=grace, credential_id=ada_id)
    ada_key_id = get_credential(session=session, learner=ada, credential_id=ada_id).copies[0].holder_key_id
    assert ada_key_id is not None
    with pytest.raises(NotFound):
        holder_signer(session=session, learner=grace, holder_key_id=ada_key_id)
    assert get_credential(session=session, learner=ada, credential_id=ada_id).credential
    # Same words, different learners: different keyed hashes.
    grace_rows = list_credentials(session=session, learner=grace)
    grace_row, ada_row = session.get(StoredCredential, grace_rows[0].id), session.get(StoredCredential, ada_id)
    assert grace_row is not None and ada_row is not None and grace_row.search_index != ada_row.search_index


def test_copies_rotate_and_their_keys_round_trip(session: Session,
                                                 make_learner: Callable[..., LearnerContext]) -> None:
    ada = make_learner()
    keys = [generate_private_key() for _ in range(3)]
    [cid] = add_credentials(session=session, learner=ada, credentials=[NewCredential(
        format="dc+sd-jwt", copies=[(f"copy-{i}~", k) for i, k in enumerate(keys)], summary={}, types=(),
        search_text=())])
    seen = []
    for _ in range(4):
        stored = get_credential(session=session, learner=ada, credential_id=cid)
        copy = stored.next_copy()
        assert copy.holder_key_id is not None
        signer = holder_signer(session=session, learner=ada, holder_key_id=copy.holder_key_id)
        index = int(copy.credential.split("-")[1].rstrip("~"))
        token = sign_jws({"nonce": "n"}, signer, typ="kb+jwt")
        assert verify_jws(token, keys[index].public_key(), algorithms=["ES256"], typ="kb+jwt")
        seen.append(index)
        count_presentation(session=session, learner=ada, credential_id=cid)
    assert seen == [0, 1, 2, 0]
    delete_credential(session=session, learner=ada, credential_id=cid)
    assert session.exec(select(func.count()).select_from(HolderKey)).one() == 0


def test_nothing_stored_in_plain_text(session: Session, db_path: Path,
                                      make_learner: Callable[..., LearnerContext]) -> None:
    ada = make_learner()
    add_credentials(session=session, learner=ada, credentials=[
        _new("Xylophone Mastery Zq", issuer="Quokka Polytechnic")])
    data = raw_database_bytes(db_path)
    for secret in (b"Xylophone", b"Quokka", b"raw-Xylophone", b"xylophone", b"quokka"):
        assert secret not in data
