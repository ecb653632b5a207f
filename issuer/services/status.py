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
is the insert of the `IssuedCredential` row, whose (list, index) pair is unique. When a random
pick hits a used index, the list's fill is counted; at half full the next list is opened. A list is
computed from the awards' statuses at each request, so a revoke shows at the next fetch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from issuer.models import Award, IssuedCredential, StatusList
from issuer.services.common import unix_now
from issuer.services.keys import KeyStore, institution_did
from schemas.oauth2 import NotFound
from vc.bitstring_status_list import Bitstring, create_status_list_credential, create_status_list_entry
from vc.status_index import StatusListFull, allocate_index
from vc.token_status_list import INVALID, SUSPENDED, create_status_list_token
from vc.token_status_list import StatusList as TokenStatusList
from vc.vc_jwt import VC_JWT_TYP, sign_vc_jwt

__all__ = [
    "BITSTRING_STATUS_LIST",
    "TOKEN_STATUS_LIST",
    "StatusEntry",
    "allocate_status_entry",
    "bitstring_status_list_credential",
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


class _ListFilled(Exception):
    pass


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


def _current_list(session: Session, institution_id: int, kind: str, size: int, now: int) -> StatusList:
    status_list = session.exec(select(StatusList).where(StatusList.institution_id == institution_id,
                                                        StatusList.kind == kind)
                               .order_by(col(StatusList.id).desc())).first()
    if status_list is None:
        status_list = StatusList(institution_id=institution_id, kind=kind, size=size, created_at=now)
        session.add(status_list)
        session.flush()
    return status_list


def allocate_status_entry(*, session: Session, institution_id: int, kind: StatusKind, size: int,
                          credential: IssuedCredential, now: int | None = None) -> StatusEntry:
    """Give `credential` (not yet added) a random free index in the institution's current list of `kind`.

    The row insert is the claim: a concurrent request that picked the same index loses on the
    unique (list, index) constraint and picks again. A full list is followed by a new one.
    """
    now = unix_now(now)
    for _attempt in range(3):
        status_list = _current_list(session, institution_id, kind, size, now)
        list_id = status_list.id
        assert list_id is not None

        def is_used(_index: int) -> bool:
            return False  # the claim's unique insert is the check: one query less per credential

        def claim(index: int, list_id: int = list_id, size: int = status_list.size) -> bool:
            credential.status_list_id, credential.status_index = list_id, index
            try:
                with session.begin_nested():
                    session.add(credential)
            except IntegrityError:
                if _count(session, list_id) >= size * ROLL_OVER_FILL:
                    raise _ListFilled from None
                return False
            return True

        try:
            index = allocate_index(status_list.size, is_used=is_used, claim=claim)
        except (StatusListFull, _ListFilled):
            session.add(StatusList(institution_id=institution_id, kind=kind, size=size, created_at=now))
            session.flush()
            continue
        return StatusEntry(list_id, index, kind)
    raise StatusListFull("no free status index")


def _count(session: Session, list_id: int) -> int:
    return int(session.exec(select(func.count()).select_from(IssuedCredential)
                            .where(IssuedCredential.status_list_id == list_id)).one())


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
    signer = keys.active_signer(session=session, institution_id=status_list.institution_id)
    moment = datetime.fromtimestamp(unix_now(now), UTC)
    return create_status_list_token(values, signer, uri=tsl_uri(keys.base_url, list_id), now=moment,
                                    lifetime=LIST_LIFETIME, ttl=ttl_seconds or None, iss=keys.base_url)


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
