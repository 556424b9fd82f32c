"""requester: encrypted personal columns, phone blind index and last four digits

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 08:30:00

Existing plain values stay readable (no `v1:` prefix) until `hotline pii encrypt` rewrites them.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('requester') as batch:
        for column, length in (('name', 200), ('phone', 64), ('id_number', 64), ('address', 500)):
            batch.alter_column(column, existing_type=sa.String(length=length), type_=sa.Text(), existing_nullable=True)
        batch.add_column(sa.Column('phone_index', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('phone_last4', sa.String(length=4), nullable=True))
        batch.create_index(batch.f('ix_requester_phone_index'), ['phone_index'], unique=False)
        batch.create_index(batch.f('ix_requester_phone_last4'), ['phone_last4'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('requester') as batch:
        batch.drop_index(batch.f('ix_requester_phone_last4'))
        batch.drop_index(batch.f('ix_requester_phone_index'))
        batch.drop_column('phone_last4')
        batch.drop_column('phone_index')
        for column, length in (('name', 200), ('phone', 64), ('id_number', 64), ('address', 500)):
            batch.alter_column(column, existing_type=sa.Text(), type_=sa.String(length=length), existing_nullable=True)
