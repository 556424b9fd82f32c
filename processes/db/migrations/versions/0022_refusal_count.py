"""refusal_count: refusals per actor and minute beyond the audited ones (issue 16: refused access audited)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-09 10:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'refusal_count',
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('source', sa.String(length=45), nullable=False),
        sa.Column('minute', sa.DateTime(timezone=True), nullable=False),
        sa.Column('refused', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('actor', 'source', 'minute', name=op.f('pk_refusal_count')),
    )


def downgrade() -> None:
    op.drop_table('refusal_count')
