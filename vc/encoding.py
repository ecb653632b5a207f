"""base64url without padding (RFC 7515 §2) and canonical JSON bytes."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from vc.errors import MalformedToken

__all__ = ["b64url_decode", "b64url_encode", "json_bytes"]


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(data: str) -> bytes:
    """Decode unpadded base64url; refuse padding and characters outside the alphabet."""
    if not isinstance(data, str) or "=" in data:
        raise MalformedToken("not unpadded base64url")
    try:
        return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedToken("not base64url") from exc


def json_bytes(value: Any) -> bytes:
    """Compact JSON, UTF-8, as put into JWS payloads and headers."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
