"""An encrypted full backup of a learner's wallet, and importing it into another (or a fresh) wallet.

The backup holds every credential copy with its holder key, the rendering summaries and
the presentation history, as JSON encrypted with AES-256-GCM under a key derived from the
learner's passphrase with scrypt (RFC 7914; N=2^15, r=8, p=1). Without the passphrase it
is opaque; a wrong passphrase or a changed byte fails to open (`invalid_grant`).
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlmodel import Session, col, select

from schemas.oauth2 import InvalidGrant, InvalidRequest
from vc.encoding import b64url_decode, b64url_encode
from vc.errors import MalformedToken
from vc.jwk import private_jwk, private_key_from_jwk
from wallet.accounts import LearnerContext
from wallet.history import list_history, record_presentation
from wallet.models import StoredCredential, aware
from wallet.rendering import index_types, search_text
from wallet.store import NewCredential, add_credentials, get_credential, holder_signer

__all__ = ["BACKUP_FORMAT", "create_backup", "restore_backup"]

BACKUP_FORMAT = "eduwallet-backup"
_VERSION = 1
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}
_MIN_PASSPHRASE = 8


def _key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    if not isinstance(passphrase, str) or len(passphrase) < _MIN_PASSPHRASE:
        raise InvalidRequest(f"a backup passphrase has at least {_MIN_PASSPHRASE} characters")
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def create_backup(*, session: Session, learner: LearnerContext, passphrase: str) -> dict[str, Any]:
    """The learner's whole wallet, encrypted under `passphrase`."""
    ids = session.exec(select(StoredCredential.id).where(StoredCredential.learner_id == learner.id)
                       .order_by(col(StoredCredential.received_at))).all()
    credentials = []
    for credential_id in ids:
        credential = get_credential(session=session, learner=learner, credential_id=credential_id)
        copies = []
        for copy in credential.copies:
            holder_key = None
            if copy.holder_key_id is not None:
                holder_key = private_jwk(holder_signer(session=session, learner=learner,
                                                       holder_key_id=copy.holder_key_id).private_key)
            copies.append({"credential": copy.credential, "holder_key": holder_key})
        credentials.append({"format": credential.format, "received_at": aware(credential.received_at).isoformat(),
                            "summary": credential.summary, "claims": credential.claims, "copies": copies})
    content = {"locale": learner.locale, "credentials": credentials,
               "history": list_history(session=session, learner=learner, limit=10_000)}
    salt, nonce = os.urandom(16), os.urandom(12)
    key = _key(passphrase, salt, **_SCRYPT)
    ciphertext = AESGCM(key).encrypt(nonce, json.dumps(content).encode("utf-8"), BACKUP_FORMAT.encode())
    return {"format": BACKUP_FORMAT, "version": _VERSION,
            "kdf": {"name": "scrypt", "salt": b64url_encode(salt), **_SCRYPT},
            "nonce": b64url_encode(nonce), "ciphertext": b64url_encode(ciphertext)}


def _open(backup: Any, passphrase: str) -> dict[str, Any]:
    try:
        if backup.get("format") != BACKUP_FORMAT or backup.get("version") != _VERSION:
            raise InvalidRequest("not an eduwallet backup of a version this wallet reads")
        kdf = backup["kdf"]
        if kdf.get("name") != "scrypt" or not (2**14 <= kdf["n"] <= 2**20 and kdf["r"] <= 16 and kdf["p"] <= 4):
            raise InvalidRequest("the backup's key derivation parameters are not acceptable")
        key = _key(passphrase, b64url_decode(kdf["salt"]), kdf["n"], kdf["r"], kdf["p"])
        plaintext = AESGCM(key).decrypt(b64url_decode(backup["nonce"]), b64url_decode(backup["ciphertext"]),
                                        BACKUP_FORMAT.encode())
    except (AttributeError, KeyError, TypeError, MalformedToken) as exc:
        raise InvalidRequest("the backup is malformed") from exc
    except InvalidTag as exc:
        raise InvalidGrant("wrong passphrase, or the backup was changed") from exc
    content = json.loads(plaintext)
    if not isinstance(content, dict) or not isinstance(content.get("credentials"), list):
        raise InvalidRequest("the backup is malformed")
    return content


def restore_backup(*, session: Session, learner: LearnerContext, backup: Any, passphrase: str) -> dict[str, int]:
    """Add everything in the backup to the learner's wallet (credentials get new ids)."""
    content = _open(backup, passphrase)
    restored = []
    try:
        for item in content["credentials"]:
            summary = item["summary"]
            restored.append((datetime.fromisoformat(item["received_at"]), NewCredential(
                format=item["format"], summary=summary, claims=item["claims"],
                types=index_types(summary.get("types") or []), search_text=search_text(summary, learner.locale),
                copies=[(c["credential"], private_key_from_jwk(c["holder_key"]) if c["holder_key"] else None)
                        for c in item["copies"]])))
    except (KeyError, TypeError, ValueError, MalformedToken) as exc:
        raise InvalidRequest("the backup is malformed") from exc
    for received_at, credential in restored:
        add_credentials(session=session, learner=learner, credentials=[credential], now=received_at)
    history = [h for h in content.get("history") or () if isinstance(h, dict)]
    for record in reversed(history):
        at = record.pop("at", None)
        record.pop("id", None)
        record_presentation(session=session, learner=learner, record=record,
                            now=datetime.fromisoformat(at) if isinstance(at, str) else None)
    return {"credentials": len(restored), "history": len(history)}
