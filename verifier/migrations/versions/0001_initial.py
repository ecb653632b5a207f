"""initial (empty) verifier schema

Revision ID: verifier_0001
Revises:
"""

revision = "verifier_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
