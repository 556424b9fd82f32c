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
    name = f"hotline_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
