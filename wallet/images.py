"""Badge images and issuer logos for the pages, served from the wallet's own origin.

The pages' Content-Security-Policy allows images only from the wallet itself (and `data:` URIs),
and a learner's browser need not tell an issuer whenever a badge is looked at. So the wallet
fetches an image once through its fetcher (https only but loopback in development, SSRF guard,
size and time limits), keeps it sealed in the document cache for a day (a failure for ten
minutes), and serves it itself. Only PNG, JPEG, GIF, WebP and SVG are served; an SVG goes out
with a sandboxing policy, so opened on its own it cannot run anything.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from vc.errors import FetchError
from wallet.accounts import LearnerContext
from wallet.rendering import card
from wallet.services import WalletServices
from wallet.store import get_credential

__all__ = ["IMAGE_KINDS", "IMAGE_TYPES", "credential_image", "image_reference"]

log = logging.getLogger(__name__)

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml"})
#: Which image of a credential: its badge, or its issuer's logo.
IMAGE_KINDS = ("badge", "issuer")
IMAGE_TTL = timedelta(days=1)
FAILURE_TTL = timedelta(minutes=10)
_NONE = b"-"


def image_reference(summary: Mapping[str, Any], kind: str, locale: str | None) -> str | None:
    """The image a credential's summary names for `kind` (a URL or a `data:` URI), if any."""
    shown = card(summary, locale=locale, status="valid")
    value = shown["image"] if kind == "badge" else shown["issuer"]["logo"]
    return value if isinstance(value, str) and value else None


def credential_image(*, session: Session, learner: LearnerContext, services: WalletServices, credential_id: str,
                     kind: str) -> tuple[str, bytes] | None:
    """(media type, bytes) of the learner's credential's image, or None when there is none to show."""
    summary = get_credential(session=session, learner=learner, credential_id=credential_id).summary
    url = image_reference(summary, kind, learner.locale)
    if url is None or not url.startswith(("https://", "http://")):
        return None

    def fetch() -> tuple[bytes, timedelta]:
        try:
            media_type, body = services.fetcher.get_bytes(url, accept=", ".join(sorted(IMAGE_TYPES)))
        except FetchError as exc:
            log.info("image not fetched: %s", exc)
            return _NONE, FAILURE_TTL
        if media_type not in IMAGE_TYPES or not body:
            return _NONE, FAILURE_TTL
        return media_type.encode("ascii") + b"\n" + body, IMAGE_TTL

    cached = services.document_cache(session).get("image", url, fetch)
    if cached == _NONE:
        return None
    media_type, _, body = cached.partition(b"\n")
    return media_type.decode("ascii"), body
