"""Settings of the issuer service (environment variables `EDUWALLET_ISSUER_*`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict
from servicekit.settings import ServiceSettings

__all__ = ["IssuerSettings"]


class IssuerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EDUWALLET_ISSUER_", extra="ignore")

    service_name: ClassVar[str] = "issuer"
    default_port: ClassVar[int] = 8001
