"""accounts: app_user, user_role, password_history, login_attempt

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 12:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'app_user',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('username_key', sa.String(length=64), nullable=False),
        sa.Column('real_name', sa.String(length=100), nullable=False),
        sa.Column('department', sa.String(length=32), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('must_change_password', sa.Boolean(), nullable=False),
        sa.Column('failed_count', sa.Integer(), nullable=False),
        sa.Column('first_failed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('session_epoch', sa.Integer(), nullable=False),
        sa.Column('totp_secret', sa.String(length=255), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['department'], ['department.code'], name=op.f('fk_app_user_department_department')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_app_user')),
        sa.UniqueConstraint('username_key', name=op.f('uq_app_user_username_key')),
    )
    op.create_index(op.f('ix_app_user_department'), 'app_user', ['department'], unique=False)
    op.create_table(
        'user_role',
        sa.Column('user_id', sa.String(length=36), nullable=False),
        sa.Column('role', sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_user_role_user_id_app_user')),
        sa.PrimaryKeyConstraint('user_id', 'role', name=op.f('pk_user_role')),
    )
    op.create_table(
        'password_history',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.String(length=36), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_password_history_user_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_password_history')),
    )
    op.create_index(op.f('ix_password_history_user_id'), 'password_history', ['user_id'], unique=False)
    op.create_table(
        'login_attempt',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('username_key', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=36), nullable=True),
        sa.Column('source_ip', sa.String(length=45), nullable=True),
        sa.Column('success', sa.Boolean(), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_login_attempt_user_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempt')),
    )
    op.create_index('ix_login_attempt_user_id_at', 'login_attempt', ['user_id', 'at'], unique=False)
    op.create_index('ix_login_attempt_username_key_at', 'login_attempt', ['username_key', 'at'], unique=False)
    op.create_index('ix_login_attempt_source_ip_at', 'login_attempt', ['source_ip', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_login_attempt_source_ip_at', table_name='login_attempt')
    op.drop_index('ix_login_attempt_username_key_at', table_name='login_attempt')
    op.drop_index('ix_login_attempt_user_id_at', table_name='login_attempt')
    op.drop_table('login_attempt')
    op.drop_index(op.f('ix_password_history_user_id'), table_name='password_history')
    op.drop_table('password_history')
    op.drop_table('user_role')
    op.drop_index(op.f('ix_app_user_department'), table_name='app_user')
    op.drop_table('app_user')
