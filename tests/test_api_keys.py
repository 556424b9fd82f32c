"""Integration keys (接口密钥) and the API's authentication: stored hashed, shown once, scopes, revocation, rate
limit across nodes, audit of every call, no session cookie, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from click.testing import CliRunner

from processes.audit.models import AuditLog
from processes.errors import FormDataInvalid
from processes.integration import keys
from processes.integration.models import ApiKey
from tests.api_support import bearer
from tests.api_support import make_key
from tests.workspace_support import Workspace
from webapp import create_app
from webapp import runtime_of
from webapp.cli import cli

UNITS = "/api/v1/reference/units"


def _audit(ws: Workspace, action: str) -> list[AuditLog]:
    with runtime_of(ws.app).read() as db:
        return list(db.scalars(sa.select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def test_a_key_is_stored_as_a_hash_and_checked_in_constant_shape(ws: Workspace) -> None:
    raw = make_key(ws.app, "oa-gateway", "reference:read", department="sthj")
    with runtime_of(ws.app).read() as db:
        row = db.scalar(sa.select(ApiKey).where(ApiKey.name == "oa-gateway"))
        assert row is not None and raw.startswith(f"hk_{row.prefix}_")
        assert raw.split("_", 2)[2] not in str(row.secret_hash) and row.secret_hash == keys.secret_hash(
            raw.split("_", 2)[2])
        who = keys.verify(db, raw)
        assert who is not None and who.actor == "api:oa-gateway" and who.department == "sthj"
        assert who.scopes == frozenset({"reference:read"})
        assert keys.verify(db, raw[:-1] + ("A" if raw[-1] != "A" else "B")) is None  # one character off
        assert keys.verify(db, "hk_000000000000_" + "x" * 43) is None and keys.verify(db, "nonsense") is None
    created = _audit(ws, "api_key.create")
    assert created[-1].object_id == row.prefix and raw not in str(created[-1].after)


def test_new_keys_refuse_bad_names_scopes_and_units(ws: Workspace) -> None:
    make_key(ws.app, "taken", "cases:read")
    with runtime_of(ws.app).write() as db, db.begin():
        for name, scopes, unit, field in (("x", ["cases:read"], None, "name"), ("taken", ["cases:read"], None, "name"),
                                          ("ok-name", [], None, "scopes"), ("ok-name", ["root"], None, "scopes"),
                                          ("ok-name", ["cases:read"], "nowhere", "department")):
            try:
                keys.create(db, name, scopes, department=unit, actor="t", now=ws.office.clock())
            except FormDataInvalid as error:
                assert field in error.errors, (name, scopes, unit)
            else:
                raise AssertionError(f"accepted {name} {scopes} {unit}")


def test_calls_need_a_key_with_the_scope_and_never_a_session(ws: Workspace) -> None:
    raw = make_key(ws.app, "reader", "reference:read")
    other = make_key(ws.app, "metrics-only", "metrics:read")
    client = ws.app.test_client()
    missing = client.get(UNITS)
    assert missing.status_code == 401 and missing.mimetype == "application/problem+json"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    body = missing.get_json()
    assert body["status"] == 401 and body["instance"] == UNITS and "密钥" in body["detail"]
    assert client.get(UNITS, headers=bearer("hk_123456789abc_" + "a" * 43)).status_code == 401
    assert client.get(UNITS, headers=bearer(other)).status_code == 403
    ok = client.get(UNITS, headers=bearer(raw))
    assert ok.status_code == 200 and any(u["code"] == "sthj" for u in ok.get_json()["items"])
    assert client.get(UNITS, headers={"X-API-Key": raw}).status_code == 200
    supervisor = ws.user("sup1", "supervisor")  # a signed-in browser: its cookie opens nothing here
    assert supervisor.get(UNITS).status_code == 401
    english = client.get(UNITS, headers={"Accept-Language": "en-US,en;q=0.9"}).get_json()
    assert english["title"] == "Unauthorized" and "key" in english["detail"].lower()
    rows = _audit(ws, "api.call")
    assert [r.result for r in rows] == ["denied", "denied", "denied", "success", "success", "denied", "denied"]
    assert rows[3].actor == "api:reader" and rows[0].actor == "api:anonymous" and rows[2].actor == "api:metrics-only"


def test_a_revoked_key_stops_at_once(ws: Workspace) -> None:
    raw = make_key(ws.app, "leaving", "reference:read")
    client = ws.app.test_client()
    assert client.get(UNITS, headers=bearer(raw)).status_code == 200
    with runtime_of(ws.app).write() as db, db.begin():
        assert keys.revoke(db, "leaving", actor="admin", now=ws.office.clock()) is not None
        assert keys.revoke(db, "leaving", actor="admin", now=ws.office.clock()) is None
    assert client.get(UNITS, headers=bearer(raw)).status_code == 401
    assert _audit(ws, "api_key.revoke")[-1].actor == "admin"


def test_the_rate_limit_is_counted_in_the_database_for_every_node(ws: Workspace) -> None:
    raw = make_key(ws.app, "busy", "reference:read")
    config = {"DATABASE_URL": ws.app.config["DATABASE_URL"], "SECRET_KEY": "k" * 40, "API_RATE_LIMIT": 3}
    ws.app.config["API_RATE_LIMIT"] = 3
    second_node = create_app(config)
    runtime_of(second_node).clock = ws.office.clock
    try:
        first, second = ws.app.test_client(), second_node.test_client()
        answers = [c.get(UNITS, headers=bearer(raw)).status_code for c in (first, second, first)]
        assert answers == [200, 200, 200]
        refused = second.get(UNITS, headers=bearer(raw))
        assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
        ws.office.clock.advance(seconds=60)
        assert first.get(UNITS, headers=bearer(raw)).status_code == 200  # a new window
    finally:
        runtime_of(second_node).db.dispose()
    assert [r.detail["reason"] for r in _audit(ws, "api.call") if r.result == "denied"] == ["rate_limited"]


def test_the_command_line_prints_the_key_once_last_and_revokes(ws: Workspace) -> None:
    runner = CliRunner(env={"HOTLINE_DATABASE_URL": ws.app.config["DATABASE_URL"]})
    made = runner.invoke(cli, ["api-key", "create", "--name", "city-12345", "--scope", "cases:read",
                               "--scope", "tasks", "--department", "sthj"], catch_exceptions=False)
    assert made.exit_code == 0, made.output
    raw = made.output.strip().splitlines()[-1]
    assert keys.parse(raw) is not None and made.output.count(raw) == 1
    listed = runner.invoke(cli, ["api-key", "list"], catch_exceptions=False).output
    assert "city-12345" in listed and "cases:read,tasks" in listed and raw.split("_", 2)[2] not in listed
    bad = runner.invoke(cli, ["api-key", "create", "--name", "city-12345", "--scope", "tasks"])
    assert bad.exit_code == 2 and "该名称已有接口密钥" in bad.output
    assert runner.invoke(cli, ["api-key", "revoke", "--name", "city-12345"]).exit_code == 0
    assert runner.invoke(cli, ["api-key", "revoke", "--name", "city-12345"]).exit_code == 1
    assert "revoked" in runner.invoke(cli, ["api-key", "list"]).output
