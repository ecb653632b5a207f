"""Encrypted backups: opaque without the passphrase, refused when changed, restored whole."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlmodel import Session

from schemas.oauth2 import InvalidGrant, InvalidRequest
from vc.encoding import b64url_decode, b64url_encode
from vc.keys import generate_private_key
from wallet.accounts import LearnerContext
from wallet.backup import create_backup, restore_backup
from wallet.history import list_history, record_presentation
from wallet.store import NewCredential, add_credentials, get_credential, holder_signer, list_credentials


def _fill(session: Session, learner: LearnerContext) -> str:
    [credential_id] = add_credentials(session=session, learner=learner, credentials=[NewCredential(
        format="dc+sd-jwt", copies=[("copy-a~", generate_private_key()), ("copy-b~", generate_private_key())],
        summary={"name": "Marsupial Studies Qv", "types": ["urn:vct:x"]}, types=["urn:vct:x"],
        search_text=["Marsupial Studies Qv"], claims={"grade": "B+"})])
    record_presentation(session=session, learner=learner, record={"verifier": "x509_hash:abc", "outcome": "sent"})
    return credential_id


def test_backup_restores_everything_into_another_account(session: Session,
                                                         make_learner: Callable[..., LearnerContext]) -> None:
    ada, fresh = make_learner("ada.lovelace"), make_learner("ada.again")
    original = get_credential(session=session, learner=ada, credential_id=_fill(session, ada))
    backup = create_backup(session=session, learner=ada, passphrase="long passphrase")
    assert "Marsupial" not in json.dumps(backup) and "copy-a" not in json.dumps(backup)
    assert restore_backup(session=session, learner=fresh, backup=backup, passphrase="long passphrase") == {
        "credentials": 1, "history": 1}
    [restored] = list_credentials(session=session, learner=fresh, query="marsupial")
    restored_full = get_credential(session=session, learner=fresh, credential_id=restored.id)
    assert [c.credential for c in restored_full.copies] == ["copy-a~", "copy-b~"]
    assert restored_full.claims == {"grade": "B+"} and restored_full.summary == original.summary
    for before, after in zip(original.copies, restored_full.copies, strict=True):
        assert before.holder_key_id and after.holder_key_id
        assert (holder_signer(session=session, learner=ada, holder_key_id=before.holder_key_id).public_jwk
                == holder_signer(session=session, learner=fresh, holder_key_id=after.holder_key_id).public_jwk)
    assert list_history(session=session, learner=fresh)[0]["verifier"] == "x509_hash:abc"


def test_wrong_passphrase_changed_bytes_and_junk_are_refused(session: Session,
                                                             make_learner: Callable[..., LearnerContext]) -> None:
    ada = make_learner()
    _fill(session, ada)
    backup = create_backup(session=session, learner=ada, passphrase="long passphrase")
    with pytest.raises(InvalidGrant):
        restore_backup(session=session, learner=ada, backup=backup, passphrase="other passphrase")
    changed = bytearray(b64url_decode(backup["ciphertext"]))
    changed[10] ^= 1
    with pytest.raises(InvalidGrant):
        restore_backup(session=session, learner=ada, passphrase="long passphrase",
                       backup={**backup, "ciphertext": b64url_encode(bytes(changed))})
    for junk in ({}, {"format": "eduwallet-backup", "version": 1}, {**backup, "kdf": {**backup["kdf"], "n": 2**30}},
                 {**backup, "nonce": "!!"}):
        with pytest.raises(InvalidRequest):
            restore_backup(session=session, learner=ada, backup=junk, passphrase="long passphrase")
    with pytest.raises(InvalidRequest):
        create_backup(session=session, learner=ada, passphrase="short")
