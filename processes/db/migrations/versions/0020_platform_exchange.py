"""Platform exchange (上级平台交换): order import jobs, received upstream orders, webhook subscriptions

The receipt's unique (source, order number) is what makes concurrent imports and pushes of one order safe.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-12 12:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'platform_import',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('requested_by', sa.String(length=64), nullable=False),
        sa.Column('file_name', sa.String(length=200), nullable=False),
        sa.Column('file_format', sa.String(length=8), nullable=False),
        sa.Column('encoding', sa.String(length=32), nullable=False),
        sa.Column('sealed', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('rows_total', sa.Integer(), nullable=False),
        sa.Column('rows_done', sa.Integer(), nullable=False),
        sa.Column('created', sa.Integer(), nullable=False),
        sa.Column('duplicates', sa.Integer(), nullable=False),
        sa.Column('refused', sa.Integer(), nullable=False),
        sa.Column('report', sa.JSON(), nullable=False),
        sa.Column('notes', sa.JSON(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('lease_owner', sa.String(length=128), nullable=True),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('error', sa.String(length=500), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_import')))
    op.create_index(op.f('ix_platform_import_requested_by'), 'platform_import', ['requested_by'], unique=False)
    op.create_index('ix_platform_import_status_lease_until', 'platform_import', ['status', 'lease_until'],
                    unique=False)
    op.create_table(
        'upstream_receipt',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('order_no', sa.String(length=64), nullable=False),
        sa.Column('case_id', sa.String(length=36), nullable=False),
        sa.Column('case_number', sa.String(length=32), nullable=False),
        sa.Column('via', sa.String(length=16), nullable=False),
        sa.Column('import_id', sa.String(length=36), nullable=True),
        sa.Column('received_by', sa.String(length=64), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_upstream_receipt')),
        sa.UniqueConstraint('source', 'order_no', name='uq_upstream_receipt_source_order_no'))
    op.create_index(op.f('ix_upstream_receipt_case_id'), 'upstream_receipt', ['case_id'], unique=False)
    op.create_table(
        'webhook_subscription',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('secret', sa.Text(), nullable=False),
        sa.Column('events', sa.JSON(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('cursor', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_subscription')),
        sa.UniqueConstraint('name', name=op.f('uq_webhook_subscription_name')))


def downgrade() -> None:
    op.drop_table('webhook_subscription')
    op.drop_index(op.f('ix_upstream_receipt_case_id'), table_name='upstream_receipt')
    op.drop_table('upstream_receipt')
    op.drop_index('ix_platform_import_status_lease_until', table_name='platform_import')
    op.drop_index(op.f('ix_platform_import_requested_by'), table_name='platform_import')
    op.drop_table('platform_import')
