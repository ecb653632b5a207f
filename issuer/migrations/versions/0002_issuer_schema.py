"""issuer schema: institutions, badge classes, awards, offers, status lists, keys

Revision ID: issuer_0002
Revises: issuer_0001
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'issuer_0002'
down_revision: str | None = 'issuer_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('cnonce',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('value_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.Column('used_at', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('value_hash')
    )
    op.create_index('ix_cnonce_expires_at', 'cnonce', ['expires_at'], unique=False)
    op.create_table('institution',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('homepage', sa.String(length=500), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('logo_uri', sa.String(length=100000), nullable=True),
    sa.Column('signing_alg', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('issuer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=True),
    sa.Column('homepage', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_issuer_institution_id', 'issuer', ['institution_id'], unique=False)
    op.create_table('signingkey',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('kid', sa.String(length=300), nullable=False),
    sa.Column('alg', sa.String(length=10), nullable=False),
    sa.Column('public_jwk', sa.JSON(), nullable=False),
    sa.Column('sealed_private_key', sa.String(length=10000), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('retired_at', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kid')
    )
    op.create_index('ix_signingkey_institution_id', 'signingkey', ['institution_id'], unique=False)
    op.create_table('statuslist',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_statuslist_institution_id', 'statuslist', ['institution_id'], unique=False)
    op.create_table('badgeclass',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('issuer_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=10000), nullable=False),
    sa.Column('criteria_narrative', sa.String(length=10000), nullable=True),
    sa.Column('criteria_url', sa.String(length=500), nullable=True),
    sa.Column('achievement_type', sa.String(length=100), nullable=False),
    sa.Column('image', sa.LargeBinary(), nullable=True),
    sa.Column('image_media_type', sa.String(length=50), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('alignments', sa.JSON(), nullable=False),
    sa.Column('result_descriptions', sa.JSON(), nullable=False),
    sa.Column('ects', sa.Float(), nullable=True),
    sa.Column('eqf_level', sa.Integer(), nullable=True),
    sa.Column('nlqf_level', sa.Integer(), nullable=True),
    sa.Column('learning_outcomes', sa.JSON(), nullable=False),
    sa.Column('assessment_type', sa.String(length=100), nullable=True),
    sa.Column('participation_type', sa.String(length=100), nullable=True),
    sa.Column('supervision_type', sa.String(length=100), nullable=True),
    sa.Column('identity_checked', sa.Boolean(), nullable=True),
    sa.Column('quality_assurance', sa.JSON(), nullable=True),
    sa.Column('language', sa.String(length=20), nullable=True),
    sa.Column('prerequisites', sa.String(length=2000), nullable=True),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ),
    sa.ForeignKeyConstraint(['issuer_id'], ['issuer.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_badgeclass_institution_id', 'badgeclass', ['institution_id'], unique=False)
    op.create_index('ix_badgeclass_issuer_id', 'badgeclass', ['issuer_id'], unique=False)
    op.create_table('staff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=30), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('issuer_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ),
    sa.ForeignKeyConstraint(['issuer_id'], ['issuer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_index('ix_staff_institution_id', 'staff', ['institution_id'], unique=False)
    op.create_table('apikey',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('revoked_at', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index('ix_apikey_staff_id', 'apikey', ['staff_id'], unique=False)
    op.create_table('award',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('badge_class_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('learner_name', sa.String(length=200), nullable=False),
    sa.Column('learner_email', sa.String(length=320), nullable=False),
    sa.Column('eduid', sa.String(length=200), nullable=True),
    sa.Column('result_value', sa.String(length=100), nullable=True),
    sa.Column('format', sa.String(length=30), nullable=False),
    sa.Column('credential_configuration_ids', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('status_changed_at', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['badge_class_id'], ['badgeclass.id'], ),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key')
    )
    op.create_index('ix_award_badge_class_id', 'award', ['badge_class_id'], unique=False)
    op.create_index('ix_award_institution_id', 'award', ['institution_id'], unique=False)
    op.create_table('accesstoken',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('award_id', sa.Integer(), nullable=False),
    sa.Column('credential_configuration_ids', sa.JSON(), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['award_id'], ['award.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index('ix_accesstoken_award_id', 'accesstoken', ['award_id'], unique=False)
    op.create_table('credentialoffer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('award_id', sa.Integer(), nullable=False),
    sa.Column('reference_hash', sa.String(length=64), nullable=False),
    sa.Column('pre_authorized_code_hash', sa.String(length=64), nullable=False),
    sa.Column('tx_code_hash', sa.String(length=64), nullable=True),
    sa.Column('tx_code_salt', sa.String(length=32), nullable=True),
    sa.Column('tx_code_length', sa.Integer(), nullable=True),
    sa.Column('tx_code_attempts', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.Column('used_at', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['award_id'], ['award.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('pre_authorized_code_hash'),
    sa.UniqueConstraint('reference_hash')
    )
    op.create_index('ix_credentialoffer_award_id', 'credentialoffer', ['award_id'], unique=False)
    op.create_table('issuedcredential',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('award_id', sa.Integer(), nullable=False),
    sa.Column('credential_configuration_id', sa.String(length=100), nullable=False),
    sa.Column('credential_id', sa.String(length=100), nullable=False),
    sa.Column('status_list_id', sa.Integer(), nullable=False),
    sa.Column('status_index', sa.Integer(), nullable=False),
    sa.Column('signing_kid', sa.String(length=300), nullable=False),
    sa.Column('holder_key_thumbprint', sa.String(length=64), nullable=True),
    sa.Column('notification_id', sa.String(length=64), nullable=True),
    sa.Column('notification_event', sa.String(length=30), nullable=True),
    sa.Column('issued_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['award_id'], ['award.id'], ),
    sa.ForeignKeyConstraint(['status_list_id'], ['statuslist.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('status_list_id', 'status_index', name='uq_status_entry')
    )
    op.create_index('ix_issuedcredential_award_id', 'issuedcredential', ['award_id'], unique=False)
    op.create_index('ix_issuedcredential_notification', 'issuedcredential', ['notification_id'], unique=False)



def downgrade() -> None:
    op.drop_index('ix_issuedcredential_notification', table_name='issuedcredential')
    op.drop_index('ix_issuedcredential_award_id', table_name='issuedcredential')
    op.drop_table('issuedcredential')
    op.drop_index('ix_credentialoffer_award_id', table_name='credentialoffer')
    op.drop_table('credentialoffer')
    op.drop_index('ix_accesstoken_award_id', table_name='accesstoken')
    op.drop_table('accesstoken')
    op.drop_index('ix_award_institution_id', table_name='award')
    op.drop_index('ix_award_badge_class_id', table_name='award')
    op.drop_table('award')
    op.drop_index('ix_apikey_staff_id', table_name='apikey')
    op.drop_table('apikey')
    op.drop_index('ix_staff_institution_id', table_name='staff')
    op.drop_table('staff')
    op.drop_index('ix_badgeclass_issuer_id', table_name='badgeclass')
    op.drop_index('ix_badgeclass_institution_id', table_name='badgeclass')
    op.drop_table('badgeclass')
    op.drop_index('ix_statuslist_institution_id', table_name='statuslist')
    op.drop_table('statuslist')
    op.drop_index('ix_signingkey_institution_id', table_name='signingkey')
    op.drop_table('signingkey')
    op.drop_index('ix_issuer_institution_id', table_name='issuer')
    op.drop_table('issuer')
    op.drop_table('institution')
    op.drop_index('ix_cnonce_expires_at', table_name='cnonce')
    op.drop_table('cnonce')
