"""hotline_case.open_stages, and the open cases' index covering every column the board reads (issue 13)

The office board (督办台) counted open cases by stage through a join to the open tasks numbered per case
(row_number over human_task): at 1,000,000 cases (50,000 open) that join and its window took ~400 ms of the
board's ~600 ms. The runtime now keeps the BPMN ids of a case's open tasks in the case row (processes/runtime/
case_due.py, with open_task_due), so the board is one grouped scan of this index and nothing else. The index
replaces 0023's ix_hotline_case_open with open_stages in its INCLUDE list and a predicate PostgreSQL can match
(0023's was never used): an index-only scan of 50,000 entries instead of a scan of the whole table.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-09 21:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

FINISHED = ("closed", "published", "archived", "answered", "transferred", "rejected", "merged", "returned_to_110")
OPEN_CASE = sa.text("status NOT IN ({})".format(", ".join(f"'{s}'" for s in FINISHED)))
# PostgreSQL stores 0023's `status NOT IN (…)` on a varchar column as an array coercion that its planner cannot match
# with a query's `status NOT IN (…)`: the index was never chosen (EXPLAIN showed a scan of the whole table). Written
# as the planner spells the query's filter, a query's open filter proves the predicate
OPEN_CASE_PG = sa.text("status::text <> ALL ('{{{}}}'::text[])".format(",".join(FINISHED)))
KEYS = ['lead_department', 'deadline', 'open_task_due', 'upstream_deadline', 'warning_level']
STAGES_PG = """UPDATE hotline_case SET open_stages = (SELECT string_agg(DISTINCT t.bpmn_id, ' ' ORDER BY t.bpmn_id)
  FROM human_task t WHERE t.case_id = hotline_case.id AND t.status = 'open')
  WHERE id IN (SELECT case_id FROM human_task WHERE status = 'open' AND case_id IS NOT NULL)"""
STAGES_SQLITE = """UPDATE hotline_case SET open_stages = (SELECT group_concat(b, ' ') FROM (SELECT DISTINCT
  t.bpmn_id AS b FROM human_task t WHERE t.case_id = hotline_case.id AND t.status = 'open' ORDER BY 1))
  WHERE id IN (SELECT case_id FROM human_task WHERE status = 'open' AND case_id IS NOT NULL)"""
INCLUDE = ['township', 'channel', 'urgency', 'request_type', 'created_at', 'next_timer_due', 'status']


def _stages_sql(dialect: str) -> str:
    """The backfill: each case's distinct open-task BPMN ids, sorted, separated by spaces."""
    return STAGES_PG if dialect == "postgresql" else STAGES_SQLITE


def upgrade() -> None:
    op.add_column('hotline_case', sa.Column('open_stages', sa.String(length=200), nullable=True))
    op.execute(_stages_sql(op.get_bind().dialect.name))
    op.drop_index('ix_hotline_case_open', table_name='hotline_case')
    op.create_index('ix_hotline_case_open', 'hotline_case', KEYS, unique=False,
                    postgresql_include=[*INCLUDE, 'open_stages'],
                    postgresql_where=OPEN_CASE_PG, sqlite_where=OPEN_CASE)


def downgrade() -> None:
    op.drop_index('ix_hotline_case_open', table_name='hotline_case')
    op.create_index('ix_hotline_case_open', 'hotline_case', KEYS, unique=False, postgresql_include=INCLUDE,
                    postgresql_where=OPEN_CASE, sqlite_where=OPEN_CASE)
    op.drop_column('hotline_case', 'open_stages')
