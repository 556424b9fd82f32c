"""The system administrator's page of integration keys (SQLite, PostgreSQL): create shows the key once, bad input is
400 by field, revoke stops the key, both audited; nobody else reaches the page."""

from __future__ import annotations

import re

import sqlalchemy as sa

from processes.audit.models import AuditLog
from tests.admin_support import sign_in
from tests.api_support import bearer
from tests.workspace_support import Workspace
from tests.workspace_support import post_form
from tests.workspace_support import text
from webapp import runtime_of

KEY = re.compile(r"hk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


def test_the_administrator_makes_and_revokes_a_key_on_the_web(ws: Workspace) -> None:
    admin = sign_in(ws.app, ws.office.clock, "root1", "sysadmin")  # with the second factor administrators need
    page = "/admin/api-keys"
    made = post_form(admin, page, {"name": "sthj-oa", "scopes": ["cases:read", "tasks"], "department": "sthj"},
                     page=page)
    assert made.status_code == 201
    raw = KEY.search(text(made))
    assert raw is not None
    listed = text(admin.get(page))
    assert "sthj-oa" in listed and raw.group(0) not in listed  # shown once
    api = ws.app.test_client()
    assert api.get("/api/v1/tasks", headers=bearer(raw.group(0))).status_code == 200
    refused = post_form(admin, page, {"name": "x", "scopes": ["root"]}, page=page)
    assert refused.status_code == 400 and "名称由字母" in text(refused) and "请从列表中选择权限范围" in text(refused)
    with runtime_of(ws.app).read() as db:
        key_id = db.scalar(sa.text("SELECT id FROM api_key WHERE name = 'sthj-oa'"))
    revoked = post_form(admin, f"/admin/api-keys/{key_id}/revoke", page=page)
    assert revoked.status_code == 303
    assert api.get("/api/v1/tasks", headers=bearer(raw.group(0))).status_code == 401
    assert post_form(admin, f"/admin/api-keys/{key_id}/revoke", page=page).status_code == 404
    with runtime_of(ws.app).read() as db:
        rows = list(db.scalars(sa.select(AuditLog).where(AuditLog.action.like("api_key.%")).order_by(AuditLog.id)))
    assert [(r.action, r.actor) for r in rows] == [("api_key.create", "root1"), ("api_key.revoke", "root1")]
    assert raw.group(0) not in str([r.after for r in rows])


def test_only_the_system_administrator_reaches_the_page(ws: Workspace) -> None:
    for username, role in (("sec1", "secadmin"), ("lead1", "leader"), ("aud1", "auditor")):
        client = sign_in(ws.app, ws.office.clock, username, role)
        assert client.get("/admin/api-keys").status_code == 403, role
