"""base64url without padding (RFC 7515 §2), compact JSON in and out, and bounded ZLIB/GZIP inflate.

JSON goes through `orjson` (RFC 8259, UTF-8, no NaN/Infinity, nesting capped at 1024): every JWS,
SD-JWT payload and Disclosure is parsed here, and parsing is a good part of verifying one.
Integers beyond 64 bits are refused in and out (RFC 7493 I-JSON asks for IEEE 754 doubles anyway)."""

from __future__ import annotations

import base64
import binascii
import zlib
from typing import Any

import orjson

from vc.errors import MalformedToken

__all__ = ["ZLIB_WBITS", "GZIP_WBITS", "b64url_decode", "b64url_encode", "inflate", "json_bytes", "json_loads"]

#: `wbits` for `inflate`: ZLIB (RFC 1950) and GZIP (RFC 1952) framing of DEFLATE (RFC 1951).
ZLIB_WBITS = zlib.MAX_WBITS
GZIP_WBITS = 16 + zlib.MAX_WBITS

# base64url -> base64; '+', '/' and '=' (not base64url) become '!', which strict decoding refuses.
_TO_STANDARD_ALPHABET = bytes.maketrans(b"-_+/=", b"+/!!!")


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(data: str) -> bytes:
    """Decode unpadded base64url; refuse padding and characters outside the alphabet."""
    if not isinstance(data, str):
        raise MalformedToken("not unpadded base64url")
    try:
        raw = data.encode("ascii").translate(_TO_STANDARD_ALPHABET)
        return binascii.a2b_base64(raw + b"=" * (-len(raw) % 4), strict_mode=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise MalformedToken("not unpadded base64url") from exc


def json_bytes(value: Any) -> bytes:
    """Compact JSON, UTF-8, as put into JWS payloads and headers."""
    return orjson.dumps(value)


def json_loads(data: bytes | str) -> Any:
    """Parse JSON text; `ValueError` (`orjson.JSONDecodeError`) when it is not JSON."""
    return orjson.loads(data)


def inflate(data: bytes, *, wbits: int, max_size: int) -> bytes:
    """Decompress a whole ZLIB stream or GZIP file (all its members), producing at most `max_size` bytes.

    Refuses (MalformedToken) a corrupt or truncated stream, trailing bytes after a ZLIB stream, and
    output beyond `max_size` (a decompression bomb) without ever inflating past the bound.
    """
    out = bytearray()
    rest = data
    while True:
        decompressor = zlib.decompressobj(wbits=wbits)
        try:
            out += decompressor.decompress(rest, max_size - len(out) + 1)
        except zlib.error as exc:
            raise MalformedToken("not a valid compressed stream") from exc
        if len(out) > max_size:
            raise MalformedToken(f"decompressed data exceeds {max_size} bytes")
        if not decompressor.eof:
            raise MalformedToken("compressed stream is truncated")
        rest = decompressor.unused_data
        if not rest:
            return bytes(out)
        if wbits != GZIP_WBITS:
            raise MalformedToken("trailing bytes after the compressed stream")
