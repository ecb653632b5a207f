"""Helpers every service module uses: the clock, random secrets and their hashes, lookups that 404."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import TypeVar

from sqlmodel import Session

from issuer.models import IssuerTable
from schemas.oauth2 import NotFound, ProtocolError

__all__ = ["Conflict", "get_or_404", "new_secret", "secret_hash", "unix_now"]

T = TypeVar("T", bound=IssuerTable)


class Conflict(ProtocolError):
    """Admin API: the request conflicts with the current state (409)."""

    error = "conflict"
    status_code = 409


def unix_now(now: int | None = None) -> int:
    """`now` when given (tests), else the current UTC time in Unix seconds."""
    return int(time.time()) if now is None else now


def new_secret(nbytes: int = 32) -> str:
    """A URL-safe random secret (codes, tokens, nonces): 256 bits by default."""
    return secrets.token_urlsafe(nbytes)


def secret_hash(value: str) -> str:
    """SHA-256 hex of a high-entropy secret; what the database keeps instead of the secret."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def get_or_404(session: Session, model: type[T], ident: int, what: str) -> T:
    row = session.get(model, ident)
    if row is None:
        raise NotFound(f"{what} {ident} not found")
    return row
