"""Database engines: SQLite with WAL and BEGIN IMMEDIATE for writers, PostgreSQL with psycopg 3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 60_000


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite connections get WAL, a busy timeout and explicit transactions."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        _configure_sqlite(engine)
        return engine
    # No pre-ping (a round trip per checkout): a dropped connection raises a disconnect error, which
    # invalidates the pool, and the caller's command fails cleanly and can be retried.
    kwargs.setdefault("pool_recycle", 1800)
    # No JIT: the console's counts over 50,000 open cases are estimated costly enough to be compiled, and the
    # compiling took ~1 s per query, longer than running them (bench/monitor.py, docs/benchmarks.md).
    kwargs.setdefault("connect_args", {"options": "-c jit=off"})
    return sa.create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    """Take transaction control from pysqlite: it starts none for SELECT, which loses updates."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # Writers take the write lock up front: a deferred read-then-write transaction can hit
        # SQLITE_BUSY despite the timeout (security.md §2.4). Readers stay deferred.
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def writer_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory for commands (write lock at BEGIN on SQLite)."""
    bind = engine.execution_options(sqlite_immediate=True) if engine.dialect.name == "sqlite" else engine
    return sessionmaker(bind=bind, expire_on_commit=False)


def reader_engine(engine: Engine) -> Engine:
    """Return the engine variant for queries (autocommit on PostgreSQL: no BEGIN/ROLLBACK round trips)."""
    return engine.execution_options(isolation_level="AUTOCOMMIT") if engine.dialect.name == "postgresql" else engine


def reader_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory for queries."""
    return sessionmaker(bind=reader_engine(engine), expire_on_commit=False)


def sqlite_url_for(path: Path) -> str:
    """Return the SQLAlchemy URL of an SQLite file."""
    return f"sqlite:///{path}"
