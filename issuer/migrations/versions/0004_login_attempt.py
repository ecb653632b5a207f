"""login_attempt: failed password logins per keyed account / address hash (servicekit.throttle)

Revision ID: issuer_0004
Revises: issuer_0003
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'issuer_0004'
down_revision: str | None = 'issuer_0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'login_attempt',
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('window_start', sa.BigInteger(), nullable=False),
        sa.Column('blocked_until', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('key_hash'),
    )
    op.create_index('ix_login_attempt_blocked_until', 'login_attempt', ['blocked_until'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_login_attempt_blocked_until', table_name='login_attempt')
    op.drop_table('login_attempt')
