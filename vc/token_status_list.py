"""IETF Token Status List (draft-ietf-oauth-status-list), JWT form.

https://datatracker.ietf.org/doc/draft-ietf-oauth-status-list/
(source: github.com/oauth-wg/draft-ietf-oauth-status-list, `draft-ietf-oauth-status-list.md`)

- §4 Status List: a byte array of 1, 2, 4 or 8 bits per Referenced Token; index 0 is the
  least-significant bit(s) of byte 0; ZLIB-compressed (highest level), base64url: `{"bits", "lst"}`.
- §5.1 Status List Token: a JWT with `typ: statuslist+jwt` and claims `sub` (the list's URI),
  `iat`, optional `exp` and `ttl` (seconds a consumer may cache it), `status_list`.
- §6 Referenced Token: `"status": {"status_list": {"idx": <int >= 0>, "uri": "<URI>"}}`.
- §7 Status Types: VALID 0x00, INVALID 0x01, SUSPENDED 0x02.
- §8.3 Validation: fetch, verify signature and `typ`, `sub == uri`, `exp`; honour `ttl`
  when caching; inflate; an index out of bounds fails.

Failures raise `vc.errors`: `StatusError` for an undecodable list or an index out of range,
`ClaimInvalid` / `TokenExpired` for token claims, and the JWS errors of `vc.jws`.
"""

from __future__ import annotations

import math
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeGuard
from urllib.parse import urlsplit

from vc.encoding import ZLIB_WBITS, b64url_decode, b64url_encode, inflate
from vc.errors import (
    ClaimInvalid,
    MalformedToken,
    StatusError,
    StatusRevoked,
    StatusSuspended,
    TokenExpired,
    TokenNotYetValid,
)
from vc.jws import decode_jws, sign_jws, verify_jws
from vc.keys import SIGNING_ALGORITHMS, KeyResolver, Signer

__all__ = [
    "ALLOWED_BITS",
    "DEFAULT_LEEWAY",
    "INVALID",
    "MAX_STATUS_LIST_BYTES",
    "MEDIA_TYPE",
    "STATUS_LIST_JWT_TYP",
    "SUSPENDED",
    "VALID",
    "BytesFetcher",
    "StatusList",
    "StatusListCache",
    "StatusListReference",
    "StatusListToken",
    "check_status",
    "create_status_list_token",
    "ensure_valid",
    "parse_status_claim",
    "status_list_token_fetcher",
    "verify_status_list_token",
]

#: §5.1: the JWT `typ` header of a Status List Token.
STATUS_LIST_JWT_TYP = "statuslist+jwt"
#: §8.1/§8.2: the media type a Status Provider serves and a Relying Party asks for.
MEDIA_TYPE = "application/statuslist+jwt"

#: §7.2 Status Types.
VALID = 0x00
INVALID = 0x01
SUSPENDED = 0x02

