"""case: assisting departments, duplicate_of, flags

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 10:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('hotline_case') as batch:
        batch.add_column(sa.Column('assisting_departments', sa.JSON(), nullable=False, server_default='[]'))
        batch.add_column(sa.Column('duplicate_of', sa.String(length=36), nullable=True))
        batch.add_column(sa.Column('flags', sa.JSON(), nullable=False, server_default='{}'))
        batch.create_index(batch.f('ix_hotline_case_duplicate_of'), ['duplicate_of'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('hotline_case') as batch:
        batch.drop_index(batch.f('ix_hotline_case_duplicate_of'))
        batch.drop_column('flags')
        batch.drop_column('duplicate_of')
        batch.drop_column('assisting_departments')
