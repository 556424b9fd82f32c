"""Helpers for web tests: an app on the test database with a frozen clock, users, CSRF tokens, logins."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from processes.accounts import users as accounts
from processes.accounts.models import AppUser
from processes.accounts.passwords import policy_from_config
from processes.audit.models import AuditLog
from processes.clock import FrozenClock
from processes.reference.models import Department
from webapp import create_app
from webapp import runtime_of

PASSWORD = "Gongdan-2026-ok"
NEW_PASSWORD = "Haibian#Fengjing-9"
CHEAP = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 8, "ARGON2_PARALLELISM": 1}  # tests never wait on argon2
COOKIE = "hotline_session"
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def web_app(db_url: str, clock: FrozenClock, **config: Any) -> Iterator[Flask]:
    """Yield an app on the database with the frozen clock; nothing security-related is switched off."""
    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "web-test-" + "k" * 40, "TESTING": True,
                      **CHEAP, "MONITOR_CACHE_SECONDS": 0, **config})  # boards counted afresh (tests change data)
    runtime_of(app).clock = clock
    yield app
    runtime_of(app).db.dispose()


def add_user(app: Flask, username: str, *roles: str, must_change: bool = False, department: str | None = None,
             real_name: str = "", changed_at: datetime | None = None) -> str:
    """Create a user with the test password; return its id."""
    rt = runtime_of(app)
    with rt.write() as db, db.begin():
        if department and db.get(Department, department) is None:
            db.add(Department(code=department, name="区住建局", kind="department", active=True))
            db.flush()
        user = accounts.create_user(db, username=username, password=PASSWORD, roles=roles or ("operator",),
                                    policy=policy_from_config(app.config), now=changed_at or rt.clock(),
                                    actor="test", real_name=real_name, department=department,
                                    must_change_password=must_change)
        return user.id


def change_user(app: Flask, username: str, change: Any) -> None:
    """Apply `change(db, user)` to a user in its own transaction (disable, unlock …)."""
    with runtime_of(app).write() as db, db.begin():
        change(db, accounts.get_user(db, username))


def user_row(app: Flask, username: str) -> AppUser:
    """Return a user's row as stored now."""
    with runtime_of(app).read() as db:
        return accounts.get_user(db, username)


def token(client: FlaskClient, path: str = "/") -> str:
    """Return a CSRF token of the client's session, read from a page's form like a browser would."""
    html = client.get(path, follow_redirects=True, headers={"X-Background-Refresh": "1"}).get_data(as_text=True)
    found = _TOKEN.search(html)
    assert found, html[:500]
    return found.group(1) or found.group(2)


def post(client: FlaskClient, path: str, data: dict[str, str] | None = None, **kwargs: Any) -> TestResponse:
    """POST a form with the session's CSRF token."""
    return client.post(path, data={"csrf_token": token(client), **(data or {})}, **kwargs)


def login(client: FlaskClient, username: str, password: str = PASSWORD, *, next_url: str | None = None,
          ip: str = "127.0.0.1") -> TestResponse:
    """Submit the login form from the login page."""
    data = {"username": username, "password": password, **({"next": next_url} if next_url else {})}
    return client.post("/auth/login", data={"csrf_token": token(client, "/auth/login"), **data},
                       environ_base={"REMOTE_ADDR": ip})


def audit_rows(app: Flask, action: str | None = None) -> list[dict[str, Any]]:
    """Return audit rows (optionally of one action) as dicts, oldest first."""
    query = sa.select(AuditLog).order_by(AuditLog.id)
    if action:
        query = query.where(AuditLog.action == action)
    with runtime_of(app).read() as db:
        return [{c.name: getattr(row, c.name) for c in AuditLog.__table__.columns} for row in db.scalars(query)]


def location(response: TestResponse) -> str:
    """Return the path a redirect points to (without the query)."""
    return response.headers.get("Location", "").split("?")[0]
