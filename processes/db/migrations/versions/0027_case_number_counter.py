"""case_number_counter (工单编号计数): the last number given out on each day, so a new case needs no count

A case number is DT, the day and a running number (DT20261125-0001). It was allocated by counting the day's cases
(`number LIKE 'DT20261125-%'`) for every new case, which grows with the day's volume (a 50,000-row upstream
import, issue 17). Registration now increments this row in the case's own transaction. The backfill starts every
day that has cases at the highest running number it holds, so numbering continues on an existing database.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-10 20:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

# Only numbers of the office's form count: DT, eight digits, a hyphen and one to nine digits.
WELL_FORMED = {
    "postgresql": "number ~ '^DT[0-9]{8}-[0-9]{1,9}$'",
    "sqlite": ("number GLOB 'DT[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]-[0-9]*' "
               "AND length(number) BETWEEN 12 AND 20 AND substr(number, 12) NOT GLOB '*[^0-9]*'"),
}
BACKFILL = """INSERT INTO case_number_counter (day, last_number)
  SELECT substr(number, 3, 8), max(CAST(substr(number, 12) AS INTEGER)) FROM hotline_case
  WHERE {} GROUP BY substr(number, 3, 8)"""


def upgrade() -> None:
    op.create_table(
        'case_number_counter',
        sa.Column('day', sa.String(length=8), nullable=False),
        sa.Column('last_number', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('day', name=op.f('pk_case_number_counter')))
    dialect = op.get_bind().dialect.name
    op.execute(BACKFILL.format(WELL_FORMED.get(dialect, WELL_FORMED["sqlite"])))


def downgrade() -> None:
    op.drop_table('case_number_counter')
