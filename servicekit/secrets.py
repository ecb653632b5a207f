"""Service-wide random secrets (pages' CSRF/cookie key, index keys), sealed under the master key in the database.

Every worker and every restart must use the same secret, so the first one to need it makes 32 random
bytes and stores them sealed (AES-GCM, `vc.keys.MasterKey`); a worker that loses the race to insert
reads the winner's row. Each service keeps the rows in a table of its own.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from vc.keys import MasterKey

__all__ = ["load_sealed_secret"]


def load_sealed_secret(session: Session, master_key: MasterKey, table: type[Any], name: str, *,
                       column: str = "value_sealed", aad: str | None = None, **extra: Any) -> bytes:
    """The secret `name` from `table` (primary key `name`, sealed value in `column`), created on first use.

    `aad` binds the sealed value to its purpose (default: `name`); `extra` fills other columns of a new row.
    """
    aad = aad if aad is not None else name
    row = session.get(table, name)
    if row is None:
        session.add(table(name=name, **{column: master_key.seal(os.urandom(32), aad)}, **extra))
        try:
            session.commit()
        except IntegrityError:  # another worker made it first: use theirs
            session.rollback()
        row = session.get(table, name)
        assert row is not None
    return master_key.open(getattr(row, column), aad)
