"""Baked badges: an Open Badges 3.0 credential embedded in its PNG or SVG image.

OB 3.0 §"Baked Badge" (https://www.imsglobal.org/spec/ob/v3p0/#baking):

- PNG (#png-baking): one `iTXt` chunk with keyword `openbadgecredential`, uncompressed; its text
  is the compact JWS of a VC-JWT, or the credential JSON when the proof is embedded. Extracting
  reads the first such chunk.
- SVG (#svg-baking): `xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"` on `<svg>` and,
  directly after the `<svg>` tag, one `<openbadges:credential>` element: a VC-JWT goes in its
  `verify` attribute, credential JSON in its body inside `<![CDATA[...]]>`.

Images come from outside: both readers enforce a byte limit, check PNG CRCs, refuse XML entity
declarations, and raise `MalformedImage`. Baking an image that already holds a credential is
refused (the spec lets the implementer choose).
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections.abc import Iterator, Mapping
from typing import Any
from xml.parsers import expat

from vc.errors import MalformedToken

__all__ = [
    "MAX_IMAGE_BYTES",
    "OPENBADGES_NAMESPACE",
    "PNG_KEYWORD",
    "MalformedImage",
    "bake_png",
    "bake_svg",
    "extract_credential",
    "extract_png",
    "extract_svg",
]

PNG_KEYWORD = "openbadgecredential"
OPENBADGES_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
#: Largest image read or baked.
MAX_IMAGE_BYTES = 8 * 1024 * 1024
#: Largest credential text taken out of an image (also after decompressing a compressed iTXt).
MAX_CREDENTIAL_BYTES = 1024 * 1024

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
_CREDENTIAL_TAG = f"{OPENBADGES_NAMESPACE} credential"


class MalformedImage(MalformedToken):
    """The image is not a PNG/SVG we can read, holds no credential, or is too large."""


def _credential_text(credential: str | Mapping[str, Any]) -> tuple[str, bool]:
    """(text, is_jwt): a compact JWS as is, a credential object as JSON."""
    if isinstance(credential, str):
        if not _COMPACT_JWS.fullmatch(credential):
            raise MalformedToken("a baked VC-JWT must be a compact JWS")
        return credential, True
    if not isinstance(credential, Mapping):
        raise MalformedToken("bake a compact JWS or a credential object")
    return json.dumps(credential), False  # ASCII: safe in any ASCII-compatible XML encoding


def _check_size(data: bytes) -> None:
    if not isinstance(data, bytes | bytearray):
        raise MalformedImage("an image is bytes")
    if len(data) > MAX_IMAGE_BYTES:
        raise MalformedImage(f"image larger than {MAX_IMAGE_BYTES} bytes")


# --- PNG -------------------------------------------------------------------------------------------


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, bytes, int, int]]:
    """(type, data, start, end) of each chunk up to IEND, CRCs checked."""
    _check_size(data)
    if not data.startswith(_PNG_SIGNATURE):
        raise MalformedImage("not a PNG image")
    offset = len(_PNG_SIGNATURE)
    first = True
    while True:
        if offset + 12 > len(data):
            raise MalformedImage("PNG ends inside a chunk (no IEND)")
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        kind = data[offset + 4:offset + 8]
        end = offset + 12 + length
        if length > 0x7FFFFFFF or end > len(data) or not kind.isalpha():
            raise MalformedImage("malformed PNG chunk")
        body = data[offset + 8:offset + 8 + length]
        (crc,) = struct.unpack(">I", data[end - 4:end])
        if zlib.crc32(kind + body) != crc:
            raise MalformedImage(f"PNG chunk {kind.decode('ascii')} fails its CRC")
        if first and kind != b"IHDR":
            raise MalformedImage("a PNG starts with IHDR")
        first = False
        yield kind, body, offset, end
        if kind == b"IEND":
            return
        offset = end


def _itxt(body: bytes) -> tuple[str, str] | None:
    """(keyword, text) of an iTXt chunk (PNG §11.3.4.5), or None if it is not ours."""
    keyword, sep, rest = body.partition(b"\0")
    if not sep or keyword.decode("latin-1") != PNG_KEYWORD:
        return None
    if len(rest) < 2:
        raise MalformedImage("truncated iTXt chunk")
    compressed, method, rest = rest[0], rest[1], rest[2:]
    _language, sep1, rest = rest.partition(b"\0")
    _translated, sep2, text = rest.partition(b"\0")
    if not (sep1 and sep2):
        raise MalformedImage("truncated iTXt chunk")
    if compressed:
        if method != 0:
            raise MalformedImage("unknown iTXt compression method")
        inflater = zlib.decompressobj()
        try:
            text = inflater.decompress(text, MAX_CREDENTIAL_BYTES + 1)
        except zlib.error as exc:
            raise MalformedImage("iTXt text does not decompress") from exc
    if len(text) > MAX_CREDENTIAL_BYTES:
        raise MalformedImage("baked credential too large")
    try:
        return PNG_KEYWORD, text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedImage("iTXt text is not UTF-8") from exc


def extract_png(png: bytes) -> str:
    """The text of the first `openbadgecredential` iTXt chunk: a compact JWS or credential JSON."""
    for kind, body, _start, _end in _png_chunks(png):
        if kind == b"iTXt" and (found := _itxt(body)) is not None:
            return found[1]
    raise MalformedImage("the PNG holds no openbadgecredential chunk")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def bake_png(png: bytes, credential: str | Mapping[str, Any]) -> bytes:
    """`png` with the credential in an uncompressed `openbadgecredential` iTXt chunk right after IHDR."""
    text, _ = _credential_text(credential)
    ihdr_end = None
    for kind, body, _start, end in _png_chunks(png):
        if kind == b"IHDR":
            ihdr_end = end
        if kind == b"iTXt" and _itxt(body) is not None:
            raise MalformedImage("the PNG already holds a baked credential")
    assert ihdr_end is not None  # _png_chunks insists on IHDR first
    # keyword, NUL, compression flag 0, method 0, empty language tag + NUL, empty translated keyword + NUL
    body = PNG_KEYWORD.encode("latin-1") + b"\0\0\0\0\0" + text.encode("utf-8")
    baked = png[:ihdr_end] + _chunk(b"iTXt", body) + png[ihdr_end:]
    _check_size(baked)
    return bytes(baked)


# --- SVG -------------------------------------------------------------------------------------------


class _Found(Exception):
    pass


class _SvgScan:
    """One pass of expat over an SVG: where the root start tag is, and the first baked credential."""

    def __init__(self, svg: bytes) -> None:
        _check_size(svg)
        self.root: tuple[str, dict[str, str], int] | None = None
        self.credential: str | None = None
        self._inside = False
        self._text: list[str] = []
        self._parser = expat.ParserCreate(namespace_separator=" ")
        self._parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self._parser.EntityDeclHandler = self._refuse_entities
        self._parser.StartElementHandler = self._start
        self._parser.EndElementHandler = self._end
        self._parser.CharacterDataHandler = self._data
        self._parser.buffer_text = True
        try:
            self._parser.Parse(bytes(svg), True)
        except _Found:
            pass
        except expat.ExpatError as exc:
            raise MalformedImage(f"not well-formed XML: {exc}") from exc

    @staticmethod
    def _refuse_entities(*_args: Any) -> None:
        raise MalformedImage("XML entity declarations are not accepted")

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        if self.root is None:
            self.root = (name, attributes, self._parser.CurrentByteIndex)
        if name == _CREDENTIAL_TAG:
            if "verify" in attributes:
                self.credential = attributes["verify"]
                raise _Found
            self._inside = True

    def _data(self, text: str) -> None:
        if self._inside:
            self._text.append(text)

    def _end(self, name: str) -> None:
        if self._inside and name == _CREDENTIAL_TAG:
            self.credential = "".join(self._text).strip()
            raise _Found


def extract_svg(svg: bytes) -> str:
    """The first `<openbadges:credential>`: its `verify` attribute (a compact JWS) or its JSON body."""
    scan = _SvgScan(svg)
    if scan.credential is None:
        raise MalformedImage("the SVG holds no openbadges:credential element")
    if len(scan.credential.encode("utf-8")) > MAX_CREDENTIAL_BYTES:
        raise MalformedImage("baked credential too large")
    return scan.credential


def _start_tag_end(svg: bytes, start: int) -> int:
    """Index of the `>` closing the start tag at `start` (quotes respected)."""
    quote = None
    for index in range(start, len(svg)):
        char = svg[index:index + 1]
        if quote:
            if char == quote:
                quote = None
        elif char in (b'"', b"'"):
            quote = char
        elif char == b">":
            return index
    raise MalformedImage("unterminated start tag")


def bake_svg(svg: bytes, credential: str | Mapping[str, Any]) -> bytes:
    """`svg` (UTF-8) with `<openbadges:credential>` directly after its `<svg>` start tag."""
    text, is_jwt = _credential_text(credential)
    scan = _SvgScan(svg)
    if scan.root is None or scan.root[0] != f"{SVG_NAMESPACE} svg":
        raise MalformedImage("the root element is not an SVG <svg>")
    if scan.credential is not None:
        raise MalformedImage("the SVG already holds a baked credential")
    if not svg.lstrip(b"\xef\xbb\xbf").lstrip().startswith(b"<"):
        raise MalformedImage("bake a UTF-8 SVG")
    _name, _attributes, start = scan.root
    close = _start_tag_end(svg, start)
    empty = svg[close - 1:close] == b"/"
    tag_end = close - 1 if empty else close
    tag = svg[start:tag_end]
    declaration = b""
    bound = re.search(rb"""xmlns:openbadges\s*=\s*(["'])(.*?)\1""", tag)
    if bound is None:
        declaration = f' xmlns:openbadges="{OPENBADGES_NAMESPACE}"'.encode()
    elif bound.group(2).decode("utf-8") != OPENBADGES_NAMESPACE:
        raise MalformedImage("the openbadges prefix is bound to another namespace")
    if is_jwt:
        element = f'<openbadges:credential verify="{text}"></openbadges:credential>'
    else:
        # ">" only occurs inside JSON strings, where \u003e means the same: "]]>" cannot end the CDATA early.
        element = f"<openbadges:credential><![CDATA[{text.replace('>', chr(92) + 'u003e')}]]></openbadges:credential>"
    closing = b"</svg>" if empty else b""
    baked = svg[:tag_end] + declaration + b">" + element.encode("utf-8") + closing + svg[close + 1:]
    _check_size(baked)
    return bytes(baked)


def extract_credential(image: bytes) -> str | dict[str, Any]:
    """The credential baked into a PNG or SVG: a compact JWS string, or the credential object."""
    text = extract_png(image) if bytes(image[:8]) == _PNG_SIGNATURE else extract_svg(image)
    text = text.strip()
    if text.startswith("{"):
        try:
            value: dict[str, Any] = json.loads(text)  # "{" can only start an object
        except ValueError as exc:
            raise MalformedImage("the baked credential is not JSON") from exc
        return value
    if not _COMPACT_JWS.fullmatch(text):
        raise MalformedImage("the baked credential is neither a compact JWS nor JSON")
    return text
