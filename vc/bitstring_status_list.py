"""W3C Bitstring Status List v1.0 (W3C Recommendation, 15 May 2025).

https://www.w3.org/TR/vc-bitstring-status-list/
(source: github.com/w3c/vc-bitstring-status-list, `transitions/2025/REC/index.html`)

- §2.1 BitstringStatusListEntry, in a credential's `credentialStatus`: `type`, `statusPurpose`,
  `statusListIndex` (a base-10 integer *as a string*), `statusListCredential` (URL),
  optional `statusSize` (default 1; > 1 needs `statusMessage` with 2^statusSize entries).
- §2.2 BitstringStatusListCredential: a VCDM 2.0 credential whose subject is
  `{type: BitstringStatusList, statusPurpose, encodedList, ttl?}`. `encodedList` is the
  Multibase base64url-no-pad (`u` prefix) of the GZIP of the bitstring, at least 16 KB
  (131,072 entries); index 0 is the left-most (most significant) bit of byte 0 (§7.1) —
  the opposite of the IETF Token Status List.
- §3.2 Validate Algorithm and §3.5 Processing Errors: the errors below, each with its `code`.

Securing the status list credential (VC-JWT) is `vc.vc_jwt`'s job: this module builds the
unsigned credential and checks an entry against an already verified list credential payload.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

from vc.encoding import GZIP_WBITS, b64url_decode, b64url_encode, inflate
from vc.errors import FetchError, MalformedToken, StatusError, VcError

__all__ = [
    "BITSTRING_STATUS_LIST_CREDENTIAL",
    "BITSTRING_STATUS_LIST",
    "BITSTRING_STATUS_LIST_ENTRY",
    "MIN_STATUS_LIST_LENGTH",
    "Bitstring",
    "BitstringStatusListEntry",
    "BitstringStatusListError",
    "MalformedValueError",
    "RangeError",
    "StatusListLengthError",
    "StatusRetrievalError",
    "StatusVerificationError",
    "check_bitstring_status",
    "create_status_list_credential",
    "create_status_list_entry",
    "parse_status_list_entry",
    "status_list_entries",
    "validate_bitstring_status",
]

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
BITSTRING_STATUS_LIST_ENTRY = "BitstringStatusListEntry"
BITSTRING_STATUS_LIST_CREDENTIAL = "BitstringStatusListCredential"
BITSTRING_STATUS_LIST = "BitstringStatusList"
#: §3.2 step 2: minimumNumberOfEntries (16 KB of one-bit entries), for herd privacy.
MIN_STATUS_LIST_LENGTH = 131_072
#: Bound on the inflated bitstring (8 MiB); refuses decompression bombs.
MAX_BITSTRING_BYTES = 8 * 1024 * 1024
#: Largest `statusSize` accepted: 2^statusSize status messages must be listed, so more is absurd.
MAX_STATUS_SIZE = 16
#: A list signed a moment ago by a host whose clock runs slightly ahead is not "not valid yet".
VALID_FROM_SKEW = timedelta(seconds=60)

_BASE10 = re.compile(r"[0-9]+")
_HEX_STATUS = re.compile(r"0x[0-9a-fA-F]+")


class BitstringStatusListError(StatusError):
    """A §3.5 processing error; `code` is the spec's name, `problem_type` the RFC 9457 `type`."""

    code: ClassVar[str] = ""
    _type_base: ClassVar[str] = "https://www.w3.org/ns/credentials/status-list#"

    @property
    def problem_type(self) -> str:
        return self._type_base + self.code


class StatusRetrievalError(BitstringStatusListError):
    """Retrieval of the status list failed."""

    code = "STATUS_RETRIEVAL_ERROR"


class StatusVerificationError(BitstringStatusListError):
    """Validation of the status entry failed."""

    code = "STATUS_VERIFICATION_ERROR"


class StatusListLengthError(BitstringStatusListError):
    """The status list is shorter than the minimum required for herd privacy."""

    code = "STATUS_LIST_LENGTH_ERROR"


class RangeError(BitstringStatusListError):
    """VCDM 2.0 RANGE_ERROR: the index lies outside the bitstring."""

    code = "RANGE_ERROR"
    _type_base = "https://www.w3.org/TR/vc-data-model#"


