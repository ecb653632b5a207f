"""QR code images for pages, as `data:` URIs the CSP allows (`img-src 'self' data:`)."""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.constants

__all__ = ["qr_png_data_uri"]


def qr_png_data_uri(text: str, *, box_size: int = 8) -> str:
    """A black-on-white PNG QR code of `text` (error correction M, 4-module quiet zone)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=4)
    code.add_data(text)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
