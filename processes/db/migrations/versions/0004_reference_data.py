"""reference data: calendar, SLA rules, departments, dispatch catalogue, duty roster, settings, case deadlines

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 07:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'calendar_day',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('is_workday', sa.Boolean(), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint('day', name=op.f('pk_calendar_day')),
    )
    op.create_table(
        'calendar_year',
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('notice', sa.String(length=200), nullable=False),
        sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('loaded_by', sa.String(length=64), nullable=False),
        sa.Column('revision', sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint('year', name=op.f('pk_calendar_year')),
    )
    op.create_table(
        'sla_rule',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('request_type', sa.String(length=32), nullable=False),
        sa.Column('urgency', sa.String(length=16), nullable=False),
        sa.Column('stage', sa.String(length=32), nullable=False),
        sa.Column('amount', sa.Integer(), nullable=False),
        sa.Column('unit', sa.String(length=16), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_rule')),
        sa.UniqueConstraint('source', 'request_type', 'urgency', 'stage', name='uq_sla_rule_key'),
    )
    op.create_table(
        'department',
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('township', sa.String(length=32), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('sms_target', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('code', name=op.f('pk_department')),
    )
    op.create_table(
        'dispatch_rule',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=64), nullable=False),
        sa.Column('township', sa.String(length=32), nullable=False),
        sa.Column('lead', sa.String(length=32), nullable=False),
        sa.Column('assisting', sa.String(length=500), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dispatch_rule')),
        sa.UniqueConstraint('category', 'township', name='uq_dispatch_rule_key'),
    )
    op.create_table(
        'duty_roster',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('role', sa.String(length=64), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('shift_start', sa.Time(), nullable=False),
        sa.Column('shift_end', sa.Time(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_roster')),
    )
    op.create_index('ix_duty_roster_day_role', 'duty_roster', ['day', 'role'], unique=False)
    op.create_table(
        'setting',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('value', sa.String(length=200), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_setting')),
    )
    op.create_table(
        'case_deadline',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.String(length=36), nullable=True),
        sa.Column('instance_id', sa.String(length=36), nullable=False),
        sa.Column('stage', sa.String(length=32), nullable=False),
        sa.Column('unit', sa.String(length=32), nullable=False),
        sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('warn_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('notice_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('rule', sa.String(length=200), nullable=False),
        sa.Column('extension_days', sa.Integer(), nullable=False),
        sa.Column('capped', sa.Boolean(), nullable=False),
        sa.Column('calendar_warning', sa.String(length=200), nullable=True),
        sa.Column('due_timers', sa.String(length=200), nullable=False),
        sa.Column('warn_timers', sa.String(length=200), nullable=False),
        sa.Column('notice_timers', sa.String(length=200), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_deadline')),
        sa.UniqueConstraint('instance_id', 'stage', 'unit', name='uq_case_deadline_key'),
    )
    op.create_index(op.f('ix_case_deadline_case_id'), 'case_deadline', ['case_id'], unique=False)
    # The case's category (诉求分类) keys the dispatch catalogue; batch mode because SQLite cannot alter in place.
    with op.batch_alter_table('hotline_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_hotline_case_category'), ['category'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('hotline_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hotline_case_category'))
        batch_op.drop_column('category')
    op.drop_index(op.f('ix_case_deadline_case_id'), table_name='case_deadline')
    op.drop_table('case_deadline')
    op.drop_table('setting')
    op.drop_index('ix_duty_roster_day_role', table_name='duty_roster')
    op.drop_table('duty_roster')
    op.drop_table('dispatch_rule')
    op.drop_table('department')
    op.drop_table('sla_rule')
    op.drop_table('calendar_year')
    op.drop_table('calendar_day')
