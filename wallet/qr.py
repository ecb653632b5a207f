"""Reading the text of a QR code from an uploaded image (a photo or screenshot of an offer or request).

Decoded server-side with ZXing-C++ (`zxingcpp`); Pillow opens the image with its
decompression-bomb guard on, after a size check of the upload itself.
"""

from __future__ import annotations

import io
import warnings

import zxingcpp
from PIL import Image, UnidentifiedImageError

from schemas.oauth2 import InvalidRequest

__all__ = ["MAX_PIXELS", "read_qr_code"]

#: Larger images are refused before decoding (a 4000x4000 photo fits).
MAX_PIXELS = 16_000_000


def read_qr_code(data: bytes, *, max_bytes: int) -> str:
    """The text of the first QR code in the image; `invalid_request` when there is none."""
    if not data:
        raise InvalidRequest("the upload is empty")
    if len(data) > max_bytes:
        raise InvalidRequest(f"the image is larger than {max_bytes} bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PIXELS:
                raise InvalidRequest("the image has too many pixels")
            image.load()
    except InvalidRequest:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise InvalidRequest("the upload is not an image that can be read") from exc
    results = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
    texts = [r.text for r in results if r.valid and r.text]
    if not texts:
        raise InvalidRequest("no QR code was found in the image")
    return texts[0]
