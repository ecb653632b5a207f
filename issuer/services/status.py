"""Status entries of issued credentials, and the signed status lists that publish them.

- SD-JWT VCs: IETF Token Status List (draft-ietf-oauth-status-list §4-§7), 2 bits per entry
  (VALID 0, INVALID 1 = revoked, SUSPENDED 2), published as a `statuslist+jwt` at
  `<base>/status/tsl/<list>`.
  https://datatracker.ietf.org/doc/draft-ietf-oauth-status-list/
- OB 3.0 VC-JWTs: W3C Bitstring Status List v1.0, signed as VC-JWTs by the institution's did:web
  key. The OB 3.0 JSON Schema allows one `credentialStatus` *object*, so a credential names one
  entry, purpose `revocation`, at `.../status/bsl/<list>/revocation`; its bit is set while the
  award is revoked *or suspended* (cleared again on unsuspend), so every verifier refuses a
  suspended badge. The same index in `.../status/bsl/<list>/suspension` is set only while
  suspended, for verifiers that want to tell the two apart.
  https://www.w3.org/TR/vc-bitstring-status-list/

Indices are random and never reused (herd privacy; `vc.status_index`): the claim on an index
is the insert of the `IssuedCredential` row, whose (list, index) pair is unique. Nothing scans a
list: random picks are checked in one indexed lookup, and when one hits a used index the list's fill
is estimated from a random sample of its indices; at about half full the next list is opened. A list
is computed from the awards' statuses at each request, so a revoke shows at the next fetch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import bindparam, insert
from sqlmodel import Session, col, select

from issuer.models import Award, IssuedCredential, StatusList
from issuer.services.common import unix_now
from issuer.services.keys import KeyStore, institution_did, institution_issuer_url, jwt_vc_issuer_signer
from schemas.oauth2 import NotFound
from vc.bitstring_status_list import Bitstring, create_status_list_credential, create_status_list_entry
from vc.status_index import RandomSource, pick_free_index
from vc.token_status_list import INVALID, SUSPENDED, create_status_list_token
from vc.token_status_list import StatusList as TokenStatusList
from vc.vc_jwt import VC_JWT_TYP, sign_vc_jwt

__all__ = [
    "BITSTRING_STATUS_LIST",
    "TOKEN_STATUS_LIST",
    "StatusEntry",
    "bitstring_status_list_credential",
    "claim_status_entries",
    "status_list_token",
]

TOKEN_STATUS_LIST = "token_status_list"
BITSTRING_STATUS_LIST = "bitstring_status_list"
StatusKind = Literal["token_status_list", "bitstring_status_list"]
BSL_PURPOSES = ("revocation", "suspension")
#: How long a signed list stays valid (its `exp` / `validUntil`); `ttl` says how long to cache it.
LIST_LIFETIME = timedelta(days=1)
#: A list this full is left for a new one, so random picks stay cheap (and herds large).
ROLL_OVER_FILL = 0.5
#: Random indices looked up to estimate a list's fill (only after a pick hit a used index).
FILL_SAMPLE = 64
#: Rounds of re-picking before the current list counts as full.
PICK_ROUNDS = 8


@dataclass(frozen=True)
class StatusEntry:
    status_list_id: int
    index: int
    kind: str

    def token_status(self, base_url: str) -> dict[str, dict[str, object]]:
        """The `status` claim of an SD-JWT VC (§6.2)."""
        return {"status_list": {"idx": self.index, "uri": tsl_uri(base_url, self.status_list_id)}}

    def credential_status(self, base_url: str) -> dict[str, str]:
        """The `credentialStatus` of an OB 3.0 credential: its revocation list entry."""
        return create_status_list_entry(status_list_credential=bsl_uri(base_url, self.status_list_id, "revocation"),
                                        status_list_index=self.index, status_purpose="revocation")


def tsl_uri(base_url: str, list_id: int) -> str:
    return f"{base_url}/status/tsl/{list_id}"


def bsl_uri(base_url: str, list_id: int, purpose: str) -> str:
    return f"{base_url}/status/bsl/{list_id}/{purpose}"


@dataclass(frozen=True)
class _ListRef:
    id: int
    size: int


# Built once, run as SQLAlchemy Core: every credential request runs them.
_CURRENT_LIST = (select(StatusList.id, StatusList.size)
                 .where(col(StatusList.institution_id) == bindparam("institution_id"),
                        col(StatusList.kind) == bindparam("list_kind"))
                 .order_by(col(StatusList.id).desc()).limit(1))
_USED_INDICES = select(IssuedCredential.status_index).where(
    col(IssuedCredential.status_list_id) == bindparam("list_id"),
    col(IssuedCredential.status_index).in_(bindparam("indices", expanding=True)))
_INSERT_LIST = insert(StatusList)
_INSERT_ISSUED = insert(IssuedCredential)


def _current_list(session: Session, institution_id: int, kind: str, size: int, now: int) -> _ListRef:
    row = session.connection().execute(_CURRENT_LIST, {"institution_id": institution_id, "list_kind": kind}).first()
    return _ListRef(row.id, row.size) if row is not None else _open_list(session, institution_id, kind, size, now)


def _open_list(session: Session, institution_id: int, kind: str, size: int, now: int) -> _ListRef:
    result = session.connection().execute(_INSERT_LIST, {"institution_id": institution_id, "kind": kind, "size": size,
                                                         "created_at": now})
    return _ListRef(result.inserted_primary_key[0], size)


def _used(session: Session, list_id: int, indices: Sequence[int]) -> set[int]:
    """Which of `indices` are taken in the list: one lookup on the unique (list, index) index."""
    rows = session.connection().execute(_USED_INDICES, {"list_id": list_id, "indices": list(indices)})
    return {int(index) for (index,) in rows}


def _pick(session: Session, status_list: _ListRef, count: int, rng: RandomSource | None) -> list[int] | None:
    """`count` distinct free random indices of the list, or None when it is (about) half full."""
    chosen: list[int] = []
    collided = False
    for _round in range(PICK_ROUNDS):
        taken = set(chosen)
        candidates: list[int] = []
        for _ in range(count - len(chosen)):
            index = pick_free_index(status_list.size, taken.__contains__, rng)
            taken.add(index)
            candidates.append(index)
        used = _used(session, status_list.id, candidates)
        chosen += [index for index in candidates if index not in used]
        collided = collided or bool(used)
        if len(chosen) == count:
            break
    if collided:  # estimate the fill from a random sample, never by counting
        sample = list({pick_free_index(status_list.size, frozenset().__contains__, rng) for _ in range(FILL_SAMPLE)})
        if len(_used(session, status_list.id, sample)) >= len(sample) * ROLL_OVER_FILL:
            return None
    return chosen if len(chosen) == count else None


def claim_status_entries(*, session: Session, institution_id: int, kind: StatusKind, size: int,
                         credentials: Sequence[dict[str, Any]], now: int | None = None,
                         rng: RandomSource | None = None) -> list[StatusEntry]:
    """Log `credentials` (`IssuedCredential` columns but the status entry), each with a random free index
    of the institution's current list of `kind`, in one insert, and return their entries in order.

    The insert is the claim ((list, index) is unique), inside the caller's transaction: on SQLite the
    transaction holds the write lock from its start; on PostgreSQL a concurrent claim of the same index
    fails the insert (`IntegrityError`) and the caller retries its transaction. The caller commits.
    """
    now = unix_now(now)
    status_list = _current_list(session, institution_id, kind, size, now)
    indices = _pick(session, status_list, len(credentials), rng)
    if indices is None:  # about half full: every credential from now on goes to a new list
        status_list = _open_list(session, institution_id, kind, size, now)
        indices = _pick(session, status_list, len(credentials), rng)
        assert indices is not None, "a new list has room"
    session.connection().execute(_INSERT_ISSUED, [{**row, "status_list_id": status_list.id, "status_index": index}
                                                  for row, index in zip(credentials, indices, strict=True)])
    return [StatusEntry(status_list.id, index, kind) for index in indices]


def _load(session: Session, list_id: int, kind: str) -> StatusList:
    status_list = session.get(StatusList, list_id)
    if status_list is None or status_list.kind != kind:
        raise NotFound(f"status list {list_id} not found")
    return status_list


def _changed(session: Session, list_id: int) -> list[tuple[int, str]]:
    """(index, award status) of the list's entries whose award is not valid."""
    rows = session.exec(select(IssuedCredential.status_index, Award.status)
                        .join(Award, col(Award.id) == IssuedCredential.award_id)
                        .where(IssuedCredential.status_list_id == list_id, Award.status != "valid")).all()
    return [(int(index), str(status)) for index, status in rows]


