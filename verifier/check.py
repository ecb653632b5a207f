"""The standalone check: an uploaded credential, through the same named checks, as a report.

What 1EdTech's validator does for Open Badges 3.0, for what this verifier understands:
an OB3 VC-JWT (compact JWS), OB3 JSON (an embedded proof: reported, not verified), a baked
PNG or SVG (OB 3.0 §"Baked Badge", `vc.baking`), or an SD-JWT VC (with or without KB-JWT).
Nothing was presented to this verifier, so holder binding is skipped.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import Session

from schemas.oauth2 import InvalidRequest
from vc.baking import extract_credential
from vc.checks import CredentialReport, check_credential_json, check_sd_jwt_vc, check_vc_jwt
from vc.errors import MalformedToken
from verifier.settings import VerifierSettings
from verifier.summary import badge_summary
from verifier.verification import VerificationService, trusted_issuers_for

__all__ = ["check_uploaded_credential", "read_credential"]

_PNG = b"\x89PNG\r\n\x1a\n"


def read_credential(data: bytes) -> str | dict[str, Any]:
    """The credential in an upload: a baked image's, a JSON object, or a compact token."""
    head = data.lstrip()[:512]
    if data.startswith(_PNG) or head.startswith(b"<?xml") or head.startswith(b"<svg"):
        try:
            return extract_credential(data)
        except MalformedToken as exc:
            raise InvalidRequest(f"no credential in the image: {exc}") from exc
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise InvalidRequest("the upload is neither an image nor text") from exc
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise InvalidRequest("the upload is not valid JSON") from exc
        if not isinstance(value, dict):
            raise InvalidRequest("a JSON credential is an object")
        return value
    if not text or any(c.isspace() for c in text):
        raise InvalidRequest("the upload is not a credential (JWT, SD-JWT, JSON or a baked image)")
    return text


def check_uploaded_credential(*, session: Session, settings: VerifierSettings, service: VerificationService,
                              data: bytes, now: datetime | None = None) -> dict[str, Any]:
    """The report of every named check on an uploaded credential."""
    credential = read_credential(data)
    context = service.context(trusted_issuers=trusted_issuers_for(session, settings, None), now=now)
    report: CredentialReport
    if isinstance(credential, dict):
        report = check_credential_json(credential, context)
    elif "~" in credential:
        report = check_sd_jwt_vc(credential, context)
    else:
        report = check_vc_jwt(credential, context)
    return {**report.to_json(), "summary": badge_summary(report.format, report.claims)}
