"""hotline_case.effective_due and the indexes the console and the operators need at 1,000,000 cases (issue 13)

- effective_due (有效时限): the earliest of the case's deadline, its open tasks' (open_task_due) and upstream's, a
  generated column, so the database keeps it in the statement that changes any of the three (filled for every
  existing row by the ALTER itself). The drill-down of the office board (工单查询 sort=deadline over open cases)
  pages in the order of ix_hotline_case_open_due instead of sorting 50,000 open cases for every page.
- ix_hotline_case_requester_id: the repeat-caller check (重复来电, case.find_duplicates and the intake lookup) found
  a requester's cases by walking hotline_case backwards by date: 1.3 s per new case, 6.6 s per lookup at 1 M.
- ix_human_task_open_group: the worklist's 待认领 counts (every operator, every 15-30 s) read 13,000 heap pages
  per count; on the open tasks by role, unit and holder (with case_id for the join) they are index-only. Its
  bpmn_id and name make the board's stage names (board.task_names) an index-only scan too (346 ms -> 18 ms).

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-10 21:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

FINISHED = ("closed", "published", "archived", "answered", "transferred", "rejected", "merged", "returned_to_110")
OPEN_CASE = sa.text("status NOT IN ({})".format(", ".join(f"'{s}'" for s in FINISHED)))
OPEN_CASE_PG = sa.text("status::text <> ALL ('{{{}}}'::text[])".format(",".join(FINISHED)))
INCLUDE = ["warning_level", "lead_department", "township", "channel", "urgency", "request_type", "status",
           "open_stages", "next_timer_due"]
EARLIEST = {
    "postgresql": "LEAST(deadline, open_task_due, upstream_deadline)",
    "sqlite": ("min(coalesce(deadline, open_task_due, upstream_deadline), coalesce(open_task_due, upstream_deadline, "
               "deadline), coalesce(upstream_deadline, deadline, open_task_due))"),
}
OPEN_TASK = sa.text("status = 'open'")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    # PostgreSQL 15 has stored generated columns only; SQLite cannot ADD a stored one, a virtual one reads the same
    kind = "STORED" if dialect == "postgresql" else "VIRTUAL"
    op.execute(f"ALTER TABLE hotline_case ADD COLUMN effective_due "
               f"{'TIMESTAMP WITH TIME ZONE' if dialect == 'postgresql' else 'DATETIME'} "
               f"GENERATED ALWAYS AS ({EARLIEST.get(dialect, EARLIEST['sqlite'])}) {kind}")
    op.create_index('ix_hotline_case_open_due', 'hotline_case',
                    ['effective_due', 'created_at', 'number'], unique=False,
                    postgresql_include=INCLUDE, postgresql_where=OPEN_CASE_PG, sqlite_where=OPEN_CASE)
    op.create_index('ix_hotline_case_requester_id', 'hotline_case', ['requester_id'], unique=False)
    op.create_index('ix_human_task_open_group', 'human_task', ['role', 'department', 'assignee'], unique=False,
                    postgresql_include=['case_id', 'bpmn_id', 'name'], postgresql_where=OPEN_TASK,
                    sqlite_where=OPEN_TASK)


def downgrade() -> None:
    op.drop_index('ix_human_task_open_group', table_name='human_task')
    op.drop_index('ix_hotline_case_requester_id', table_name='hotline_case')
    op.drop_index('ix_hotline_case_open_due', table_name='hotline_case')
    with op.batch_alter_table('hotline_case') as batch:
        batch.drop_column('effective_due')
