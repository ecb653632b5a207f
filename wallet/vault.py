"""Encryption at rest: one data key per learner, wrapped by the service's master key.

Everything a learner keeps (credentials, holder keys, their username, the history of
what they shared) is sealed with AES-256-GCM under their own data key; the data key
itself is sealed under the master key (`vc.keys.MasterKey`). Deleting the learner's
row therefore shreds everything sealed under it.

Each sealed value names its purpose and its owner in the associated data, so a blob
cannot be moved to another row or another learner. What the database must search on
(the username at login, credential types and words for search) is stored only as a
keyed hash (HMAC-SHA256, truncated): equal inputs give equal hashes for the key's
owner, and without the key a hash says nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vc.encoding import b64url_encode
from vc.keys import MasterKey

__all__ = ["DataKey", "IndexKey", "normalise_term", "unwrap_data_key", "wrap_new_data_key"]

_INDEX_HASH_BYTES = 12


def _derive(secret: bytes, info: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info.encode()).derive(secret)


def normalise_term(value: str) -> str:
    """What index hashes are taken of: case-folded, surrounding space removed."""
    return " ".join(value.casefold().split())


class IndexKey:
    """Keyed hashes for lookups (HMAC-SHA256 truncated to 96 bits, base64url)."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def hash(self, value: str) -> str:
        return self.hash_exact(normalise_term(value))

    def hash_exact(self, value: str) -> str:
        """The keyed hash of `value` as it is (for identifiers that are case-sensitive, like an OIDC `sub`)."""
        digest = hmac.new(self._secret, value.encode("utf-8"), hashlib.sha256).digest()
        return b64url_encode(digest[:_INDEX_HASH_BYTES])


class DataKey:
    """A learner's data key: seals their data and keys their index hashes."""

    def __init__(self, secret: bytes, owner: str) -> None:
        if len(secret) != 32:
            raise ValueError("a data key is 32 bytes")
        self.owner = owner
        self._sealer = MasterKey(_derive(secret, "eduwallet wallet seal"))
        self.index = IndexKey(_derive(secret, "eduwallet wallet index"))
        self._secret = secret

    def _aad(self, purpose: str) -> str:
        return f"{self.owner}|{purpose}"

    def seal(self, plaintext: bytes, purpose: str) -> str:
        return self._sealer.seal(plaintext, self._aad(purpose))

    def open(self, sealed: str, purpose: str) -> bytes:
        return self._sealer.open(sealed, self._aad(purpose))

    def seal_json(self, value: Any, purpose: str) -> str:
        return self.seal(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), purpose)

    def open_json(self, sealed: str, purpose: str) -> Any:
        return json.loads(self.open(sealed, purpose))

    def export_secret(self) -> bytes:
        """The raw key, for re-wrapping (backup); never store it unsealed."""
        return self._secret


def _wrap_aad(owner: str) -> str:
    return f"wallet-data-key|{owner}"


def wrap_new_data_key(master_key: MasterKey, owner: str) -> tuple[DataKey, str]:
    """A fresh data key for `owner` and its sealed (wrapped) form for the database."""
    secret = os.urandom(32)
    return DataKey(secret, owner), master_key.seal(secret, _wrap_aad(owner))


def unwrap_data_key(master_key: MasterKey, owner: str, wrapped: str) -> DataKey:
    return DataKey(master_key.open(wrapped, _wrap_aad(owner)), owner)
