"""Database tables of the wallet service (its own metadata, its own database)."""

from __future__ import annotations

from sqlalchemy.orm import registry
from sqlmodel import SQLModel

__all__ = ["WalletTable"]


class WalletTable(SQLModel, registry=registry()):
    """Base of every wallet table; `WalletTable.metadata` is what its migrations manage."""
