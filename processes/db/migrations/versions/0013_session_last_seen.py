"""user_session.last_seen_at: when a session was last used, so idle sessions stop counting as concurrent

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 14:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: rows opened before this revision count from their login time until used again.
    with op.batch_alter_table('user_session') as batch:
        batch.add_column(sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('user_session') as batch:
        batch.drop_column('last_seen_at')