#: §4 step 1: bits per Referenced Token.
ALLOWED_BITS = (1, 2, 4, 8)
#: Bound on the inflated byte array (8 MiB = 64 Mi one-bit entries); refuses decompression bombs.
MAX_STATUS_LIST_BYTES = 8 * 1024 * 1024
#: Clock skew allowed on `exp` / `nbf`.
DEFAULT_LEEWAY = timedelta(seconds=60)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _timestamp(moment: datetime) -> float:
    """POSIX time of `moment`; a naive datetime is taken as UTC."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _is_bits(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value in ALLOWED_BITS


class StatusList:
    """The §4 Status List: `bits` per entry over a byte array, index 0 in the low bits of byte 0."""

    __slots__ = ("bits", "data")

    def __init__(self, data: bytes | bytearray, bits: int = 1) -> None:
        if not _is_bits(bits):
            raise StatusError(f"bits must be one of {ALLOWED_BITS}, got {bits!r}")
        self.bits = bits
        self.data = bytearray(data)

    @classmethod
    def new(cls, size: int, bits: int = 1, *, default: int = VALID) -> StatusList:
        """A list of at least `size` entries (rounded up to whole bytes), all set to `default`."""
        if size < 1:
            raise StatusError("a status list has at least one entry")
        list_ = cls(bytearray(-(-size * bits // 8)), bits)
        if default:
            list_._check_value(default)
            fill = sum(default << shift for shift in range(0, 8, bits))
            list_.data = bytearray([fill]) * len(list_.data)
        return list_

    @property
    def size(self) -> int:
        """Number of entries the byte array holds."""
        return len(self.data) * 8 // self.bits

    def _locate(self, index: int) -> tuple[int, int]:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.size:
            raise StatusError(f"index {index!r} is out of range for a status list of {self.size} entries")
        position = index * self.bits
        return position // 8, position % 8

    def _check_value(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < (1 << self.bits):
            raise StatusError(f"status value {value!r} does not fit in {self.bits} bit(s)")

    def get(self, index: int) -> int:
        byte, shift = self._locate(index)
        return (self.data[byte] >> shift) & ((1 << self.bits) - 1)

    def set(self, index: int, value: int) -> None:
        self._check_value(value)
        byte, shift = self._locate(index)
        mask = ((1 << self.bits) - 1) << shift
        self.data[byte] = (self.data[byte] & ~mask) | (value << shift)

    def to_json(self) -> dict[str, Any]:
        """§4.1: `{"bits", "lst"}` with `lst` = base64url(ZLIB(byte array)) at the highest level."""
        return {"bits": self.bits, "lst": b64url_encode(zlib.compress(bytes(self.data), 9))}

    @classmethod
    def from_json(cls, value: Any, *, max_bytes: int = MAX_STATUS_LIST_BYTES) -> StatusList:
        """Parse a §4.1 `status_list` object; the inflated byte array is bounded by `max_bytes`."""
        if not isinstance(value, Mapping):
            raise StatusError("status_list must be a JSON object")
        bits, lst = value.get("bits"), value.get("lst")
        if not _is_bits(bits):
            raise StatusError(f"status_list.bits must be one of {ALLOWED_BITS}")
        if not isinstance(lst, str) or not lst:
            raise StatusError("status_list.lst must be a non-empty string")
        try:
            data = inflate(b64url_decode(lst), wbits=ZLIB_WBITS, max_size=max_bytes)
        except MalformedToken as exc:
            raise StatusError(f"status_list.lst: {exc}") from exc
        return cls(data, bits)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StatusList) and (self.bits, self.data) == (other.bits, other.data)

    def __repr__(self) -> str:
        return f"StatusList(bits={self.bits}, size={self.size})"


def ensure_valid(status: int) -> None:
    """Raise `StatusRevoked` for INVALID, `StatusSuspended` for SUSPENDED, `StatusError` for any other non-VALID."""
    if status == VALID:
        return
    if status == INVALID:
        raise StatusRevoked("the credential is revoked (status INVALID)")
    if status == SUSPENDED:
        raise StatusSuspended("the credential is suspended (status SUSPENDED)")
    raise StatusError(f"the credential has status 0x{status:02X}, which is not VALID")


# --- Status List Token (§5.1) -------------------------------------------------------------


@dataclass(frozen=True)
class StatusListToken:
    """A verified Status List Token."""

    sub: str
    iat: int | float
    exp: int | float | None
    ttl: int | float | None
    status_list: StatusList
    claims: dict[str, Any] = field(repr=False)
    header: dict[str, Any] = field(repr=False)


def create_status_list_token(
    status_list: StatusList,
    signer: Signer,
    *,
    uri: str,
    now: datetime | None = None,
    lifetime: timedelta | None = timedelta(days=1),
    ttl: int | None = 43200,
    iss: str | None = None,
) -> str:
    """Sign a §5.1 Status List Token for the list published at `uri` (its `sub`).

    `exp` is `iat + lifetime` (none if `lifetime` is None); `ttl` is in seconds and MUST be positive.
    """
    if ttl is not None and (isinstance(ttl, bool) or ttl <= 0):
        raise StatusError("ttl must be a positive number of seconds")
    iat = int(_timestamp(now or _utcnow()))
    claims: dict[str, Any] = {"sub": uri, "iat": iat}
    if iss is not None:
        claims["iss"] = iss
    if lifetime is not None:
        claims["exp"] = iat + int(lifetime.total_seconds())
    if ttl is not None:
        claims["ttl"] = ttl
    claims["status_list"] = status_list.to_json()
    return sign_jws(claims, signer, typ=STATUS_LIST_JWT_TYP)


def _numeric_date(claims: Mapping[str, Any], name: str) -> int | float | None:
    value = claims.get(name)
    if value is None:
        return None
    if not _is_number(value):
        raise ClaimInvalid(f"{name} must be a NumericDate")
    return value


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def verify_status_list_token(
    token: str,
    *,
    uri: str,
    key: dict[str, Any] | None = None,
    resolve_key: KeyResolver | None = None,
    algorithms: Collection[str] = SIGNING_ALGORITHMS,
    now: datetime | None = None,
    leeway: timedelta = DEFAULT_LEEWAY,
    max_bytes: int = MAX_STATUS_LIST_BYTES,
) -> StatusListToken:
    """Verify a Status List Token fetched from `uri` (§8.3 steps 3–5).

    The key is `key` or what `resolve_key(iss, header)` returns. Checks `typ`, the signature
    (asymmetric algorithms in `algorithms` only), `sub == uri`, `iat`, `exp`/`nbf` against `now`,
    `ttl` > 0, then inflates `status_list` (at most `max_bytes`).
    """
    if (key is None) == (resolve_key is None):
        raise TypeError("pass exactly one of key or resolve_key")
    decoded = decode_jws(token)
    claims = decoded.claims()
    if resolve_key is not None:
        iss = claims.get("iss")
        key = resolve_key(iss if isinstance(iss, str) else None, decoded.header)
    assert key is not None
    verify_jws(decoded, key, algorithms=algorithms, typ=STATUS_LIST_JWT_TYP)

    # §8.3 step 4.1: the subject MUST equal the `uri` of the Referenced Token.
    sub = claims.get("sub")
    if not isinstance(sub, str) or sub != uri:
        raise ClaimInvalid(f"status list token sub {sub!r} is not the referenced uri {uri!r}")
    iat = _numeric_date(claims, "iat")
    if iat is None:
        raise ClaimInvalid("the status list token has no iat claim")
    exp = _numeric_date(claims, "exp")
    nbf = _numeric_date(claims, "nbf")
    moment = _timestamp(now or _utcnow())
    slack = leeway.total_seconds()
    if exp is not None and moment >= exp + slack:
        raise TokenExpired("the status list token has expired")
    if nbf is not None and moment < nbf - slack:
        raise TokenNotYetValid("the status list token is not valid yet")
    ttl = claims.get("ttl")
    if ttl is not None and not (_is_number(ttl) and ttl > 0):
        raise ClaimInvalid("ttl must be a positive number")
    if "status_list" not in claims:
        raise ClaimInvalid("the status list token has no status_list claim")
    status_list = StatusList.from_json(claims["status_list"], max_bytes=max_bytes)
    return StatusListToken(sub=sub, iat=iat, exp=exp, ttl=ttl, status_list=status_list,
                           claims=claims, header=decoded.header)


# --- Referenced Token (§6) ----------------------------------------------------------------


@dataclass(frozen=True)
class StatusListReference:
    """The `status.status_list` claim of a Referenced Token (§6.2)."""

    idx: int
    uri: str

    def to_json(self) -> dict[str, Any]:
        """The `status` claim value to put into a Referenced Token."""
        return {"status_list": {"idx": self.idx, "uri": self.uri}}


def parse_status_claim(status: Any) -> StatusListReference:
    """Parse the `status` claim of a Referenced Token (§6.2; §8.3 step 1)."""
    if not isinstance(status, Mapping):
        raise ClaimInvalid("status must be a JSON object")
    reference = status.get("status_list")
    if not isinstance(reference, Mapping):
        raise ClaimInvalid("status has no status_list object")
    idx, uri = reference.get("idx"), reference.get("uri")
    if isinstance(idx, bool) or not isinstance(idx, int) or idx < 0:
        raise ClaimInvalid("status_list.idx must be a non-negative integer")
    if not isinstance(uri, str) or not urlsplit(uri).scheme:
        raise ClaimInvalid("status_list.uri must be an absolute URI")
    return StatusListReference(idx=idx, uri=uri)


class StatusListCache:
    """Verified Status List Tokens by URI, kept for `ttl` seconds and never past `exp` (§8.3 step 4.4, §11.3).

    A token without `ttl` is kept `default_ttl`; no token longer than `max_ttl`. Thread-safe,
    least-recently-used eviction beyond `max_entries`. `clock` returns an aware `datetime`.
    Entries are not verified again: share one cache only among checks that trust the same keys.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] = _utcnow,
        default_ttl: timedelta = timedelta(minutes=5),
        max_ttl: timedelta = timedelta(days=1),
        max_entries: int = 256,
    ) -> None:
        self.clock = clock
        self._default_ttl = default_ttl
        self._max_ttl = max_ttl
        self._max_entries = max_entries
        self._entries: OrderedDict[str, tuple[datetime, StatusListToken]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, uri: str) -> StatusListToken | None:
        now = self.clock()
        with self._lock:
            entry = self._entries.get(uri)
            if entry is None:
                return None
            fresh_until, token = entry
            if now >= fresh_until:
                del self._entries[uri]
                return None
            self._entries.move_to_end(uri)
            return token

    def put(self, uri: str, token: StatusListToken) -> None:
        now = self.clock()
        keep = self._default_ttl.total_seconds() if token.ttl is None else token.ttl
        until = _timestamp(now) + min(keep, self._max_ttl.total_seconds())
        if token.exp is not None:
            until = min(until, token.exp)
        fresh_until = datetime.fromtimestamp(until, UTC)
        if fresh_until <= now:
            return
        with self._lock:
            self._entries[uri] = (fresh_until, token)
            self._entries.move_to_end(uri)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)


