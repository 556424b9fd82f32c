"""metric_rollup_marginal (边际汇总): each day's counts of every metric by at most two dimensions

metric_rollup keeps each day's counts per combination of the five dimensions (unit, category, township, channel,
request type), and within a day those combinations hardly repeat: 100,000 seeded cases gave 842,000 rows, about one
per counted item, so the dashboard's month summed as many rows as the month had cases (0.5-1.4 s a page at 100,000
cases). Its questions name at most two dimensions nearly always (a filter and a breakdown): these rows, summed
from metric_rollup when it is refreshed, answer them from a few rows per day; three or more still read
metric_rollup.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-09 19:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'metric_rollup_marginal',
        sa.Column('grouping', sa.String(length=40), nullable=False),
        sa.Column('metric', sa.String(length=32), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('first', sa.String(length=64), nullable=False),
        sa.Column('second', sa.String(length=64), nullable=False),
        sa.Column('numerator', sa.BigInteger(), nullable=False),
        sa.Column('denominator', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('grouping', 'metric', 'day', 'first', 'second',
                                name=op.f('pk_metric_rollup_marginal')))


def downgrade() -> None:
    op.drop_table('metric_rollup_marginal')
