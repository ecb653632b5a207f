"""Settings of the verifier service (environment variables `EDUWALLET_VERIFIER_*`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict
from servicekit.settings import ServiceSettings

__all__ = ["VerifierSettings"]


class VerifierSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EDUWALLET_VERIFIER_", extra="ignore")

    service_name: ClassVar[str] = "verifier"
    default_port: ClassVar[int] = 8003
