"""hotline_case.closed_at (办结时间) and hotline_case.direct_answer (直接答复, read by 直办率)

Cases that went through a direct answer before this revision are found by their history (the completed
direct_answer task, or the status answered); their closing time was never stored, so closed_at stays empty for
cases closed before it.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 14:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

case = sa.table('hotline_case', sa.column('id', sa.String), sa.column('status', sa.String),
                sa.column('direct_answer', sa.Boolean))
history = sa.table('history_event', sa.column('case_id', sa.String), sa.column('kind', sa.String),
                   sa.column('bpmn_id', sa.String))


def upgrade() -> None:
    with op.batch_alter_table('hotline_case') as batch:
        batch.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('direct_answer', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_index(batch.f('ix_hotline_case_closed_at'), ['closed_at'], unique=False)
    answered = sa.select(history.c.case_id).where(history.c.kind == 'task_completed',
                                                  history.c.bpmn_id == 'direct_answer')
    op.execute(case.update().where(sa.or_(case.c.status == 'answered', case.c.id.in_(answered)))
               .values(direct_answer=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table('hotline_case') as batch:
        batch.drop_index(batch.f('ix_hotline_case_closed_at'))
        batch.drop_column('direct_answer')
        batch.drop_column('closed_at')
