"""hotline_case.open_task_due and next_timer_due, and a partial index of open cases (issue 13: the board at 1 M cases)

The office board (督办台), the search's light and deadline sort and the exports took each open case's earliest
open-task deadline from a subquery per case over human_task (up to four times per case in the light), and each
line's next timer from timer_job: seven passes over the 50,000 open cases of 1,000,000 took 3.5 s. The runtime now
keeps both in the case row, written with the task projection (processes/runtime/case_due.py); the backfill reads
the open tasks and pending timers once. The partial index holds the open cases only (its predicate is the search's
open filter, spelled the same) with every column the board groups and filters by, so it answers from the index.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-09 12:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

FINISHED = ("closed", "published", "archived", "answered", "transferred", "rejected", "merged", "returned_to_110")
OPEN_CASE = sa.text("status NOT IN ({})".format(", ".join(f"'{s}'" for s in FINISHED)))
TASK_DUE = """UPDATE hotline_case SET open_task_due = (SELECT MIN(t.due_at) FROM human_task t
  WHERE t.case_id = hotline_case.id AND t.status = 'open')
  WHERE id IN (SELECT case_id FROM human_task WHERE status = 'open' AND due_at IS NOT NULL)"""
TIMER_DUE = """UPDATE hotline_case SET next_timer_due = (SELECT MIN(j.due_at) FROM timer_job j
  JOIN process_instance p ON p.id = j.instance_id
  WHERE p.case_id = hotline_case.id AND j.status = 'pending' AND j.kind = 'timer')
  WHERE id IN (SELECT p.case_id FROM timer_job j JOIN process_instance p ON p.id = j.instance_id
  WHERE j.status = 'pending' AND j.kind = 'timer')"""


def upgrade() -> None:
    op.add_column('hotline_case', sa.Column('open_task_due', sa.DateTime(timezone=True), nullable=True))
    op.add_column('hotline_case', sa.Column('next_timer_due', sa.DateTime(timezone=True), nullable=True))
    op.execute(TASK_DUE)
    op.execute(TIMER_DUE)
    op.create_index('ix_hotline_case_open', 'hotline_case',
                    ['lead_department', 'deadline', 'open_task_due', 'upstream_deadline', 'warning_level'],
                    unique=False, postgresql_include=['township', 'channel', 'urgency', 'request_type', 'created_at',
                                                      'next_timer_due', 'status'],
                    postgresql_where=OPEN_CASE, sqlite_where=OPEN_CASE)


def downgrade() -> None:
    op.drop_index('ix_hotline_case_open', table_name='hotline_case')
    op.drop_column('hotline_case', 'next_timer_due')
    op.drop_column('hotline_case', 'open_task_due')
