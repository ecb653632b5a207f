"""Settings of the issuer service (environment variables `EDUWALLET_ISSUER_*`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from servicekit.settings import ServiceSettings

__all__ = ["IssuerSettings"]


class IssuerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EDUWALLET_ISSUER_", extra="ignore")

    service_name: ClassVar[str] = "issuer"
    default_port: ClassVar[int] = 8001

    #: The issuer's name in its metadata `display` (each credential names its own institution).
    display_name: str = "eduwallet"
    #: How long a credential offer (its pre-authorized code) can be redeemed.
    offer_ttl_seconds: int = Field(default=14 * 24 * 3600, ge=60)
    #: Lifetime of access tokens from the token endpoint.
    access_token_ttl_seconds: int = Field(default=600, ge=30)
    #: Lifetime of a `c_nonce` from the nonce endpoint.
    c_nonce_ttl_seconds: int = Field(default=300, ge=10)
    #: A proof's `iat` may be this old ...
    proof_max_age_seconds: int = Field(default=300, ge=10)
    #: ... or this far in the future (clock skew).
    clock_skew_seconds: int = Field(default=60, ge=0)
    #: RFC 9449 DPoP: a proof older than this is refused (each proof is accepted once within it).
    dpop_proof_max_age_seconds: int = Field(default=300, ge=10)
    #: Refuse token requests without a DPoP proof (HAIP); otherwise DPoP is used when the wallet sends one.
    dpop_required: bool = False
    #: Require DPoP proofs to carry a nonce from this issuer (`DPoP-Nonce`, RFC 9449 §8 and §9).
    dpop_nonce_required: bool = False
    #: Staff page logins: after 20 failed tries from one address, blocked this long, doubling with each further
    #: try (`servicekit.throttle`).
    login_throttle_base_delay_seconds: int = Field(default=2, ge=1, le=900)
    #: Wrong `tx_code` tries before an offer is locked (OpenID4VCI 1.0 errata: limit, then invalidate).
    tx_code_max_attempts: int = Field(default=5, ge=1)
    tx_code_length: int = Field(default=6, ge=4, le=12)
    #: Largest `proofs` array (issuer metadata `batch_credential_issuance.batch_size`).
    batch_size: int = Field(default=10, ge=2, le=100)
    #: Entries per status list (herd privacy: at least 131,072 = 16 KiB for the Bitstring Status List).
    status_list_size: int = Field(default=131_072, ge=131_072)
    #: Seconds a status list may be cached (TSL `ttl`, HTTP max-age).
    status_list_ttl_seconds: int = Field(default=60, ge=0)
    #: Validity of issued credentials in days (0 = no expiry).
    credential_validity_days: int = Field(default=5 * 365, ge=0)
    #: On first start with no staff account, create a development admin and write its token to var_dir.
    bootstrap_admin: bool = True
