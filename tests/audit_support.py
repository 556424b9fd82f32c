"""Helpers for audit tests: the attacker who drops the audit triggers (DDL rights) before editing rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine

from processes.db.migrate import alembic_config
from processes.db.migrate import upgrade

PG_TRIGGERS = ("audit_log_guard ON audit_log", "audit_chain_head_guard ON audit_chain_head")
SQLITE_TRIGGERS = ("audit_log_guard_update", "audit_log_guard_delete", "audit_chain_head_guard_update",
                   "audit_chain_head_guard_delete")
GUARD_REVISION = "0010"  # the migration that adds the triggers


def drop_guards(engine: Engine) -> None:
    """Drop the triggers that protect the audit tables, as someone with DDL rights on the database could."""
    names = PG_TRIGGERS if engine.dialect.name == "postgresql" else SQLITE_TRIGGERS
    with engine.begin() as conn:
        for name in names:
            conn.execute(sa.text(f"DROP TRIGGER {name}"))


def restore_guards(engine: Engine) -> None:
    """Put the triggers back by migrating down past their migration and up again."""
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    config = alembic_config(url)
    command.downgrade(config, f"{GUARD_REVISION}-1")
    upgrade(url)


@contextmanager
def unguarded(engine: Engine) -> Iterator[None]:
    """Run a block with the audit triggers dropped; restore them after it (the PostgreSQL database is shared)."""
    drop_guards(engine)
    try:
        yield
    finally:
        restore_guards(engine)
