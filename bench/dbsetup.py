"""Databases for benchmarks: each run creates its own, migrates it and drops it at the end."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from processes.db.migrate import upgrade


@contextmanager
def own_database(server_url: str | None) -> Iterator[str]:
    """Yield a migrated database URL: a fresh database on the PostgreSQL server, else a temp SQLite file."""
    if server_url is None or not server_url.startswith("postgresql"):
        with tempfile.TemporaryDirectory(prefix="hotline-bench-") as folder:
            url = f"sqlite:///{Path(folder) / 'bench.sqlite'}"
            upgrade(url)
            yield url
        return
    with scratch_database(server_url) as url:
        upgrade(url)
        yield url


@contextmanager
def scratch_database(server_url: str, prefix: str = "hotline_bench", template: str | None = None) -> Iterator[str]:
    """Yield the URL of a new PostgreSQL database (empty, or a file copy of a template), dropped at the end."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    copy = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"{copy}'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
