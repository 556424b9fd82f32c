"""Indexes the figures' drill-downs and the rollup's day refresh read: cases by receipt and deadline, 签收 by due time

Every metric puts an item in a period by one date (processes/metrics/definitions.py): 受理时间 hotline_case.created_at
(来件量, 直办率, 办结率, 回退率), 办理时限 hotline_case.deadline (按时办结率, 超期率) and the 签收 task's due time
human_task.due_at (及时签收率); closed_at had its index already. Without them a drill-down list (/dashboard/cases,
newest first, 50 a page) and the scheduler's refresh of one day sorted or scanned the whole table: on 100,000 seeded
cases a list by receipt went from a sequential scan to an index scan backward, and one day's refresh of the 签收
tasks reads its day from the partial index (one task in six is a 签收). EXPLAIN ANALYZE in docs/benchmarks.md.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-09 18:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

SIGN_FOR = sa.text("bpmn_id = 'sign_for'")


def upgrade() -> None:
    op.create_index(op.f('ix_hotline_case_created_at'), 'hotline_case', ['created_at'], unique=False)
    op.create_index(op.f('ix_hotline_case_deadline'), 'hotline_case', ['deadline'], unique=False)
    op.create_index('ix_human_task_sign_for_due', 'human_task', ['due_at'], unique=False,
                    postgresql_where=SIGN_FOR, sqlite_where=SIGN_FOR)


def downgrade() -> None:
    op.drop_index('ix_human_task_sign_for_due', table_name='human_task')
    op.drop_index(op.f('ix_hotline_case_deadline'), table_name='hotline_case')
    op.drop_index(op.f('ix_hotline_case_created_at'), table_name='hotline_case')
