"""initial (empty) issuer schema

Revision ID: issuer_0001
Revises:
"""

revision = "issuer_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
