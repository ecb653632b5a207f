"""Sharing a credential outside OpenID4VP: as OB3 JSON, as the issued JWT, or baked into a PNG.

OB 3.0 §"Baked Badge" (https://www.imsglobal.org/spec/ob/v3p0/#baking): the VC-JWT goes into an
`iTXt` chunk `openbadgecredential` of the badge image (`vc.baking`). The image is the
achievement's own when it can be fetched as a PNG (through the wallet's fetcher, so with its
limits and SSRF guard); otherwise a plain image with the badge's name is drawn.
"""

from __future__ import annotations

import io
import json
import logging
import textwrap
from collections.abc import Mapping
from typing import Any

from PIL import Image, ImageDraw
from sqlmodel import Session

from schemas.oauth2 import InvalidRequest
from schemas.oid4vci import FORMAT_DC_SD_JWT, FORMAT_JWT_VC_JSON
from vc.baking import MalformedImage, bake_png
from vc.errors import FetchError
from wallet.accounts import LearnerContext
from wallet.rendering import card
from wallet.services import WalletServices
from wallet.store import get_credential

__all__ = ["EXPORT_FORMATS", "export_credential"]

log = logging.getLogger(__name__)
EXPORT_FORMATS = ("json", "jwt", "png")
_PNG = b"\x89PNG\r\n\x1a\n"


def _drawn_badge(name: str, color: str | None) -> bytes:
    image = Image.new("RGB", (512, 512), color or "#12107c")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(textwrap.wrap(name, 28)[:8]):
        draw.text((32, 200 + 24 * i), line, fill="white")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _badge_image(services: WalletServices, summary: Mapping[str, Any], shown: Mapping[str, Any]) -> bytes:
    url = shown.get("image")
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        try:
            content_type, body = services.fetcher.get_bytes(url, accept="image/png")
            if content_type == "image/png" and body.startswith(_PNG):
                return body
        except FetchError as exc:
            log.info("badge image not fetched, drawing one: %s", exc)
    display = summary.get("credential_display") or [{}]
    return _drawn_badge(shown["name"], display[0].get("background_color") if isinstance(display[0], dict) else None)


def export_credential(*, session: Session, learner: LearnerContext, services: WalletServices, credential_id: str,
                      as_: str) -> tuple[str, bytes, str]:
    """(media type, body, file name) of the credential exported as `json`, `jwt` or `png`."""
    credential = get_credential(session=session, learner=learner, credential_id=credential_id)
    raw = credential.copies[0].credential
    if as_ == "json":
        return "application/json", json.dumps(credential.claims, indent=2).encode("utf-8"), f"{credential_id}.json"
    if as_ == "jwt":
        media = "application/dc+sd-jwt" if credential.format == FORMAT_DC_SD_JWT else "application/jwt"
        return media, raw.encode("ascii"), f"{credential_id}.{'sd-jwt' if credential.format == FORMAT_DC_SD_JWT else 'jwt'}"
    if as_ == "png":
        if credential.format != FORMAT_JWT_VC_JSON:
            raise InvalidRequest("only Open Badges (jwt_vc_json) credentials are baked into images")
        shown = card(credential.summary, locale=learner.locale, status="valid")
        image = _badge_image(services, credential.summary, shown)
        try:
            baked = bake_png(image, raw)
        except MalformedImage:
            baked = bake_png(_drawn_badge(shown["name"], None), raw)
        return "image/png", baked, f"{credential_id}.png"
    raise InvalidRequest(f"export as one of {', '.join(EXPORT_FORMATS)}")
