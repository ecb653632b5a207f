"""Settings of the verifier service (environment variables `EDUWALLET_VERIFIER_*`)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from servicekit.settings import ServiceSettings

__all__ = ["ClientIdPrefix", "ResponseMode", "VerifierSettings"]

ClientIdPrefix = Literal["x509_hash", "x509_san_dns", "decentralized_identifier", "redirect_uri"]
ResponseMode = Literal["direct_post", "direct_post.jwt"]


class VerifierSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EDUWALLET_VERIFIER_", extra="ignore")

    service_name: ClassVar[str] = "verifier"
    default_port: ClassVar[int] = 8003

    #: The client identifier prefix of requests that do not name one.
    default_client_id_prefix: ClientIdPrefix = "x509_hash"
    default_response_mode: ResponseMode = "direct_post.jwt"
    #: How long a wallet has to answer a request.
    request_ttl_seconds: int = Field(default=600, ge=30, le=86_400)
    #: Which DID names this verifier under `decentralized_identifier:`: its did:web, or a did:jwk of its key.
    did_method: Literal["web", "jwk"] = "web"
    #: A configured certificate chain (PEM, leaf first) and its leaf's private key (PEM, P-256).
    #: Unset: a self-signed certificate is made on first start and kept (sealed) in the database.
    certificate_chain_file: Path | None = None
    signing_key_file: Path | None = None
    #: The DNS name put in the self-signed certificate (enables `x509_san_dns:`); by default none.
    certificate_dns_name: str | None = None
    #: Allowed clock difference when checking validity periods and KB-JWT `iat`.
    clock_skew_seconds: int = Field(default=300, ge=0, le=3600)
    #: How old a KB-JWT or VP JWT (`iat`) may be.
    holder_binding_max_age_seconds: int = Field(default=300, ge=10, le=86_400)
    #: Issuers trusted by every request that does not bring its own list (DIDs or issuer URLs).
    trusted_issuers: list[str] = Field(default_factory=list)
    #: Accept any issuer when neither the request nor the verifier has a trusted-issuer list.
    trust_any_issuer: bool = False
    #: Results (disclosed claims and verdicts) are deleted this many days after the request.
    retention_days: int = Field(default=30, ge=1, le=3650)
    #: Status lists are cached at most this long (their own `ttl` may shorten it).
    status_cache_max_seconds: int = Field(default=3600, ge=0)
    #: Webhook delivery: attempts and the first back-off delay (doubled after each failure).
    webhook_attempts: int = Field(default=5, ge=1, le=20)
    webhook_backoff_seconds: float = Field(default=1.0, ge=0.0, le=300.0)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0.0, le=60.0)
    #: How often each worker looks for due webhook deliveries (with jitter; an answer wakes it at once).
    webhook_poll_seconds: float = Field(default=1.0, gt=0.0, le=60.0)
    #: Outbound fetches (DID documents, issuer metadata, status lists).
    fetch_timeout_seconds: float = Field(default=5.0, gt=0.0, le=60.0)
    #: On first start with no API key, make an admin key and write it to `var_dir/verifier-api.key` (0600).
    bootstrap_api_key: bool = True
