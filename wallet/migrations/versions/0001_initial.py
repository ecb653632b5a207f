"""initial (empty) wallet schema

Revision ID: wallet_0001
Revises:
"""

revision = "wallet_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
