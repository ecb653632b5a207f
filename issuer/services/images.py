"""Badge images: uploaded as `data:` URIs (PNG or SVG), or a plain generated PNG when there is none."""

from __future__ import annotations

import base64
import binascii
import io
import zlib

from PIL import Image, ImageDraw

from schemas.oauth2 import InvalidRequest

__all__ = ["default_badge_png", "parse_image_data_uri"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_IMAGE_BYTES = 1_000_000


def parse_image_data_uri(uri: str) -> tuple[bytes, str]:
    """`data:image/png;base64,...` or `data:image/svg+xml;base64,...` → (bytes, media type); checks the content."""
    header, _, data = uri.partition(",")
    media_type = header.removeprefix("data:").removesuffix(";base64")
    try:
        content = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest("image: not valid base64") from exc
    if len(content) > MAX_IMAGE_BYTES:
        raise InvalidRequest("image: larger than 1 MB")
    if media_type == "image/png":
        if not content.startswith(PNG_SIGNATURE):
            raise InvalidRequest("image: not a PNG file")
        try:
            Image.open(io.BytesIO(content)).verify()
        except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds for broken files
            raise InvalidRequest("image: the PNG file is damaged") from exc
    elif media_type == "image/svg+xml":
        head = content[:2000].lstrip().lower()
        if not (head.startswith(b"<svg") or head.startswith(b"<?xml")) or b"<script" in content.lower():
            raise InvalidRequest("image: not an SVG file without scripts")
    else:
        raise InvalidRequest("image: PNG or SVG only")
    return content, media_type


def default_badge_png(name: str, seed: int) -> bytes:
    """A 256x256 round badge in a colour derived from `seed`, with the name's initials."""
    hue = zlib.crc32(str(seed).encode()) % 360
    image = Image.new("RGBA", (256, 256), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    colour = f"hsl({hue}, 55%, 38%)"
    draw.ellipse((8, 8, 248, 248), fill=colour, outline="#ffffff", width=6)
    initials = "".join(word[0] for word in name.split()[:3]).upper() or "?"
    draw.text((128, 128), initials, fill="#ffffff", anchor="mm", font_size=72)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
