"""The learner's credential store: holder keys and credentials, sealed under the learner's data key.

A stored credential is three things: its copies exactly as the issuer sent them, each with
the id of the holder key it is bound to (sealed); a summary the wallet derived when it was
received (sealed; what lists and pages render); and keyed hashes of its types and of the
words of its name (`type_index`, `search_index`) so lists, search and DCQL pre-selection
need not open every credential. Every query is scoped to one learner.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, update
from sqlmodel import Session, col, select

from schemas.oauth2 import NotFound
from vc.jwk import PrivateKey, private_jwk, private_key_from_jwk
from vc.keys import SoftwareSigner
from wallet.accounts import LearnerContext
from wallet.models import HolderKey, StoredCredential, utcnow

__all__ = [
    "Copy",
    "NewCredential",
    "OpenedCredential",
    "add_credentials",
    "count_credentials",
    "count_presentation",
    "delete_credential",
    "get_credential",
    "holder_signer",
    "list_credentials",
    "search_words",
    "select_by_type",
]

_WORD = re.compile(r"\w{2,}", re.UNICODE)
MAX_PAGE = 500


@dataclass(frozen=True)
class NewCredential:
    """A checked credential ready to be stored: its copies, each with the holder key it is bound to."""

    format: str
    copies: Sequence[tuple[str, PrivateKey | None]]
    summary: dict[str, Any]
    types: Sequence[str]
    search_text: Sequence[str | None]
    #: The credential's claims as checked on receipt (SD-JWT: every Disclosure applied).
    claims: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Copy:
    credential: str
    holder_key_id: str | None


@dataclass(frozen=True)
class OpenedCredential:
    id: str
    format: str
    received_at: datetime
    summary: dict[str, Any]
    presentations: int
    copies: tuple[Copy, ...] = ()
    #: Only when opened with the credential (detail, queries, presentation).
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def credential(self) -> str | None:
        """The first copy (all copies carry the same claims)."""
        return self.copies[0].credential if self.copies else None

    def next_copy(self) -> Copy:
        """The copy to present next: each in turn, so consecutive verifiers see different keys."""
        return self.copies[self.presentations % len(self.copies)]


def search_words(texts: Iterable[str | None]) -> list[str]:
    """The distinct words (two or more letters/digits) of `texts`, case-folded."""
    seen: dict[str, None] = {}
    for text in texts:
        for word in _WORD.findall(text or ""):
            seen.setdefault(word.casefold(), None)
    return list(seen)


def _index(learner: LearnerContext, values: Iterable[str]) -> str:
    hashes = {learner.data_key.index.hash(v) for v in values if v}
    return f" {' '.join(sorted(hashes))} " if hashes else ""


def add_credentials(*, session: Session, learner: LearnerContext, credentials: Sequence[NewCredential],
                    now: datetime | None = None) -> list[str]:
    """Store credentials (and their holder keys) in one transaction; returns their ids."""
    now = now or utcnow()
    key = learner.data_key
    ids = []
    keys: list[HolderKey] = []
    for new in credentials:
        if not new.copies:
            raise ValueError("a credential has at least one copy")
        credential_id = str(uuid.uuid4())
        copies = []
        for text, holder_key in new.copies:
            holder_key_id = None
            if holder_key is not None:
                holder_key_id = str(uuid.uuid4())
                keys.append(HolderKey(id=holder_key_id, learner_id=learner.id, credential_id=credential_id,
                                      alg="ES256", created_at=now, private_jwk_sealed=key.seal_json(
                                          private_jwk(holder_key), f"holder-key:{holder_key_id}")))
            copies.append({"credential": text, "holder_key_id": holder_key_id})
        session.add(StoredCredential(
            id=credential_id,
            learner_id=learner.id,
            format=new.format,
            copies=len(copies),
            credential_sealed=key.seal_json({"claims": new.claims, "copies": copies}, f"credential:{credential_id}"),
            summary_sealed=key.seal_json(new.summary, f"summary:{credential_id}"),
            type_index=_index(learner, new.types),
            search_index=_index(learner, search_words(new.search_text)),
            received_at=now,
        ))
        ids.append(credential_id)
    session.flush()  # the credentials first: their keys refer to them
    session.add_all(keys)
    session.commit()
    return ids


def _open(learner: LearnerContext, row: StoredCredential, *, raw: bool) -> OpenedCredential:
    key = learner.data_key
    content = key.open_json(row.credential_sealed, f"credential:{row.id}") if raw else {}
    return OpenedCredential(id=row.id, format=row.format, received_at=row.received_at,
                            summary=key.open_json(row.summary_sealed, f"summary:{row.id}"),
                            presentations=row.presentations, claims=content.get("claims") or {},
                            copies=tuple(Copy(c["credential"], c["holder_key_id"]) for c in content.get("copies", ())))


def _filtered(learner: LearnerContext, query: str | None, format: str | None) -> Any:
    statement = select(StoredCredential).where(StoredCredential.learner_id == learner.id)
    if format:
        statement = statement.where(StoredCredential.format == format)
    for word in search_words([query]):
        needle = f" {learner.data_key.index.hash(word)} "
        statement = statement.where(col(StoredCredential.search_index).contains(needle, autoescape=True))
    return statement


def list_credentials(*, session: Session, learner: LearnerContext, query: str | None = None,
                     format: str | None = None, limit: int = 50, offset: int = 0) -> list[OpenedCredential]:
    """The learner's credentials, newest first; `query` keeps those whose words include every word given."""
    statement = (_filtered(learner, query, format)
                 .order_by(col(StoredCredential.received_at).desc(), col(StoredCredential.id))
                 .limit(max(1, min(limit, MAX_PAGE))).offset(max(0, offset)))
    return [_open(learner, row, raw=False) for row in session.exec(statement)]


