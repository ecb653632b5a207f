"""api keys: the relying parties' keys (hashed), and which key made each request

Revision ID: verifier_0004
Revises: verifier_0003
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "verifier_0004"
down_revision: str | None = "verifier_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_key",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("key_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
        sa.UniqueConstraint("name"),
    )
    # A plain ADD COLUMN and CREATE INDEX (no batch copy of the table: SQLite would cascade-delete
    # `request_owner` rows when the old `presentation_request` is dropped). Requests made before this
    # revision have no key: only the pages' owner sees them.
    op.add_column("presentation_request",
                  sa.Column("api_key_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
    op.create_index(op.f("ix_presentation_request_api_key_id"), "presentation_request", ["api_key_id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_presentation_request_api_key_id"), table_name="presentation_request")
    op.drop_column("presentation_request", "api_key_id")  # SQLite >= 3.35 drops a column in place
    op.drop_table("api_key")
