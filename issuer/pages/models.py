"""Tables the staff pages need: the pages' signing secret, page sessions of logged-in staff, bulk-award jobs.

They live in the issuer's own metadata (`IssuerTable`) and are created by migration `issuer_0003`.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Text
from sqlmodel import Field

from issuer.models import IssuerTable

__all__ = ["BulkAwardJob", "IssuerSecret", "StaffSession"]


class IssuerSecret(IssuerTable, table=True):
    """A random service-wide secret (e.g. the one signing page CSRF tokens), sealed under the master key."""

    name: str = Field(primary_key=True, max_length=50)
    value_sealed: str = Field(max_length=200)


class StaffSession(IssuerTable, table=True):
    """A staff member logged in to the pages: the page-session cookie's id (as a hash) → the staff member.

    Bound to the API key used to log in, so revoking the key ends the page session too.
    """

    id: int | None = Field(default=None, primary_key=True)
    session_hash: str = Field(max_length=64, unique=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    api_key_id: int = Field(foreign_key="apikey.id")
    created_at: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    expires_at: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, index=True))


class BulkAwardJob(IssuerTable, table=True):
    """A bulk award from an uploaded CSV: progress while it runs, then its per-row report (sealed: it holds
    the learners' offer links and PINs)."""

    id: int | None = Field(default=None, primary_key=True)
    badge_class_id: int = Field(foreign_key="badgeclass.id", index=True)
    institution_id: int = Field(foreign_key="institution.id")
    staff_id: int = Field(foreign_key="staff.id")
    file_name: str = Field(default="", max_length=200)
    format: str = Field(default="jwt_vc_json", max_length=30)
    pin: bool = False
    #: running | done | failed
    state: str = Field(default="running", max_length=10)
    total: int = 0
    processed: int = 0
    created: int = 0
    existing: int = 0
    errors: int = 0
    #: Why a job failed as a whole (e.g. the badge class was archived meanwhile).
    failure: str | None = Field(default=None, max_length=500)
    report_sealed: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    updated_at: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    finished_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
