"""The web benchmark's office: reference data, bundles, operator accounts with live sessions, and cases to work.

Sessions are opened the way a login opens them (a `user_session` row and a signed cookie with the session token),
so the benchmark measures the worklist and the task form, not argon2. The CSRF secret is put into each session up
front, as the first form a user opens would; the load still reads the token from every form it opens.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask

from handlers.reference.seed import seed_all
from processes.accounts import sessions
from processes.accounts.passwords import policy_from_config
from processes.accounts.users import create_user
from processes.db import migrate
from processes.runtime import assignment
from processes.runtime import commands
from processes.runtime import definitions
from webapp import create_app
from webapp import runtime_of

ROOT = Path(__file__).resolve().parent.parent
ROLES = ("operator", "dispatcher")  # the triage form is a dispatcher's; operators answer directly
SETTINGS = {
    "SECRET_KEY": "bench-secret-" + "k" * 40, "AUDIT_HMAC_KEY": "bench-audit-" + "a" * 40,
    "PII_ENCRYPTION_KEY": "a1" * 32, "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 8, "ARGON2_PARALLELISM": 1,
    "ENV": "bench",
}


@dataclass
class Operator:
    """One simulated operator: name, session cookie and the triage tasks assigned to them."""

    username: str
    cookie: str
    tasks: list[str] = field(default_factory=list)


def bench_app(url: str) -> Flask:
    """Return the app on the benchmark database with the benchmark's settings (the same the server gets)."""
    return create_app({"DATABASE_URL": url, **SETTINGS})


def server_environment(url: str) -> dict[str, str]:
    """Return HOTLINE_* variables that give a gunicorn worker the same settings as `bench_app`."""
    env = {f"HOTLINE_{key}": str(value) for key, value in SETTINGS.items()}
    env["HOTLINE_DATABASE_URL"] = url
    return env


def deploy_office(app: Flask) -> None:
    """Migrate, seed reference data and deploy every bundle of bpmn/ (as the demo does)."""
    rt = runtime_of(app)
    migrate.upgrade(app.config["DATABASE_URL"])
    with rt.write() as db, db.begin():
        seed_all(db, ROOT / "reference", actor="bench", now=rt.clock(), years=range(2025, 2027))
    for folder in sorted(p for p in (ROOT / "bpmn").iterdir() if p.is_dir() and not p.name.startswith("_")):
        with rt.write() as db, db.begin():
            definitions.deploy(db, folder.name, definitions.read_bundle_dir(folder), actor="bench",
                               operators=rt.handlers, now=rt.clock(), publish=True)


def _cookie(app: Flask, user_id: str, epoch: int, token: str, at: float) -> str:
    """Return the signed session cookie a login would have set, with the CSRF secret already in it."""
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]  # Flask's
    data = {"_user_id": f"{user_id}:{epoch}", "_fresh": True, "sid": token, "login_at": at, "seen_at": at,
            "csrf_token": hashlib.sha1(os.urandom(64)).hexdigest()}  # noqa: S324  # Flask-WTF's own token format
    return str(serializer.dumps(data))


def add_operators(app: Flask, count: int) -> list[Operator]:
    """Create `count` operator accounts, each with one open session; return them with their cookies."""
    rt = runtime_of(app)
    now = rt.clock()
    operators = []
    with rt.write() as db, db.begin():
        for n in range(count):
            user = create_user(db, username=f"bench{n:04d}", password=secrets.token_urlsafe(18) + "-Aa1", roles=ROLES,
                               real_name=f"话务员{n}", policy=policy_from_config(app.config), now=now,
                               actor="bench", must_change_password=False)
            token = sessions.new_token()
            sessions.open_session(db, user, token, now=now, source_ip="127.0.0.1")
            operators.append(Operator(user.username, _cookie(app, user.id, user.session_epoch, token,
                                                             now.timestamp())))
    return operators


def open_cases(app: Flask, operators: list[Operator], needs: Mapping[int, int]) -> int:
    """Register phone cases and give operator i `needs[i]` triage tasks of their own; return how many."""
    rt = runtime_of(app)
    opened = 0
    for index, count in sorted(needs.items()):
        operator = operators[index]
        for _ in range(count):
            intake = {"request_type": "consult", "urgency": "normal", "township": "beiao", "category": "劳动保障",
                      "requester_phone": f"139{opened:08d}", "content": f"咨询社保卡补办地点（{opened}）"}
            started = commands.open_case(rt, "case_phone", intake, actor="bench", channel="phone")
            task_id = _open_task_ids(app, started.instance_id)[0]
            assignment.assign(rt, started.instance_id, task_id, operator.username, actor="bench")
            operator.tasks.append(task_id)
            opened += 1
    return opened


def analyze(app: Flask) -> None:
    """Refresh the planner's statistics after the bulk setup, as autovacuum would on a live server."""
    engine = runtime_of(app).db
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn, conn.begin():
            conn.execute(sa.text("ANALYZE"))


def _open_task_ids(app: Flask, instance_id: str) -> list[str]:
    from processes.runtime import queries

    with runtime_of(app).read() as db:
        return [t.id for t in queries.human_tasks(db, instance_id=instance_id)]


def describe(operators: list[Operator]) -> dict[str, Any]:
    """Return what the load process needs, as plain data it can take across a process boundary."""
    return {"operators": [{"username": o.username, "cookie": o.cookie, "tasks": o.tasks} for o in operators]}
