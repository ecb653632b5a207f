"""A credential's state as the learner sees it: valid, expired, not yet valid, suspended or revoked.

Dates come first (an expired credential stays expired whatever its status list says), then
the issuer's status list: the IETF Token Status List for SD-JWT VCs
(draft-ietf-oauth-status-list §8, `vc.token_status_list`) or the W3C Bitstring Status List
for VC-JWTs (§3.2, `vc.bitstring_status_list`). Lists are fetched through the wallet's
fetcher, verified, and cached in the database for their `ttl`. A list that cannot be
fetched or verified gives `unknown`, never an error page.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from vc.bitstring_status_list import status_list_entries, validate_bitstring_status
from vc.errors import FetchError, MalformedToken, VcError
from vc.fetch import Fetcher
from vc.jws import decode_jws
from vc.keys import KeyResolver
from vc.token_status_list import MEDIA_TYPE, check_status
from vc.vc_jwt import verify_vc_jwt
from wallet.cache import DocumentCache

__all__ = [
    "EXPIRED",
    "NOT_YET_VALID",
    "REVOKED",
    "SUSPENDED",
    "UNKNOWN",
    "VALID",
    "StatusChecker",
    "date_status",
    "parse_timestamp",
]

log = logging.getLogger(__name__)

VALID, EXPIRED, NOT_YET_VALID, SUSPENDED, REVOKED, UNKNOWN = (
    "valid", "expired", "not_yet_valid", "suspended", "revoked", "unknown")
#: Token Status List §7.1 status types.
_TOKEN_STATUS = {0: VALID, 1: REVOKED, 2: SUSPENDED}
#: How long a status list without `ttl` (or a Bitstring Status List credential) is kept.
DEFAULT_TTL = timedelta(minutes=5)


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO 8601 date-time (a `Z` suffix allowed; UTC when it names no zone) or a datetime; None otherwise."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def date_status(summary: Mapping[str, Any], now: datetime | None = None) -> str:
    """`expired` / `not_yet_valid` from the credential's dates, else `valid`."""
    now = now or datetime.now(UTC)
    until, since = parse_timestamp(summary.get("valid_until")), parse_timestamp(summary.get("valid_from"))
    if until is not None and until <= now:
        return EXPIRED
    if since is not None and since > now:
        return NOT_YET_VALID
    return VALID


def _token_freshness(token: str) -> timedelta:
    """How long a Status List Token may be cached: its `ttl`, never past its `exp` (§11.3)."""
    claims = decode_jws(token).claims()
    keep = timedelta(seconds=claims["ttl"]) if isinstance(claims.get("ttl"), int) else DEFAULT_TTL
    if isinstance(claims.get("exp"), int | float):
        keep = min(keep, datetime.fromtimestamp(claims["exp"], UTC) - datetime.now(UTC))
    return keep


@dataclass
class StatusChecker:
    """Looks credentials' status up, with the lists cached in the database."""

    fetcher: Fetcher
    resolve_key: KeyResolver
    cache: DocumentCache
    now: datetime | None = None

    def status(self, summary: Mapping[str, Any]) -> str:
        by_date = date_status(summary, self.now)
        if by_date != VALID:
            return by_date
        reference = summary.get("status")
        if not reference:
            return VALID
        try:
            if summary.get("format") == "dc+sd-jwt":
                return self._token_status(reference)
            return self._bitstring_status(reference)
        except (VcError, ValueError, KeyError, TypeError) as exc:
            log.info("status of a credential could not be established: %s", exc)
            return UNKNOWN

    # -- IETF Token Status List ------------------------------------------------------------

    def _fetch_token(self, uri: str) -> str:
        def fetch() -> tuple[bytes, timedelta]:
            content_type, body = self.fetcher.get_bytes(uri, accept=MEDIA_TYPE)
            if content_type != MEDIA_TYPE:
                raise FetchError(f"the status list came as {content_type!r}, not {MEDIA_TYPE}")
            return body, _token_freshness(body.decode("ascii").strip())

        try:
            return self.cache.get("statuslist+jwt", uri, fetch).decode("ascii").strip()
        except UnicodeDecodeError as exc:
            raise MalformedToken("the status list token is not ASCII") from exc

    def _token_status(self, reference: Any) -> str:
        value = check_status(reference, fetch_token=self._fetch_token, resolve_key=self.resolve_key, now=self.now)
        return _TOKEN_STATUS.get(value, UNKNOWN)

    # -- W3C Bitstring Status List ---------------------------------------------------------

    def _dereference(self, url: str) -> Mapping[str, Any]:
        def fetch() -> tuple[bytes, timedelta]:
            return self.fetcher.get_bytes(url, accept="application/vc+jwt, application/jwt")[1], DEFAULT_TTL

        body = self.cache.get("bitstring", url, fetch).decode("utf-8").strip()
        if body.startswith("{"):
            raise MalformedToken("status list credentials with embedded proofs are not verified here")
        verified = verify_vc_jwt(body, resolve_key=self.resolve_key, now=self.now)
        return verified.credential

    def _bitstring_status(self, credential_status: Any) -> str:
        raw = credential_status if isinstance(credential_status, list) else [credential_status]
        state = VALID
        for item in raw:
            entries = status_list_entries({"credentialStatus": item})
            if not entries or entries[0].status_purpose not in ("revocation", "suspension"):
                continue
            result = validate_bitstring_status(item, dereference=self._dereference, now=self.now)
            if not result["valid"]:
                if entries[0].status_purpose == "revocation":
                    return REVOKED
                state = SUSPENDED
        return state
