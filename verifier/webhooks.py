"""Webhooks: tell the relying party's backend that a request was answered.

The body is the same JSON the poll endpoint answers (status, verdict, checks, disclosed
claims). It is signed with HMAC-SHA256 under the request's webhook secret (returned once
when the request was made): header `X-Eduwallet-Signature: t=<unix time>,v1=<hex>` where
`hex = HMAC-SHA256(secret, "<t>.<body>")`, so a receiver can refuse old replays. A delivery
that fails (network, non-2xx) is retried with exponential back-off, `webhook_attempts` times
in all; each attempt and the delivery time are recorded on the request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from vc.errors import FetchError
from vc.fetch import Fetcher, FetchPolicy
from vc.keys import MasterKey
from verifier.models import PresentationRequest, utcnow
from verifier.requests import webhook_secret
from verifier.results import presentation_result
from verifier.settings import VerifierSettings

__all__ = ["SIGNATURE_HEADER", "deliver_webhook", "sign_webhook", "verify_webhook_signature"]

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Eduwallet-Signature"


def sign_webhook(secret: bytes, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_webhook_signature(secret: bytes, body: bytes, header: str, *, max_age: int = 300,
                             now: float | None = None) -> bool:
    """What a receiver does: recompute the HMAC and check the timestamp is recent."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    if not parts.get("t", "").isdigit() or "v1" not in parts:
        return False
    timestamp = int(parts["t"])
    if abs((now if now is not None else time.time()) - timestamp) > max_age:
        return False
    expected = sign_webhook(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts["v1"])


def deliver_webhook(engine: Engine, master_key: MasterKey, settings: VerifierSettings, request_id: str, *,
                    sleep: Callable[[float], None] = time.sleep) -> bool:
    """POST the result to the request's webhook URL, retrying with back-off; True once delivered."""
    with Session(engine, expire_on_commit=False) as session:
        request = session.get(PresentationRequest, request_id)
        if request is None or request.webhook_url is None or request.webhook_delivered_at is not None:
            return False
        payload: dict[str, Any] = presentation_result(session, request, response_code=request.response_code)
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        secret = webhook_secret(master_key, request)
        url = request.webhook_url
    policy = FetchPolicy(allow_http_loopback=settings.allow_http_loopback, timeout=settings.webhook_timeout_seconds)
    delay = settings.webhook_backoff_seconds
    with Fetcher(policy) as fetcher:
        for attempt in range(1, settings.webhook_attempts + 1):
            signature = sign_webhook(secret, body, int(time.time()))
            delivered = False
            try:
                fetcher.request("POST", url, content=body, headers={
                    "Content-Type": "application/json", SIGNATURE_HEADER: signature})
                delivered = True
            except FetchError as exc:
                log.info("webhook for request %s: attempt %d failed: %s", request_id, attempt, exc)
            with Session(engine) as session:
                values: dict[str, Any] = {"webhook_attempts": attempt}
                if delivered:
                    values["webhook_delivered_at"] = utcnow()
                session.execute(update(PresentationRequest).where(col(PresentationRequest.id) == request_id)
                                .values(**values))
                session.commit()
            if delivered:
                return True
            if attempt < settings.webhook_attempts:
                sleep(delay)
                delay *= 2
    log.warning("webhook for request %s not delivered after %d attempts", request_id, settings.webhook_attempts)
    return False
