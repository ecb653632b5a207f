"""staff pages: the pages' sealed secret, staff page sessions, bulk-award jobs

Revision ID: issuer_0003
Revises: issuer_0002
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'issuer_0003'
down_revision: str | None = 'issuer_0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('issuersecret',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('value_sealed', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('bulkawardjob',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('badge_class_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('format', sa.String(length=30), nullable=False),
    sa.Column('pin', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('processed', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('existing', sa.Integer(), nullable=False),
    sa.Column('errors', sa.Integer(), nullable=False),
    sa.Column('failure', sa.String(length=500), nullable=True),
    sa.Column('report_sealed', sa.Text(), nullable=True),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.Column('finished_at', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['badge_class_id'], ['badgeclass.id'], ),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_bulkawardjob_badge_class_id', 'bulkawardjob', ['badge_class_id'], unique=False)
    op.create_table('staffsession',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_hash', sa.String(length=64), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('api_key_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['api_key_id'], ['apikey.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('session_hash')
    )
    op.create_index('ix_staffsession_expires_at', 'staffsession', ['expires_at'], unique=False)
    op.create_index('ix_staffsession_staff_id', 'staffsession', ['staff_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_staffsession_staff_id', table_name='staffsession')
    op.drop_index('ix_staffsession_expires_at', table_name='staffsession')
    op.drop_table('staffsession')
    op.drop_index('ix_bulkawardjob_badge_class_id', table_name='bulkawardjob')
    op.drop_table('bulkawardjob')
    op.drop_table('issuersecret')
