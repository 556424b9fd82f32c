"""accounts: user_session (server-side session records) and TOTP state on app_user

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('app_user') as batch:
        batch.add_column(sa.Column('totp_confirmed_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('totp_failed_count', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('totp_first_failed_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'user_session',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=36), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('source_ip', sa.String(length=45), nullable=True),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('end_reason', sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_user_session_user_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_user_session')),
    )
    op.create_index('ix_user_session_user_id_created_at', 'user_session', ['user_id', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_user_session_user_id_created_at', table_name='user_session')
    op.drop_table('user_session')
    with op.batch_alter_table('app_user') as batch:
        batch.drop_column('totp_first_failed_at')
        batch.drop_column('totp_failed_count')
        batch.drop_column('totp_last_step')
        batch.drop_column('totp_confirmed_at')
