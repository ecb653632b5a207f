"""webhook outbox: when a request's webhook is due, who holds the attempt, and when it was given up

Revision ID: verifier_0005
Revises: verifier_0004
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "verifier_0005"
down_revision: str | None = "verifier_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN and CREATE INDEX, no batch copy of the table (SQLite would cascade-delete
    # `request_owner` rows when the old `presentation_request` is dropped). Nothing is back-filled:
    # a webhook pending in a worker's memory before this revision was lost with that worker.
    op.add_column("presentation_request", sa.Column("webhook_due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("presentation_request",
                  sa.Column("webhook_leased_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("presentation_request",
                  sa.Column("webhook_lease", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
    op.add_column("presentation_request", sa.Column("webhook_failed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f("ix_presentation_request_webhook_due_at"), "presentation_request", ["webhook_due_at"],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_presentation_request_webhook_due_at"), table_name="presentation_request")
    for column in ("webhook_failed_at", "webhook_lease", "webhook_leased_until", "webhook_due_at"):
        op.drop_column("presentation_request", column)  # SQLite >= 3.35 drops a column in place
