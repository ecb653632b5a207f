"""Database tables of the issuer service (its own metadata, its own database)."""

from __future__ import annotations

from sqlalchemy.orm import registry
from sqlmodel import SQLModel

__all__ = ["IssuerTable"]


class IssuerTable(SQLModel, registry=registry()):
    """Base of every issuer table; `IssuerTable.metadata` is what its migrations manage."""