def count_credentials(*, session: Session, learner: LearnerContext, query: str | None = None,
                      format: str | None = None) -> int:
    inner = _filtered(learner, query, format).subquery()
    return int(session.exec(select(func.count()).select_from(inner)).one())


def _row(session: Session, learner: LearnerContext, credential_id: str) -> StoredCredential:
    row = session.get(StoredCredential, credential_id) if isinstance(credential_id, str) else None
    # Someone else's credential is answered exactly like a missing one.
    if row is None or row.learner_id != learner.id:
        raise NotFound("no such credential")
    return row


def get_credential(*, session: Session, learner: LearnerContext, credential_id: str) -> OpenedCredential:
    return _open(learner, _row(session, learner, credential_id), raw=True)


def select_by_type(*, session: Session, learner: LearnerContext, format: str,
                   type_values: Sequence[str] | None) -> list[OpenedCredential]:
    """Credentials of `format` whose types include one of `type_values` (all of the format when None)."""
    statement = select(StoredCredential).where(StoredCredential.learner_id == learner.id,
                                               StoredCredential.format == format)
    if type_values is not None:
        wanted = sorted({f" {learner.data_key.index.hash(v)} " for v in type_values})
        if not wanted:
            return []
        statement = statement.where(or_(*(col(StoredCredential.type_index).contains(w, autoescape=True)
                                          for w in wanted)))
    return [_open(learner, row, raw=True) for row in session.exec(statement)]


def delete_credential(*, session: Session, learner: LearnerContext, credential_id: str) -> None:
    """Delete a credential and the holder keys of its copies."""
    row = _row(session, learner, credential_id)
    session.execute(delete(HolderKey).where(col(HolderKey.credential_id) == row.id,
                                            col(HolderKey.learner_id) == learner.id))
    session.delete(row)
    session.commit()


def count_presentation(*, session: Session, learner: LearnerContext, credential_id: str) -> None:
    """Move the credential on to its next copy (after it was presented)."""
    session.execute(update(StoredCredential).where(
        col(StoredCredential.id) == credential_id, col(StoredCredential.learner_id) == learner.id,
    ).values(presentations=StoredCredential.presentations + 1))
    session.commit()


def holder_signer(*, session: Session, learner: LearnerContext, holder_key_id: str) -> SoftwareSigner:
    """The signer of one of the learner's holder keys."""
    row = session.get(HolderKey, holder_key_id)
    if row is None or row.learner_id != learner.id:
        raise NotFound("no such holder key")
    jwk = learner.data_key.open_json(row.private_jwk_sealed, f"holder-key:{row.id}")
    return SoftwareSigner(private_key_from_jwk(jwk), alg=row.alg)
