"""Helpers for the API tests: make a key straight in the database, and the header that presents it."""

from __future__ import annotations

from flask import Flask

from processes.integration import keys
from webapp import runtime_of


def make_key(app: Flask, name: str, *scopes: str, department: str | None = None) -> str:
    """Create an API key and return it in full (as `hotline api-key create` prints it)."""
    rt = runtime_of(app)
    with rt.write() as db, db.begin():
        return keys.create(db, name, list(scopes), department=department, actor="test", now=rt.clock()).raw


def bearer(raw: str) -> dict[str, str]:
    """Return the Authorization header of a key."""
    return {"Authorization": f"Bearer {raw}"}