class MalformedValueError(BitstringStatusListError):
    """VCDM 2.0 MALFORMED_VALUE_ERROR: a property breaks one of its MUST statements (§3)."""

    code = "MALFORMED_VALUE_ERROR"
    _type_base = "https://www.w3.org/TR/vc-data-model#"


class Bitstring:
    """Entries of `status_size` bits, index 0 at the most significant bit of byte 0 (§7.1)."""

    __slots__ = ("data", "status_size")

    def __init__(self, data: bytes | bytearray, status_size: int = 1) -> None:
        if isinstance(status_size, bool) or not isinstance(status_size, int) or not 0 < status_size <= MAX_STATUS_SIZE:
            raise MalformedValueError(f"statusSize must be an integer from 1 to {MAX_STATUS_SIZE}")
        self.data = bytearray(data)
        self.status_size = status_size

    @classmethod
    def new(cls, length: int = MIN_STATUS_LIST_LENGTH, status_size: int = 1) -> Bitstring:
        """An all-zero bitstring of `length` entries (§3.3 step 1), at least 131,072."""
        if length < MIN_STATUS_LIST_LENGTH:
            raise StatusListLengthError(f"a status list has at least {MIN_STATUS_LIST_LENGTH} entries")
        return cls(bytearray(-(-length * status_size // 8)), status_size)

    @property
    def length(self) -> int:
        """Number of whole entries."""
        return len(self.data) * 8 // self.status_size

    def _first_bit(self, index: int) -> int:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.length:
            raise RangeError(f"status list index {index!r} is outside a list of {self.length} entries")
        return index * self.status_size

    def get(self, index: int) -> int:
        first, value = self._first_bit(index), 0
        for bit in range(first, first + self.status_size):
            value = (value << 1) | ((self.data[bit // 8] >> (7 - bit % 8)) & 1)
        return value

    def set(self, index: int, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < (1 << self.status_size):
            raise RangeError(f"status {value!r} does not fit in {self.status_size} bit(s)")
        first = self._first_bit(index)
        for offset in range(self.status_size):
            bit = first + offset
            mask = 0x80 >> (bit % 8)
            if (value >> (self.status_size - 1 - offset)) & 1:
                self.data[bit // 8] |= mask
            else:
                self.data[bit // 8] &= ~mask

    def encode(self) -> str:
        """`encodedList`: Multibase base64url-no-pad (`u`) of GZIP (§3.3 step 3)."""
        return "u" + b64url_encode(gzip.compress(bytes(self.data), compresslevel=9, mtime=0))

    @classmethod
    def decode(
        cls,
        encoded: Any,
        *,
        status_size: int = 1,
        min_length: int = MIN_STATUS_LIST_LENGTH,
        max_bytes: int = MAX_BITSTRING_BYTES,
    ) -> Bitstring:
        """Bitstring Expansion Algorithm (§3.4), then the length check of §3.2 step 9."""
        if not isinstance(encoded, str) or not encoded.startswith("u"):
            raise MalformedValueError("encodedList must be Multibase base64url (prefix 'u')")
        try:
            data = inflate(b64url_decode(encoded[1:]), wbits=GZIP_WBITS, max_size=max_bytes)
        except MalformedToken as exc:
            raise MalformedValueError(f"encodedList: {exc}") from exc
        bitstring = cls(data, status_size)
        if bitstring.length < min_length:
            raise StatusListLengthError(
                f"the status list has {bitstring.length} entries, fewer than the minimum {min_length}")
        return bitstring

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Bitstring) and (self.status_size, self.data) == (other.status_size, other.data)

    def __repr__(self) -> str:
        return f"Bitstring(length={self.length}, status_size={self.status_size})"


@dataclass(frozen=True)
class BitstringStatusListEntry:
    """A parsed §2.1 BitstringStatusListEntry."""

    status_purpose: str
    status_list_index: int
    status_list_credential: str
    status_size: int = 1
    status_message: tuple[Mapping[str, Any], ...] | None = None
    id: str | None = None


def _has_type(value: Any, wanted: str) -> bool:
    return value == wanted or (isinstance(value, list) and wanted in value)


def _is_url(value: str) -> bool:
    parts = urlsplit(value)
    return bool(parts.scheme and parts.netloc)


def parse_status_list_entry(entry: Any) -> BitstringStatusListEntry:
    """Check one `credentialStatus` entry against §2.1; MalformedValueError on any broken MUST."""
    if not isinstance(entry, Mapping):
        raise MalformedValueError("a credentialStatus entry must be an object")
    if not _has_type(entry.get("type"), BITSTRING_STATUS_LIST_ENTRY):
        raise MalformedValueError(f"credentialStatus.type must be {BITSTRING_STATUS_LIST_ENTRY}")
    purpose = entry.get("statusPurpose")
    if not isinstance(purpose, str) or not purpose:
        raise MalformedValueError("statusPurpose must be a non-empty string")
    index = entry.get("statusListIndex")
    # §2.1 says a string; 1EdTech's own conformance fixtures write a JSON number, accepted too.
    if isinstance(index, int) and not isinstance(index, bool) and index >= 0:
        index = str(index)
    if not isinstance(index, str) or not _BASE10.fullmatch(index):
        raise MalformedValueError("statusListIndex must be a base-10 integer >= 0, as a string")
    url = entry.get("statusListCredential")
    if not isinstance(url, str) or not _is_url(url):
        raise MalformedValueError("statusListCredential must be a URL")
    entry_id = entry.get("id")
    if entry_id is not None and (not isinstance(entry_id, str) or entry_id == url):
        raise MalformedValueError("credentialStatus.id must be a URL other than the status list's")
    size = entry.get("statusSize", 1)
    if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= MAX_STATUS_SIZE:
        raise MalformedValueError(f"statusSize must be an integer from 1 to {MAX_STATUS_SIZE}")
    messages = entry.get("statusMessage")
    if messages is None and size > 1:
        raise MalformedValueError("statusMessage is required when statusSize is greater than 1")
    if messages is not None:
        if not isinstance(messages, list) or len(messages) != 1 << size:
            raise MalformedValueError(f"statusMessage must list {1 << size} status messages")
        for message in messages:
            if not (isinstance(message, Mapping) and isinstance(message.get("status"), str)
                    and _HEX_STATUS.fullmatch(message["status"]) and isinstance(message.get("message"), str)):
                raise MalformedValueError('each statusMessage needs "status" ("0x..") and "message" strings')
    return BitstringStatusListEntry(
        status_purpose=purpose, status_list_index=int(index), status_list_credential=url,
        status_size=size, status_message=tuple(messages) if messages is not None else None, id=entry_id,
    )


def status_list_entries(credential: Mapping[str, Any]) -> list[BitstringStatusListEntry]:
    """The BitstringStatusListEntry items of a credential's `credentialStatus` (object or array)."""
    status = credential.get("credentialStatus")
    items = status if isinstance(status, list) else [] if status is None else [status]
    return [parse_status_list_entry(item) for item in items
            if isinstance(item, Mapping) and _has_type(item.get("type"), BITSTRING_STATUS_LIST_ENTRY)]


def _date_time_stamp(value: Any, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise MalformedValueError(f"{name} must be an XML Schema dateTimeStamp")
    return parsed


def check_bitstring_status(
    entry: Any,
    list_credential: Any,
    *,
    now: datetime | None = None,
    min_length: int = MIN_STATUS_LIST_LENGTH,
    max_bytes: int = MAX_BITSTRING_BYTES,
    skew: timedelta = VALID_FROM_SKEW,
) -> dict[str, Any]:
    """§3.2 steps 5–15 for `entry` against an already dereferenced and verified list credential.

    Returns `{"status": int, "purpose": str, "valid": status == 0}` (plus `"message"` for the
    `message` purpose). Raises the §3.5 / VCDM errors above.
    """
    parsed = entry if isinstance(entry, BitstringStatusListEntry) else parse_status_list_entry(entry)
    if not isinstance(list_credential, Mapping):
        raise MalformedValueError("the status list credential must be a JSON object")
    if not _has_type(list_credential.get("type"), BITSTRING_STATUS_LIST_CREDENTIAL):
        raise MalformedValueError(f"the status list credential's type must include {BITSTRING_STATUS_LIST_CREDENTIAL}")
    moment = now or datetime.now(UTC)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if "validFrom" in list_credential and moment + skew < _date_time_stamp(list_credential["validFrom"], "validFrom"):
        raise StatusVerificationError("the status list credential is not valid yet")
    if "validUntil" in list_credential and moment >= _date_time_stamp(list_credential["validUntil"], "validUntil"):
        raise StatusVerificationError("the status list credential has expired (validUntil)")
    subject = list_credential.get("credentialSubject")
    if not isinstance(subject, Mapping) or not _has_type(subject.get("type"), BITSTRING_STATUS_LIST):
        raise MalformedValueError(f"credentialSubject.type must be {BITSTRING_STATUS_LIST}")
    purposes = subject.get("statusPurpose")
    purposes = [purposes] if isinstance(purposes, str) else purposes
    if not isinstance(purposes, list) or not purposes or not all(isinstance(p, str) for p in purposes):
        raise MalformedValueError("credentialSubject.statusPurpose must be one or more strings")
    # Step 5: the entry's purpose must be one of the list's.
    if parsed.status_purpose not in purposes:
        raise StatusVerificationError(
            f"status purpose {parsed.status_purpose!r} is not among the list's {purposes!r}")
    bitstring = Bitstring.decode(subject.get("encodedList"), status_size=parsed.status_size,
                                 min_length=min_length, max_bytes=max_bytes)
    status = bitstring.get(parsed.status_list_index)
    result: dict[str, Any] = {"status": status, "purpose": parsed.status_purpose, "valid": status == 0}
    if parsed.status_purpose == "message":
        result["message"] = _status_message(parsed, status)
    return result


def _status_message(entry: BitstringStatusListEntry, status: int) -> str | None:
    if entry.status_message is None:
        return "set" if status else "unset"
    for item in entry.status_message:
        if int(item["status"], 16) == status:
            return str(item["message"])
    return None


def validate_bitstring_status(
    entry: Any,
    *,
    dereference: Callable[[str], Mapping[str, Any]],
    now: datetime | None = None,
    min_length: int = MIN_STATUS_LIST_LENGTH,
    skew: timedelta = VALID_FROM_SKEW,
) -> dict[str, Any]:
    """The whole §3.2 Validate Algorithm for one entry.

    `dereference(url)` fetches the status list credential and verifies its proof (e.g. a
    VC-JWT through `vc.vc_jwt`), returning the credential. A `FetchError` from it becomes
    STATUS_RETRIEVAL_ERROR, any other library failure STATUS_VERIFICATION_ERROR (step 4).
    """
    parsed = parse_status_list_entry(entry)
    try:
        list_credential = dereference(parsed.status_list_credential)
    except FetchError as exc:
        raise StatusRetrievalError(f"could not retrieve {parsed.status_list_credential}: {exc}") from exc
    except BitstringStatusListError:
        raise
    except VcError as exc:
        raise StatusVerificationError(f"the status list credential does not verify: {exc}") from exc
    return check_bitstring_status(parsed, list_credential, now=now, min_length=min_length, skew=skew)


def _date_time(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("datetimes in credentials must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def create_status_list_credential(
    *,
    id: str,
    issuer: str | Mapping[str, Any],
    status_purpose: str | list[str],
    bitstring: Bitstring,
    valid_from: datetime,
    valid_until: datetime | None = None,
    ttl: int | None = None,
    subject_id: str | None = None,
) -> dict[str, Any]:
    """An unsigned §2.2 BitstringStatusListCredential (VCDM 2.0); `ttl` is in milliseconds."""
    subject: dict[str, Any] = {
        "id": subject_id or f"{id}#list",
        "type": BITSTRING_STATUS_LIST,
        "statusPurpose": status_purpose,
        "encodedList": bitstring.encode(),
    }
    if ttl is not None:
        subject["ttl"] = ttl
    credential: dict[str, Any] = {
        "@context": [VC_V2_CONTEXT],
        "id": id,
        "type": ["VerifiableCredential", BITSTRING_STATUS_LIST_CREDENTIAL],
        "issuer": issuer if isinstance(issuer, str) else dict(issuer),
        "validFrom": _date_time(valid_from),
    }
    if valid_until is not None:
        credential["validUntil"] = _date_time(valid_until)
    credential["credentialSubject"] = subject
    return credential


def create_status_list_entry(
    *, status_list_credential: str, status_list_index: int, status_purpose: str = "revocation"
) -> dict[str, Any]:
    """A §2.1 `credentialStatus` entry pointing at `status_list_index` of the given list."""
    return {
        "id": f"{status_list_credential}#{status_list_index}",
        "type": BITSTRING_STATUS_LIST_ENTRY,
        "statusPurpose": status_purpose,
        "statusListIndex": str(status_list_index),
        "statusListCredential": status_list_credential,
    }
