"""Reports and exports (报表与导出): background export jobs, stored reports, department evaluation schemes

Export files and reports live in the database so that any app node can serve them and a restart loses nothing.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 12:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'export_job',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('requested_by', sa.String(length=64), nullable=False),
        sa.Column('file_format', sa.String(length=8), nullable=False),
        sa.Column('criteria', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('rows_total', sa.Integer(), nullable=False),
        sa.Column('rows_done', sa.Integer(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('lease_owner', sa.String(length=128), nullable=True),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('content', sa.LargeBinary(), nullable=True),
        sa.Column('file_name', sa.String(length=100), nullable=False),
        sa.Column('error', sa.String(length=500), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_export_job')))
    op.create_index(op.f('ix_export_job_requested_by'), 'export_job', ['requested_by'], unique=False)
    op.create_index('ix_export_job_status_lease_until', 'export_job', ['status', 'lease_until'], unique=False)
    op.create_table(
        'report_file',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('period', sa.String(length=16), nullable=False),
        sa.Column('scope', sa.String(length=64), nullable=False),
        sa.Column('file_format', sa.String(length=8), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('generated_by', sa.String(length=64), nullable=False),
        sa.Column('generated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_file')),
        sa.UniqueConstraint('kind', 'period', 'scope', 'file_format', name='uq_report_file_kind_period_scope_format'))
    op.create_table(
        'evaluation_scheme',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('weights', sa.JSON(), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_scheme')))


def downgrade() -> None:
    op.drop_table('evaluation_scheme')
    op.drop_table('report_file')
    op.drop_index('ix_export_job_status_lease_until', table_name='export_job')
    op.drop_index(op.f('ix_export_job_requested_by'), table_name='export_job')
    op.drop_table('export_job')
