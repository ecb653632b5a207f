"""Shapes of the learner API (requests forbid unknown fields; responses are built from these)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BackupCreate",
    "BackupRestore",
    "PresentationConfirm",
    "PresentationSubmit",
    "OfferAccept",
    "OfferSubmit",
    "CredentialDetail",
    "CredentialList",
    "CredentialSummary",
    "LearnerCreate",
    "LearnerPublic",
    "Login",
    "TokenResponse",
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LearnerCreate(_Request):
    username: str = Field(min_length=3, max_length=64)
    password: str = Field(min_length=8, max_length=1024)
    locale: str = Field(default="en", min_length=2, max_length=35, pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")


class Login(_Request):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class OfferSubmit(_Request):
    #: `openid-credential-offer://?...`, `haip-vci://?...`, or an https link to the offer.
    offer: str = Field(min_length=1, max_length=65536)
    tx_code: str | None = Field(default=None, max_length=256)
    #: Accept at once (scripts); otherwise the offer is resolved and shown first.
    accept: bool = False


class OfferAccept(_Request):
    tx_code: str | None = Field(default=None, max_length=256)


class PresentationSubmit(_Request):
    #: `openid4vp://?...` (or `haip-vp://`, or an https link carrying the same parameters).
    request: str = Field(min_length=1, max_length=65536)


ClaimPath = Annotated[list[Annotated[str, Field(max_length=512)] | Annotated[int, Field(ge=0)]],
                      Field(min_length=1, max_length=32)]


class PresentationConfirm(_Request):
    #: Credential Query id -> the credentials chosen for it (default: the first match, all when `multiple`).
    credentials: dict[Annotated[str, Field(max_length=128)], Annotated[list[str], Field(max_length=100)]] | None = None
    #: Share only the requested claims within these paths (default: every requested claim).
    disclose: Annotated[list[ClaimPath], Field(max_length=100)] | None = None


class BackupCreate(_Request):
    passphrase: str = Field(min_length=8, max_length=1024)


class BackupRestore(_Request):
    passphrase: str = Field(min_length=8, max_length=1024)
    backup: dict[str, Any]


class LearnerPublic(BaseModel):
    id: str
    username: str
    locale: str


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int


class CredentialSummary(BaseModel):
    """One line of the learner's list: enough to tell badges apart."""

    id: str
    format: str
    name: str
    description: str | None = None
    image: str | None = None
    issuer: dict[str, Any]
    valid_from: str | None = None
    valid_until: str | None = None
    received_at: str
    status: str


class CredentialList(BaseModel):
    data: list[CredentialSummary]
    count: int


class CredentialDetail(CredentialSummary):
    """Everything the wallet shows about one credential."""

    types: list[str] = []
    achievement: dict[str, Any] | None = None
    ects: float | None = None
    eqf: int | None = None
    claims: dict[str, Any] = {}
    disclosable: list[list[str | int | None]] = []
    copies: int = 1
    #: The learner's results (OB3 `result`, or a `grade`-like claim): `{name, value}`.
    results: list[dict[str, str | None]] = []
