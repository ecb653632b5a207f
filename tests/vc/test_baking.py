"""Baked badges (OB 3.0 §"Baked Badge"): PNG iTXt and SVG <openbadges:credential> (vc.baking)."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from vc.baking import (
    MAX_IMAGE_BYTES,
    OPENBADGES_NAMESPACE,
    PNG_KEYWORD,
    MalformedImage,
    bake_png,
    bake_svg,
    extract_credential,
    extract_png,
    extract_svg,
)
from vc.errors import MalformedToken

TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJkaWQ6ZXhhbXBsZTppc3N1ZXIifQ.c2lnbmF0dXJl"
CREDENTIAL = {"@context": ["https://www.w3.org/ns/credentials/v2"], "name": "Caf\u00e9 <b> ]]> badge"}
SVG = b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">\n  <circle r="4"/>\n</svg>\n'


@pytest.fixture(scope="module")
def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (16, 16), (18, 16, 124, 255)).save(buffer, "PNG")
    return buffer.getvalue()


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


# --- the 1EdTech baked examples ------------------------------------------------------------------------


@pytest.mark.parametrize("image", ["simple-jwt.png", "simple-jwt.svg"])
def test_1edtech_jwt_images_extract_a_compact_jws(ob3_spec_dir: Path, image: str) -> None:
    token = extract_credential((ob3_spec_dir / "examples" / "1edtech" / image).read_bytes())
    assert isinstance(token, str) and token.count(".") == 2 and token.startswith("eyJhbGciOiJSUzI1NiIs")


def test_1edtech_png_and_svg_carry_credentials_of_the_same_badge(ob3_spec_dir: Path) -> None:
    folder = ob3_spec_dir / "examples" / "1edtech"
    from_png = extract_credential((folder / "simple-json.png").read_bytes())
    from_svg = extract_credential((folder / "simple-json.svg").read_bytes())
    assert isinstance(from_png, dict) and isinstance(from_svg, dict)
    for credential in (from_png, from_svg):
        assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
        assert credential["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    assert from_png["credentialSubject"]["achievement"]["name"] == "Teamwork"


def test_1edtech_png_text_matches_what_pillow_reads(ob3_spec_dir: Path) -> None:
    data = (ob3_spec_dir / "examples" / "1edtech" / "simple-jwt.png").read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        assert image.text[PNG_KEYWORD] == extract_png(data)  # type: ignore[attr-defined]


# --- round trips -------------------------------------------------------------------------------------


@pytest.mark.parametrize("credential", [TOKEN, CREDENTIAL])
def test_png_round_trip(png: bytes, credential: str | dict[str, object]) -> None:
    baked = bake_png(png, credential)
    assert extract_credential(baked) == credential
    with Image.open(io.BytesIO(baked)) as image:  # still a PNG that a decoder accepts
        image.load()
        assert image.size == (16, 16)
        text = image.text[PNG_KEYWORD]  # type: ignore[attr-defined]
        assert (json.loads(text) if isinstance(credential, dict) else text) == credential
    # right after IHDR, uncompressed (OB 3.0: "Compression MUST NOT be used")
    ihdr_end = 8 + 12 + 13
    assert baked[ihdr_end + 4:ihdr_end + 8] == b"iTXt"
    assert baked[ihdr_end + 8:ihdr_end + 8 + len(PNG_KEYWORD) + 3] == PNG_KEYWORD.encode() + b"\0\0\0"


@pytest.mark.parametrize("credential", [TOKEN, CREDENTIAL])
def test_svg_round_trip(credential: str | dict[str, object]) -> None:
    baked = bake_svg(SVG, credential)
    assert extract_credential(baked) == credential
    assert f'xmlns:openbadges="{OPENBADGES_NAMESPACE}"'.encode() in baked
    start = baked.index(b'viewBox="0 0 512 512"')
    assert baked[baked.index(b">", start) + 1:].startswith(b"<openbadges:credential")  # directly after <svg>
    if isinstance(credential, str):
        assert f'<openbadges:credential verify="{credential}"></openbadges:credential>'.encode() in baked
    else:
        assert b"<openbadges:credential><![CDATA[{" in baked
    assert baked.endswith(b"  <circle r=\"4\"/>\n</svg>\n")


def test_svg_with_prefix_declared_and_self_closing_root() -> None:
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="{OPENBADGES_NAMESPACE}"/>'.encode()
    baked = bake_svg(svg, TOKEN)
    assert baked.count(b"xmlns:openbadges") == 1
    assert baked.endswith(b"</openbadges:credential></svg>")
    assert extract_svg(baked) == TOKEN


def test_svg_with_bom_comment_and_gt_in_an_attribute() -> None:
    svg = b'\xef\xbb\xbf<?xml version="1.0"?><!-- <svg> --><svg xmlns="http://www.w3.org/2000/svg" a="1>2"><g/></svg>'
    baked = bake_svg(svg, TOKEN)
    assert baked.startswith(b'\xef\xbb\xbf<?xml version="1.0"?><!-- <svg> --><svg xmlns="http://www.w3.org/2000/svg" a="1>2" ')
    assert baked.endswith(b'</openbadges:credential><g/></svg>')
    assert extract_svg(baked) == TOKEN


def test_baking_an_already_baked_image_is_refused(ob3_spec_dir: Path) -> None:
    data = (ob3_spec_dir / "examples" / "1edtech" / "simple-jwt.svg").read_bytes()
    with pytest.raises(MalformedImage, match="already holds"):
        bake_svg(data, TOKEN)
    with pytest.raises(MalformedImage, match="already holds"):
        bake_png((ob3_spec_dir / "examples" / "1edtech" / "simple-jwt.png").read_bytes(), TOKEN)


# --- refusing bad input ------------------------------------------------------------------------------


def test_bake_refuses_what_is_not_a_credential(png: bytes) -> None:
    for bad in ("not a jws", "a.b", "a.b.c<script>"):
        with pytest.raises(MalformedToken):
            bake_png(png, bad)
        with pytest.raises(MalformedToken):
            bake_svg(SVG, bad)


def test_png_without_credential_or_broken_is_refused(png: bytes) -> None:
    with pytest.raises(MalformedImage, match="no openbadgecredential"):
        extract_png(png)
    with pytest.raises(MalformedImage, match="not a PNG"):
        extract_png(b"GIF89a....")
    with pytest.raises(MalformedImage, match="CRC"):
        extract_png(png[:-5] + bytes([png[-5] ^ 1]) + png[-4:])
    with pytest.raises(MalformedImage, match="no IEND|malformed"):
        extract_png(png[:40])
    with pytest.raises(MalformedImage, match="starts with IHDR"):
        extract_png(png[:8] + chunk(b"tEXt", b"a\0b") + png[8:])
    with pytest.raises(MalformedImage, match="larger than"):
        extract_png(png + b"\0" * MAX_IMAGE_BYTES)


def test_png_compressed_itxt_is_read_but_bounded(png: bytes) -> None:
    ihdr_end = 8 + 12 + 13
    compressed = chunk(b"iTXt", PNG_KEYWORD.encode() + b"\0\1\0\0\0" + zlib.compress(TOKEN.encode()))
    assert extract_png(png[:ihdr_end] + compressed + png[ihdr_end:]) == TOKEN
    bomb = chunk(b"iTXt", PNG_KEYWORD.encode() + b"\0\1\0\0\0" + zlib.compress(b"a" * (2 * 1024 * 1024)))
    with pytest.raises(MalformedImage, match="too large"):
        extract_png(png[:ihdr_end] + bomb + png[ihdr_end:])
    garbage = chunk(b"iTXt", PNG_KEYWORD.encode() + b"\0\1\0\0\0" + b"not zlib")
    with pytest.raises(MalformedImage, match="decompress"):
        extract_png(png[:ihdr_end] + garbage + png[ihdr_end:])
    truncated = chunk(b"iTXt", PNG_KEYWORD.encode() + b"\0\0\0")
    with pytest.raises(MalformedImage, match="truncated"):
        extract_png(png[:ihdr_end] + truncated + png[ihdr_end:])


def test_png_other_itxt_chunks_are_skipped(png: bytes) -> None:
    ihdr_end = 8 + 12 + 13
    other = chunk(b"iTXt", b"Comment\0\0\0\0\0hello")
    baked = bake_png(png[:ihdr_end] + other + png[ihdr_end:], TOKEN)
    assert extract_png(baked) == TOKEN


def test_svg_entity_declarations_are_refused() -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b'<svg xmlns="http://www.w3.org/2000/svg"><openbadges:credential xmlns:openbadges="'
            + OPENBADGES_NAMESPACE.encode() + b'">&b;</openbadges:credential></svg>')
    with pytest.raises(MalformedImage, match="entity"):
        extract_svg(bomb)


def test_svg_without_credential_or_not_xml_is_refused() -> None:
    with pytest.raises(MalformedImage, match="no openbadges:credential"):
        extract_svg(SVG)
    with pytest.raises(MalformedImage, match="well-formed"):
        extract_svg(b"<svg><unclosed></svg>")
    with pytest.raises(MalformedImage, match="not an SVG"):
        bake_svg(b'<html xmlns="http://www.w3.org/1999/xhtml"/>', TOKEN)
    wrong_prefix = b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="http://openbadges.org"/>'
    with pytest.raises(MalformedImage, match="another namespace"):
        bake_svg(wrong_prefix, TOKEN)
    with pytest.raises(MalformedImage, match="larger than"):
        extract_svg(SVG + b" " * MAX_IMAGE_BYTES)


def test_extracted_text_must_be_a_jws_or_a_json_object() -> None:
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="{OPENBADGES_NAMESPACE}">'
    for body, reason in (("[1, 2]", "neither"), ("{broken", "not JSON"), ("hello", "neither")):
        data = f"{svg}<openbadges:credential><![CDATA[{body}]]></openbadges:credential></svg>".encode()
        with pytest.raises(MalformedImage, match=reason):
            extract_credential(data)


def test_bake_and_extract_refuse_wrong_input_types(png: bytes) -> None:
    with pytest.raises(MalformedToken, match="compact JWS or a credential object"):
        bake_png(png, 42)  # type: ignore[arg-type]
    with pytest.raises(MalformedImage, match="bytes"):
        extract_png("not bytes")  # type: ignore[arg-type]
    with pytest.raises(MalformedImage, match="UTF-8"):
        bake_svg('<svg xmlns="http://www.w3.org/2000/svg"/>'.encode("utf-16"), TOKEN)


def test_png_malformed_chunks_are_refused(png: bytes) -> None:
    ihdr_end = 8 + 12 + 13
    too_long = struct.pack(">I", 1 << 20) + b"tEXt" + b"x" * 8
    with pytest.raises(MalformedImage, match="malformed PNG chunk"):
        extract_png(png[:ihdr_end] + too_long)
    other_method = chunk(b"iTXt", PNG_KEYWORD.encode() + b"\0\1\7\0\0" + zlib.compress(b"x"))
    with pytest.raises(MalformedImage, match="compression method"):
        extract_png(png[:ihdr_end] + other_method + png[ihdr_end:])
    latin1 = chunk(b"iTXt", PNG_KEYWORD.encode() + b"\0\0\0\0\0caf\xe9")
    with pytest.raises(MalformedImage, match="UTF-8"):
        extract_png(png[:ihdr_end] + latin1 + png[ihdr_end:])
    short = chunk(b"iTXt", PNG_KEYWORD.encode() + b"\0\0")
    with pytest.raises(MalformedImage, match="truncated"):
        extract_png(png[:ihdr_end] + short + png[ihdr_end:])


def test_svg_credential_too_large_is_refused() -> None:
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="{OPENBADGES_NAMESPACE}">'
           f'<openbadges:credential verify="{"a" * (1024 * 1024 + 1)}"/></svg>').encode()
    with pytest.raises(MalformedImage, match="too large"):
        extract_svg(svg)
