"""Settings of the wallet service (environment variables `EDUWALLET_WALLET_*`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from servicekit.settings import ServiceSettings
from vc.fetch import FetchPolicy

__all__ = ["WalletSettings"]


class WalletSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EDUWALLET_WALLET_", extra="ignore")

    service_name: ClassVar[str] = "wallet"
    default_port: ClassVar[int] = 8002

    #: Lifetime of an API bearer token.
    token_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    #: Lifetime of a resolved offer or presentation request waiting for the learner.
    pending_ttl_seconds: int = Field(default=600, ge=30)
    #: Language used for rendering when the learner has not chosen one.
    default_locale: str = "en"
    #: Limits for everything the wallet fetches (offers, metadata, request objects, status lists).
    fetch_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    fetch_max_bytes: int = Field(default=1_000_000, ge=1024, le=20_000_000)
    #: Copies asked for when an issuer offers batch issuance (each bound to its own fresh key).
    batch_copies: int = Field(default=3, ge=1, le=10)
    #: Largest QR image upload accepted.
    max_qr_image_bytes: int = Field(default=2_000_000, ge=1024)

    def fetch_policy(self) -> FetchPolicy:
        return FetchPolicy(allow_http_loopback=self.allow_http_loopback, max_bytes=self.fetch_max_bytes,
                           timeout=self.fetch_timeout_seconds)
