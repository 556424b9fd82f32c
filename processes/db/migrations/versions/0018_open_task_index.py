"""human_task (case_id, due_at, bpmn_id) WHERE status = 'open': an open case's deadline and stage read from an index

The search and the office board (督办台) take each open case's earliest open-task due time and its open stages
from human_task. Over 1,000,000 cases (50,000 open) the lookup went through ix_human_task_case_id and read every
task of the case (about five, mostly completed) from the heap; this partial index holds the open tasks only (one
row in a hundred) and answers with index-only scans. The board's seven queries: 13.6 s -> 3.5 s (bench/monitor.py,
PostgreSQL 15, 2 vCPU).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 17:05:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

OPEN = sa.text("status = 'open'")


def upgrade() -> None:
    op.create_index('ix_human_task_open_case', 'human_task', ['case_id', 'due_at', 'bpmn_id'], unique=False,
                    postgresql_where=OPEN, sqlite_where=OPEN)


def downgrade() -> None:
    op.drop_index('ix_human_task_open_case', table_name='human_task')
