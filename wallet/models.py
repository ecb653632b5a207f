"""Database tables of the wallet service (its own metadata, its own database).

What is stored in the clear is only what the database must compare or sort on and
what says nothing about a learner's credentials: ids, formats, timestamps, and keyed
hashes (`wallet.vault`). Everything else is sealed under the learner's data key
(columns ending in `_sealed`); shared caches are sealed under the master key.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, ForeignKey, Index, Text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

__all__ = [
    "AuthToken",
    "CachedDocument",
    "HolderKey",
    "Learner",
    "PendingTransaction",
    "PresentationRecord",
    "StoredCredential",
    "WalletSecret",
    "WalletTable",
    "aware",
    "utcnow",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """A timestamp read back from the database, as UTC (SQLite returns it without an offset)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _timestamp(*, index: bool = False, nullable: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


def _learner_fk() -> Column[str]:
    return Column(ForeignKey("learner.id", ondelete="CASCADE"), nullable=False, index=True)


class WalletTable(SQLModel, registry=registry()):
    """Base of every wallet table; `WalletTable.metadata` is what its migrations manage."""


class WalletSecret(WalletTable, table=True):
    """Service-wide secrets, sealed under the master key (the key of the username index)."""

    __tablename__ = "wallet_secret"

    name: str = Field(primary_key=True, max_length=64)
    value_sealed: str = Field(sa_type=Text)


class Learner(WalletTable, table=True):
    """A learner account. The username is kept only as a keyed hash (login) and sealed (display)."""

    __tablename__ = "learner"

    id: str = Field(primary_key=True, max_length=36)
    username_hash: str = Field(max_length=32, unique=True, index=True)
    username_sealed: str = Field(sa_type=Text)
    #: Argon2id PHC string; None for learners who only log in through OpenID Connect.
    password_hash: str | None = Field(default=None, max_length=255)
    #: The learner's data key, sealed under the master key.
    data_key_sealed: str = Field(sa_type=Text)
    #: Keyed hash of "issuer|subject" of a linked OpenID Connect login.
    oidc_subject_hash: str | None = Field(default=None, max_length=32, unique=True, index=True)
    locale: str = Field(default="en", max_length=35)
    created_at: datetime = Field(sa_column=_timestamp())


class AuthToken(WalletTable, table=True):
    """A bearer token (API) or page session; only its SHA-256 is stored."""

    __tablename__ = "auth_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    learner_id: str = Field(sa_column=_learner_fk())
    kind: str = Field(max_length=16)
    created_at: datetime = Field(sa_column=_timestamp())
    expires_at: datetime = Field(sa_column=_timestamp(index=True))


class StoredCredential(WalletTable, table=True):
    """A received credential: its issued copies and its rendering summary, both sealed.

    An issuer may issue several copies of one credential, each bound to its own holder key
    (OpenID4VCI batch issuance); they are kept together and presented in turn
    (`presentations` counts the turns), so two verifiers do not see the same key.
    `type_index` and `search_index` hold space-separated keyed hashes (of the credential
    types, and of the words of its name, description and issuer name) for DCQL
    pre-selection and search.
    """

    __tablename__ = "credential"
    # Small columns first, the sealed blobs last: SQLite reads a row's columns in order, so scans of
    # the index columns never touch the blobs' overflow pages.
    __table_args__ = (Index("ix_credential_learner_received", "learner_id", "received_at"),)

    id: str = Field(primary_key=True, max_length=36)
    learner_id: str = Field(sa_column=_learner_fk())
    format: str = Field(max_length=32, index=True)
    copies: int = Field(default=1)
    presentations: int = Field(default=0)
    received_at: datetime = Field(sa_column=_timestamp())
    type_index: str = Field(default="", sa_type=Text)
    search_index: str = Field(default="", sa_type=Text)
    summary_sealed: str = Field(sa_type=Text)
    credential_sealed: str = Field(sa_type=Text)


class HolderKey(WalletTable, table=True):
    """A holder (key binding) key of one credential copy; the private JWK is sealed under the learner's data key."""

    __tablename__ = "holder_key"

    id: str = Field(primary_key=True, max_length=36)
    learner_id: str = Field(sa_column=_learner_fk())
    credential_id: str = Field(
        sa_column=Column(ForeignKey("credential.id", ondelete="CASCADE"), nullable=False, index=True))
    alg: str = Field(max_length=16)
    private_jwk_sealed: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_column=_timestamp())


class PresentationRecord(WalletTable, table=True):
    """One presentation: to whom, what was disclosed, the outcome (all sealed); when."""

    __tablename__ = "presentation_record"

    id: str = Field(primary_key=True, max_length=36)
    learner_id: str = Field(sa_column=_learner_fk())
    record_sealed: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_column=_timestamp(index=True))


class PendingTransaction(WalletTable, table=True):
    """A resolved offer or presentation request waiting for the learner (tx_code, consent)."""

    __tablename__ = "pending_transaction"

    id: str = Field(primary_key=True, max_length=36)
    learner_id: str = Field(sa_column=_learner_fk())
    kind: str = Field(max_length=16)
    state_sealed: str = Field(sa_type=Text)
    expires_at: datetime = Field(sa_column=_timestamp(index=True))


class CachedDocument(WalletTable, table=True):
    """A fetched public document (issuer metadata, status list, type metadata), sealed under the master key.

    Keyed by a keyed hash of kind and URL, so the cache does not list which issuers the
    wallet's learners deal with.
    """

    __tablename__ = "cached_document"

    key_hash: str = Field(primary_key=True, max_length=32)
    body_sealed: str = Field(sa_type=Text)
    fetched_at: datetime = Field(sa_column=_timestamp())
    expires_at: datetime = Field(sa_column=_timestamp(index=True))
