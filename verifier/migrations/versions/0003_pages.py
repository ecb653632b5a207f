"""pages: the sealed pages secret, and which page session made each request

Revision ID: verifier_0003
Revises: verifier_0002
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "verifier_0003"
down_revision: str | None = "verifier_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_secret",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("sealed_value", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "request_owner",
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("session_digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["presentation_request.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("request_id"),
    )
    with op.batch_alter_table("request_owner", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_request_owner_session_digest"), ["session_digest"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("request_owner", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_owner_session_digest"))
    op.drop_table("request_owner")
    op.drop_table("service_secret")