class BytesFetcher(Protocol):
    """What `vc.fetch.Fetcher` offers for a GET of raw bytes."""

    def get_bytes(self, url: str, *, accept: str = ...) -> tuple[str, bytes]: ...


def status_list_token_fetcher(fetcher: BytesFetcher) -> Callable[[str], str]:
    """A `fetch_token` for `check_status`: GET with `Accept: application/statuslist+jwt` (§8.1)
    and insist on that content type in the answer (§8.2)."""

    def fetch_token(uri: str) -> str:
        content_type, body = fetcher.get_bytes(uri, accept=MEDIA_TYPE)
        if content_type.split(";", 1)[0].strip().lower() != MEDIA_TYPE:
            raise StatusError(f"status list response has content type {content_type!r}, not {MEDIA_TYPE}")
        try:
            return body.decode("ascii").strip()
        except UnicodeDecodeError as exc:
            raise MalformedToken("status list token is not ASCII") from exc

    return fetch_token


def check_status(
    status_claim: Any,
    *,
    fetch_token: Callable[[str], str],
    resolve_key: KeyResolver,
    now: datetime | None = None,
    cache: StatusListCache | None = None,
    algorithms: Collection[str] = SIGNING_ALGORITHMS,
    leeway: timedelta = DEFAULT_LEEWAY,
) -> int:
    """The status value (§7) of a Referenced Token with `status` claim `status_claim` (§8.3).

    Validate the Referenced Token itself first: an expired token stays expired whatever its
    status. `fetch_token(uri)` returns the compact Status List Token; a cached, still fresh
    token is used instead when `cache` is given. Pass the result to `ensure_valid` to reject
    anything but VALID.
    """
    reference = parse_status_claim(status_claim)
    if now is None:
        now = cache.clock() if cache is not None else _utcnow()
    token = cache.get(reference.uri) if cache is not None else None
    if token is not None and token.exp is not None and _timestamp(now) >= token.exp + leeway.total_seconds():
        token = None
    if token is None:
        token = verify_status_list_token(
            fetch_token(reference.uri), uri=reference.uri, resolve_key=resolve_key,
            algorithms=algorithms, now=now, leeway=leeway,
        )
        if cache is not None:
            cache.put(reference.uri, token)
    return token.status_list.get(reference.idx)
