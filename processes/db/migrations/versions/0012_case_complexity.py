"""complexity (复杂件) as its own case attribute and SLA rule key, no longer a request type

Cases stored with request_type 'complex' become complexity 'complex' with the default request type 'other'
(其他); SLA rules written for request_type 'complex' become rules for any request type with complexity 'complex'.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 10:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# Frozen here on purpose: a migration never imports the models or handlers it predates.
DEFAULT_REQUEST_TYPE = 'other'
case = sa.table('hotline_case', sa.column('request_type', sa.String), sa.column('complexity', sa.String))
rule = sa.table('sla_rule', sa.column('request_type', sa.String), sa.column('complexity', sa.String))


def upgrade() -> None:
    with op.batch_alter_table('hotline_case') as batch:
        batch.add_column(sa.Column('complexity', sa.String(length=16), nullable=False, server_default='normal'))
    op.execute(case.update().where(case.c.request_type == 'complex')
               .values(complexity='complex', request_type=DEFAULT_REQUEST_TYPE))

    # The old key ignores complexity, so it goes before the rows move and the new key comes after.
    with op.batch_alter_table('sla_rule') as batch:
        batch.add_column(sa.Column('complexity', sa.String(length=16), nullable=False, server_default='*'))
        batch.drop_constraint('uq_sla_rule_key', type_='unique')
    op.execute(rule.update().where(rule.c.request_type == 'complex').values(complexity='complex', request_type='*'))
    with op.batch_alter_table('sla_rule') as batch:
        batch.create_unique_constraint('uq_sla_rule_key', ['source', 'request_type', 'urgency', 'complexity', 'stage'])


def downgrade() -> None:
    # The old schema can express only "complex, any request type": other complexity rules cannot go back.
    op.execute(rule.delete().where(sa.or_(
        rule.c.complexity.not_in(('*', 'complex')),
        sa.and_(rule.c.complexity == 'complex', rule.c.request_type != '*'))))
    with op.batch_alter_table('sla_rule') as batch:
        batch.drop_constraint('uq_sla_rule_key', type_='unique')
    op.execute(rule.update().where(rule.c.complexity == 'complex').values(request_type='complex'))
    with op.batch_alter_table('sla_rule') as batch:
        batch.drop_column('complexity')
        batch.create_unique_constraint('uq_sla_rule_key', ['source', 'request_type', 'urgency', 'stage'])

    op.execute(case.update().where(case.c.complexity == 'complex').values(request_type='complex'))
    with op.batch_alter_table('hotline_case') as batch:
        batch.drop_column('complexity')
