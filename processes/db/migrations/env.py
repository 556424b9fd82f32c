"""Alembic environment: migrates the database named by the runtime's URL."""

from __future__ import annotations

from typing import Any
from typing import Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

from processes.db.base import UTCDateTime
from processes.db.engines import create_db_engine
from processes.db.schema import METADATA

config = context.config
target_metadata = METADATA


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    """Leave APScheduler's own table out of autogenerate."""
    return not (type_ == "table" and name == "apscheduler_jobs")


def render_item(type_: str, obj: Any, _autogen_context: AutogenContext) -> str | Literal[False]:
    """Write our UTC datetime type as a plain timezone-aware DateTime, so migrations never import models."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_online() -> None:
    """Run migrations on a live connection (the connection may be handed in by the caller)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_db_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, include_name=include_name,
                      render_item=render_item, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
