"""Metrics (统计): hotline_case.callback_result and solved (回访结果, 是否解决), the rollup tables

The callback result was kept only in the case's flags (JSON) and whether the matter was solved only in the
workflow; 回访率, 满意率 and 解决率 read them as columns. Existing results are copied from the flags; 是否解决 of
past callbacks was never stored, so it stays empty for them.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 10:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

case = sa.table('hotline_case', sa.column('id', sa.String), sa.column('flags', sa.JSON),
                sa.column('callback_result', sa.String))
RESULTS = ('satisfied', 'basically_satisfied', 'unsatisfied', 'unreachable')


def upgrade() -> None:
    with op.batch_alter_table('hotline_case') as batch:
        batch.add_column(sa.Column('callback_result', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('solved', sa.Boolean(), nullable=True))
    for result in RESULTS:  # a LIKE on the JSON text works on both backends and backfills once
        op.execute(case.update().where(sa.cast(case.c.flags, sa.Text).like(f'%"callback_result":%"{result}"%'))
                   .values(callback_result=result))
    op.create_table(
        'metric_rollup',
        sa.Column('metric', sa.String(length=32), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('department', sa.String(length=64), nullable=False),
        sa.Column('category', sa.String(length=64), nullable=False),
        sa.Column('township', sa.String(length=64), nullable=False),
        sa.Column('channel', sa.String(length=32), nullable=False),
        sa.Column('request_type', sa.String(length=32), nullable=False),
        sa.Column('numerator', sa.BigInteger(), nullable=False),
        sa.Column('denominator', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('metric', 'day', 'department', 'category', 'township', 'channel', 'request_type',
                                name=op.f('pk_metric_rollup')))
    op.create_table(
        'metric_rollup_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('first_day', sa.Date(), nullable=False),
        sa.Column('last_day', sa.Date(), nullable=False),
        sa.Column('reading', sa.String(length=64), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('seconds', sa.Float(), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_metric_rollup_run')))
    op.create_index(op.f('ix_metric_rollup_run_finished_at'), 'metric_rollup_run', ['finished_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_metric_rollup_run_finished_at'), table_name='metric_rollup_run')
    op.drop_table('metric_rollup_run')
    op.drop_table('metric_rollup')
    with op.batch_alter_table('hotline_case') as batch:
        batch.drop_column('solved')
        batch.drop_column('callback_result')
