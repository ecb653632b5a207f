"""QR codes (ISO/IEC 18004, via `qrcode`): PNG and SVG images, and PNG `data:` URIs for pages (the CSP
allows `img-src 'self' data:`). Error correction M, a 4-module quiet zone, black on white."""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.constants
from qrcode.image.svg import SvgPathImage

__all__ = ["qr_png", "qr_png_data_uri", "qr_svg"]


def _code(text: str, box_size: int) -> qrcode.QRCode:  # type: ignore[type-arg]
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=4)
    code.add_data(text)
    code.make(fit=True)
    return code


def qr_png(text: str, *, box_size: int = 8) -> bytes:
    """A black-on-white PNG QR code of `text`."""
    buffer = io.BytesIO()
    _code(text, box_size).make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return buffer.getvalue()


def qr_svg(text: str, *, box_size: int = 8) -> bytes:
    """An SVG QR code of `text` (one path)."""
    buffer = io.BytesIO()
    _code(text, box_size).make_image(image_factory=SvgPathImage).save(buffer)
    return buffer.getvalue()


def qr_png_data_uri(text: str, *, box_size: int = 8) -> str:
    """`qr_png` as a `data:image/png;base64,...` URI."""
    return "data:image/png;base64," + base64.b64encode(qr_png(text, box_size=box_size)).decode("ascii")
