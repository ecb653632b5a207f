"""dpop: access tokens bound to a DPoP key (accesstoken.dpop_jkt) and the DPoP proofs seen (RFC 9449)

Revision ID: issuer_0005
Revises: issuer_0004
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'issuer_0005'
down_revision: str | None = 'issuer_0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('accesstoken', sa.Column('dpop_jkt', sa.String(length=43), nullable=True))
    op.create_table(
        'dpopproof',
        sa.Column('proof_hash', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('proof_hash'),
    )
    op.create_index('ix_dpopproof_expires_at', 'dpopproof', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_dpopproof_expires_at', table_name='dpopproof')
    op.drop_table('dpopproof')
    with op.batch_alter_table('accesstoken') as batch:
        batch.drop_column('dpop_jkt')
