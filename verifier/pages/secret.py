"""The pages' secret (CSRF tokens, flash cookies): random, sealed under the master key in the database.

Every worker and every restart must sign alike, so the first start makes 32 random bytes and
stores them sealed (AES-GCM under the master key, `vc.keys.MasterKey`); a worker that loses the
race to insert reads the winner's row.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from servicekit.secrets import load_sealed_secret
from vc.keys import MasterKey
from verifier.models import ServiceSecret, utcnow

__all__ = ["load_pages_secret"]

_NAME = "pages"
_AAD = "verifier-service-secret:" + _NAME


def load_pages_secret(engine: Engine, master_key: MasterKey) -> bytes:
    """The pages secret, made and stored (sealed) on first start."""
    with Session(engine) as session:
        return load_sealed_secret(session, master_key, ServiceSecret, _NAME, column="sealed_value", aad=_AAD,
                                  created_at=utcnow())
