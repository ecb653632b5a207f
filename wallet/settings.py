"""Settings of the wallet service (environment variables `EDUWALLET_WALLET_*`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict
from servicekit.settings import ServiceSettings

__all__ = ["WalletSettings"]


class WalletSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EDUWALLET_WALLET_", extra="ignore")

    service_name: ClassVar[str] = "wallet"
    default_port: ClassVar[int] = 8002
