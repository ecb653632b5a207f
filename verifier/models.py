"""Database tables of the verifier service (its own metadata, its own database)."""

from __future__ import annotations

from sqlalchemy.orm import registry
from sqlmodel import SQLModel

__all__ = ["VerifierTable"]


class VerifierTable(SQLModel, registry=registry()):
    """Base of every verifier table; `VerifierTable.metadata` is what its migrations manage."""
