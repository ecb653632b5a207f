"""Settings every service has, read from `EDUWALLET_<SERVICE>_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr, computed_field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ServiceSettings"]


class ServiceSettings(BaseSettings):
    """Base of `IssuerSettings`, `WalletSettings` and `VerifierSettings`."""

    model_config = SettingsConfigDict(extra="ignore")

    service_name: ClassVar[str] = "service"
    default_port: ClassVar[int] = 8000

    host: str = "127.0.0.1"
    port: int | None = None
    #: The URL other parties use to reach this service (its identifier in the protocols).
    public_url: str | None = None
    var_dir: Path = Path("var")
    database_url: str | None = None
    #: PostgreSQL: connections each worker process keeps open, and how many more it may open under load.
    db_pool_size: int = Field(default=10, ge=1, le=500)
    db_max_overflow: int = Field(default=20, ge=0, le=500)
    #: base64url of 32 random bytes; generated into `var_dir` on first start when unset.
    master_key: SecretStr | None = None
    #: Development: allow plain http to loopback hosts (the issuer's did:web, metadata, status lists).
    allow_http_loopback: bool = True
    max_body_bytes: int = 2_000_000

    @computed_field  # type: ignore[prop-decorator]
    @property
    def bind_port(self) -> int:
        return self.port if self.port is not None else self.default_port

    @computed_field  # type: ignore[prop-decorator]
    @property
    def base_url(self) -> str:
        url = self.public_url or f"http://localhost:{self.bind_port}"
        return url.rstrip("/")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / (self.service_name + '.db')}"

    @property
    def master_key_file(self) -> Path:
        return self.var_dir / f"{self.service_name}-master.key"
