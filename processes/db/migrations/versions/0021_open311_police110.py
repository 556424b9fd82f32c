"""Open311 requests and one case per 110 incident (开放诉求接口、110 警情交换)

open311_request keeps what only an Open311 submission carries (service code, coordinates, photo link, the
encrypted contact ids). The partial unique index on hotline_case (upstream_order_id) WHERE channel = 'police110'
makes a repeated or concurrent 110 hand-over of one 警情编号 find the existing case instead of opening a second.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-12 15:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

POLICE110 = sa.text("channel = 'police110'")


def upgrade() -> None:
    op.create_table(
        'open311_request',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('case_id', sa.String(length=36), nullable=False),
        sa.Column('service_code', sa.String(length=32), nullable=False),
        sa.Column('lat', sa.Float(), nullable=True),
        sa.Column('long', sa.Float(), nullable=True),
        sa.Column('media_url', sa.String(length=500), nullable=True),
        sa.Column('contact', sa.Text(), nullable=True),
        sa.Column('submitted_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['hotline_case.id'], name=op.f('fk_open311_request_case_id_hotline_case')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_open311_request')),
        sa.UniqueConstraint('case_id', name=op.f('uq_open311_request_case_id')))
    op.create_index(op.f('ix_open311_request_service_code'), 'open311_request', ['service_code'], unique=False)
    op.create_index(op.f('ix_open311_request_created_at'), 'open311_request', ['created_at'], unique=False)
    op.create_index('uq_hotline_case_police110_incident', 'hotline_case', ['upstream_order_id'], unique=True,
                    postgresql_where=POLICE110, sqlite_where=POLICE110)


def downgrade() -> None:
    op.drop_index('uq_hotline_case_police110_incident', table_name='hotline_case')
    op.drop_index(op.f('ix_open311_request_created_at'), table_name='open311_request')
    op.drop_index(op.f('ix_open311_request_service_code'), table_name='open311_request')
    op.drop_table('open311_request')
