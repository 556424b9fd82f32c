"""task_draft (encrypted drafts of task forms) and attachment (files of cases, stored outside the web root)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 15:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'task_draft',
        sa.Column('task_id', sa.String(length=36), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('data', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('task_id', 'username', name=op.f('pk_task_draft')),
    )
    op.create_table(
        'attachment',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('case_id', sa.String(length=36), nullable=False),
        sa.Column('task_id', sa.String(length=36), nullable=True),
        sa.Column('original_name', sa.String(length=200), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('uploaded_by', sa.String(length=64), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['hotline_case.id'], name=op.f('fk_attachment_case_id_hotline_case')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment')),
    )
    op.create_index(op.f('ix_attachment_case_id'), 'attachment', ['case_id'], unique=False)
    op.create_index(op.f('ix_attachment_task_id'), 'attachment', ['task_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_attachment_task_id'), table_name='attachment')
    op.drop_index(op.f('ix_attachment_case_id'), table_name='attachment')
    op.drop_table('attachment')
    op.drop_table('task_draft')
