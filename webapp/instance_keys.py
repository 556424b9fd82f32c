"""An instance's keys and data files (实例密钥与数据文件, issue 16 finding 8): generated, owner-only, read at start.

Outside production the app used to fall back to public development keys printed in the source, and its SQLite
file was world-readable (0644), so anyone with the file could read the demo's personal data. Now `hotline init`
and `hotline demo` write SECRET_KEY, PII_ENCRYPTION_KEY and AUDIT_HMAC_KEY to instance/config.py (created 0600,
read at every start); the development keys stand in only for tests (`config.dev_keys_allowed`); and the SQLite
file is made 0600 as soon as a connection opens it, before anything is written (SQLite gives its -wal and -shm
files the database file's mode).
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import Pool

from processes.accounts import pii
from webapp.config import dev_keys_allowed

KEYS = ("SECRET_KEY", "PII_ENCRYPTION_KEY", "AUDIT_HMAC_KEY")
HEADER = "# Hotline Flow instance settings. Keep this file secret; never commit it.\n"
OWNER_ONLY = 0o600


def private_file(path: Path) -> None:
    """Make an existing file readable and writable by its owner only."""
    if path.exists() and path.stat().st_mode & 0o777 != OWNER_ONLY:
        path.chmod(OWNER_ONLY)


def open_private(path: Path, mode: str = "a") -> int:
    """Open (creating it 0600, never readable by others even for a moment) a file for writing; return its fd."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode == "a" else os.O_TRUNC)
    fd = os.open(path, flags, OWNER_ONLY)
    private_file(path)  # a file that was there before holds a secret now
    return fd


def write_missing_keys(app: Flask, *, by: str) -> list[str]:
    """Append the keys the app lacks to instance/config.py (0600) and use them from now on; return their names."""
    missing = [name for name in KEYS if not app.config.get(name)]
    if not missing:
        return []
    path = Path(app.instance_path) / "config.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    values = {name: secrets.token_hex(32) for name in missing}
    with os.fdopen(open_private(path), "a", encoding="utf-8") as out:
        if new:
            out.write(HEADER)
        out.writelines(f"{name} = {value!r}  # written by {by}\n" for name, value in values.items())
    app.config.update(values)
    configure_pii(app)
    return missing


def secure_sqlite(url: str) -> None:
    """Make an SQLite database file and its -wal/-shm files 0600, if it exists (an older one may be 0644)."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite") and parsed.database and parsed.database != ":memory:":
        _private_database(Path(parsed.database))


def _private_database(path: Path) -> None:
    for one in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        private_file(one)


def _on_connect(dbapi_conn: Any, _record: Any) -> None:
    """On every new SQLite connection: its file was just created 0644 by SQLite, or may be; make it 0600 before
    anything is written (SQLite then creates -wal and -shm with the file's mode)."""
    if not isinstance(dbapi_conn, sqlite3.Connection):
        return
    for _seq, _name, file in dbapi_conn.execute("PRAGMA database_list").fetchall():
        if file:
            _private_database(Path(file))


def configure_pii(app: Flask) -> None:
    """Set the personal-data cipher from the app's key; without one only tests get the development key."""
    pii.configure(app.config.get("PII_ENCRYPTION_KEY"), production=app.config.get("ENV") == "production",
                  allow_development=dev_keys_allowed(app))


def init_app(app: Flask) -> None:
    """At start: the database file owner-only (now and whenever SQLite opens one), the personal-data key."""
    if not event.contains(Pool, "connect", _on_connect):
        event.listen(Pool, "connect", _on_connect)
    secure_sqlite(str(app.config["DATABASE_URL"]))
    configure_pii(app)
