"""The pages' secret (CSRF tokens, flash cookies): random, sealed under the master key in the database.

Every worker and every restart must sign alike, so the first start makes 32 random bytes and
stores them sealed (AES-GCM under the master key, `vc.keys.MasterKey`); a worker that loses the
race to insert reads the winner's row.
"""

from __future__ import annotations

import os

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from vc.keys import MasterKey
from verifier.models import ServiceSecret, utcnow

__all__ = ["load_pages_secret"]

_NAME = "pages"
_AAD = "verifier-service-secret:" + _NAME


def load_pages_secret(engine: Engine, master_key: MasterKey) -> bytes:
    """The pages secret, made and stored (sealed) on first start."""
    with Session(engine) as session:
        row = session.get(ServiceSecret, _NAME)
        if row is None:
            session.add(ServiceSecret(name=_NAME, sealed_value=master_key.seal(os.urandom(32), _AAD),
                                      created_at=utcnow()))
            try:
                session.commit()
            except IntegrityError:  # another worker made it first: use theirs
                session.rollback()
            row = session.get(ServiceSecret, _NAME)
            assert row is not None
        return master_key.open(row.sealed_value, _AAD)