def status_list_token(*, session: Session, keys: KeyStore, list_id: int, ttl_seconds: int,
                      now: int | None = None) -> str:
    """The signed Status List Token (`statuslist+jwt`) of a Token Status List, as of now."""
    status_list = _load(session, list_id, TOKEN_STATUS_LIST)
    values = TokenStatusList.new(status_list.size, bits=2)
    for index, status in _changed(session, list_id):
        values.set(index, INVALID if status == "revoked" else SUSPENDED)
    # `iss` is the institution's, as in its SD-JWT VCs: the key is in its JWT VC Issuer Metadata, by thumbprint
    signer = jwt_vc_issuer_signer(keys.active_signer(session=session, institution_id=status_list.institution_id))
    moment = datetime.fromtimestamp(unix_now(now), UTC)
    return create_status_list_token(values, signer, uri=tsl_uri(keys.base_url, list_id), now=moment,
                                    lifetime=LIST_LIFETIME, ttl=ttl_seconds or None,
                                    iss=institution_issuer_url(keys.base_url, status_list.institution_id))


def bitstring_status_list_credential(*, session: Session, keys: KeyStore, list_id: int, purpose: str,
                                     ttl_seconds: int, now: int | None = None) -> str:
    """The BitstringStatusListCredential of one purpose, signed as a VC-JWT by the institution."""
    if purpose not in BSL_PURPOSES:
        raise NotFound(f"status purpose {purpose} not found")
    status_list = _load(session, list_id, BITSTRING_STATUS_LIST)
    bits = Bitstring.new(status_list.size)
    wanted = ("revoked", "suspended") if purpose == "revocation" else ("suspended",)
    for index, status in _changed(session, list_id):
        if status in wanted:
            bits.set(index, 1)
    moment = datetime.fromtimestamp(unix_now(now), UTC)
    credential = create_status_list_credential(
        id=bsl_uri(keys.base_url, list_id, purpose), issuer=institution_did(keys.base_url, status_list.institution_id),
        status_purpose=purpose, bitstring=bits, valid_from=moment, valid_until=moment + LIST_LIFETIME,
        ttl=ttl_seconds * 1000 or None)
    signer = keys.active_signer(session=session, institution_id=status_list.institution_id)
    return sign_vc_jwt(credential, signer, typ=VC_JWT_TYP)
