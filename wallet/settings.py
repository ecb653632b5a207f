"""Settings of the wallet service (environment variables `EDUWALLET_WALLET_*`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr, model_validator
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

    #: Password logins: after 5 attempts for one account or 20 from one address, blocked this long, doubling with
    #: each further attempt (`servicekit.throttle`).
    login_throttle_base_delay_seconds: int = Field(default=2, ge=1, le=900)

    #: Page sessions (the browser's login) last this long.
    page_session_ttl_seconds: int = Field(default=12 * 3600, ge=300)
    #: OpenID Connect login (as eduID offers it): the provider's issuer URL, and this wallet's client there.
    #: The redirect URI to register at the provider is `<public URL>/login/oidc/callback`.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scope: str = "openid"
    #: The provider's name on the login button ("Log in with eduID").
    oidc_provider_name: str = "eduID"
    #: Clock skew allowed when checking an ID token's `exp` and `iat`.
    oidc_clock_skew_seconds: int = Field(default=60, ge=0, le=600)

    @model_validator(mode="after")
    def _oidc_complete(self) -> WalletSettings:
        given = [self.oidc_issuer, self.oidc_client_id, self.oidc_client_secret]
        if any(given) and not all(given):
            raise ValueError("OpenID Connect login needs EDUWALLET_WALLET_OIDC_ISSUER, _OIDC_CLIENT_ID and "
                             "_OIDC_CLIENT_SECRET together")
        if "openid" not in self.oidc_scope.split():
            raise ValueError("EDUWALLET_WALLET_OIDC_SCOPE must include openid")
        return self

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer)

    def fetch_policy(self) -> FetchPolicy:
        return FetchPolicy(allow_http_loopback=self.allow_http_loopback, max_bytes=self.fetch_max_bytes,
                           timeout=self.fetch_timeout_seconds)
