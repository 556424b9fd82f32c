"""Webhook subscriptions on the web (事件订阅, SQLite and PostgreSQL): the system administrator creates one (the
generated secret shown once, stored encrypted), pauses, resumes, rotates, deletes and resends a failed delivery,
each audited; bad URLs and events answer 400, unknown ids 404, a stale state 409; nobody else reaches the pages."""

from __future__ import annotations

import re

import sqlalchemy as sa

from processes.accounts import pii
from processes.exchange import webhooks
from processes.exchange.models import WebhookSubscription
from processes.runtime import outbox
from processes.runtime.models import OutboxMessage
from tests.admin_support import sign_in
from tests.web_support import audit_rows
from tests.web_support import post
from tests.workspace_support import Workspace
from tests.workspace_support import post_form
from tests.workspace_support import text
from webapp import runtime_of

PAGE = "/admin/webhooks"
SECRET = re.compile(r'<code class="secret">([A-Za-z0-9_-]{43})</code>')
GOOD = {"name": "oa-events", "url": "https://oa.example.gov.cn/hooks/hotline", "events": ["started", "completed"]}


def _sub(ws: Workspace, name: str = "oa-events") -> WebhookSubscription | None:
    with runtime_of(ws.app).read() as db:
        return db.scalar(sa.select(WebhookSubscription).where(WebhookSubscription.name == name))


def _active(ws: Workspace) -> bool:
    sub = _sub(ws)
    assert sub is not None
    return sub.active


def _stored_secret(ws: Workspace, name: str = "oa-events") -> str:
    sub = _sub(ws, name)
    assert sub is not None
    return sub.secret


def test_create_shows_the_secret_once_and_stores_it_encrypted(ws: Workspace) -> None:
    admin = sign_in(ws.app, ws.office.clock, "root1", "sysadmin")
    made = post_form(admin, PAGE, GOOD, page=PAGE)
    assert made.status_code == 201
    found = SECRET.search(text(made))
    assert found is not None
    secret = found.group(1)
    stored = _stored_secret(ws)
    assert secret not in stored and pii.is_encrypted(stored)
    assert pii.cipher().decrypt(webhooks.SECRET_FIELD, stored) == secret
    listed = text(admin.get(PAGE))
    assert "oa-events" in listed and "工单登记" in listed and secret not in listed  # shown once
    rows = audit_rows(ws.app, "webhook.subscribe")
    assert [(r["actor"], r["object_id"], r["result"]) for r in rows] == [("root1", "oa-events", "success")]
    assert secret not in str(rows)
    assert "事件订阅" in text(admin.get("/admin/api-keys"))  # in the navigation next to 接口密钥


def test_bad_urls_names_and_events_are_400_and_store_nothing(ws: Workspace) -> None:
    admin = sign_in(ws.app, ws.office.clock, "root1", "sysadmin")
    for change, message in (({"url": "http://oa.example.gov.cn/x"}, "https://"),
                            ({"url": "ftp://oa.example.gov.cn/x"}, "https://"),
                            ({"url": "javascript:alert(1)"}, "https://"),
                            ({"url": "https://user:pw@oa.example.gov.cn/x"}, "用户名或密码"),
                            ({"events": ["nonsense"]}, "事件类型须从以下选择"),
                            ({"events": []}, "事件类型须从以下选择"),
                            ({"name": ""}, "名称不能为空")):
        refused = post_form(admin, PAGE, {**GOOD, **change}, page=PAGE)
        assert refused.status_code == 400 and message in text(refused), change
        assert SECRET.search(text(refused)) is None
    assert _sub(ws) is None and audit_rows(ws.app, "webhook.subscribe") == []


def test_pause_resume_rotate_delete_each_audited(ws: Workspace) -> None:
    admin = sign_in(ws.app, ws.office.clock, "root1", "sysadmin")
    first = SECRET.search(text(post_form(admin, PAGE, GOOD, page=PAGE)))
    assert first is not None
    sub = _sub(ws)
    assert sub is not None
    base = f"{PAGE}/{sub.id}"
    assert post_form(admin, f"{base}/disable", page=PAGE).status_code == 303
    assert _active(ws) is False
    assert post_form(admin, f"{base}/disable", page=PAGE).status_code == 409  # a stale page
    assert post_form(admin, f"{base}/enable", page=PAGE).status_code == 303
    assert _active(ws) is True
    rotated = post_form(admin, f"{base}/rotate", page=PAGE)
    second = SECRET.search(text(rotated))
    assert rotated.status_code == 200 and second is not None and second.group(1) != first.group(1)
    assert pii.cipher().decrypt(webhooks.SECRET_FIELD, _stored_secret(ws)) == second.group(1)
    assert second.group(1) not in text(admin.get(PAGE))
    assert post_form(admin, f"{base}/delete", page=PAGE).status_code == 303
    assert _sub(ws) is None
    for action in ("delete", "disable", "enable", "rotate"):
        assert post_form(admin, f"{base}/{action}", page=PAGE).status_code == 404
    assert admin.get(f"{PAGE}/{'x' * 300}/deliveries").status_code == 404
    actions = [(r["action"], r["actor"]) for r in audit_rows(ws.app) if str(r["action"]).startswith("webhook.")]
    assert actions == [("webhook.subscribe", "root1"), ("webhook.pause", "root1"), ("webhook.resume", "root1"),
                       ("webhook.rotate_secret", "root1"), ("webhook.remove", "root1")]
    assert second.group(1) not in str(audit_rows(ws.app))


def test_deliveries_page_and_resend_of_a_failed_one(ws: Workspace) -> None:
    admin = sign_in(ws.app, ws.office.clock, "root1", "sysadmin")
    post_form(admin, PAGE, GOOD, page=PAGE)
    post_form(admin, PAGE, {**GOOD, "name": "other"}, page=PAGE)
    mine, theirs = _sub(ws), _sub(ws, "other")
    assert mine is not None and theirs is not None
    rt = runtime_of(ws.app)
    with rt.write() as db, db.begin():
        for sub in (mine, theirs):
            outbox.enqueue(db, channel=webhooks.CHANNEL, kind="webhook.started", case_id=None, now=rt.clock(),
                           payload={"subscription": sub.id, "case_number": "DT-1"}, key=f"webhook:{sub.id}:7")
        db.execute(sa.update(OutboxMessage).values(status="failed", attempts=5, last_error="HTTP 502 网关错误"))
        ids = {key: id_ for key, id_ in db.execute(sa.select(OutboxMessage.idempotency_key, OutboxMessage.id))}
    own, other = ids[f"webhook:{mine.id}:7"], ids[f"webhook:{theirs.id}:7"]
    page = text(admin.get(f"{PAGE}/{mine.id}/deliveries"))
    assert "HTTP 502 网关错误" in page and "webhook.started" in page and "重新投递" in page
    assert "failed" in text(admin.get(PAGE))
    resend = f"{PAGE}/{mine.id}/deliveries/{{}}/resend"
    assert post_form(admin, resend.format(other), page=PAGE).status_code == 404  # another subscription's message
    assert post_form(admin, resend.format(own), page=PAGE).status_code == 303
    assert post_form(admin, resend.format(own), page=PAGE).status_code == 409  # already queued again
    with rt.read() as db:
        assert db.scalar(sa.select(OutboxMessage.status).where(OutboxMessage.id == own)) == "pending"
        assert db.scalar(sa.select(OutboxMessage.status).where(OutboxMessage.id == other)) == "failed"
    assert [(r["object_id"], r["actor"]) for r in audit_rows(ws.app, "outbox.resend")] == [(str(own), "root1")]


def test_only_the_system_administrator_reaches_the_pages(ws: Workspace) -> None:
    admin = sign_in(ws.app, ws.office.clock, "root1", "sysadmin")
    post_form(admin, PAGE, GOOD, page=PAGE)
    sub = _sub(ws)
    assert sub is not None
    base = f"{PAGE}/{sub.id}"
    routes = [("GET", PAGE), ("POST", PAGE), ("GET", f"{base}/deliveries"), ("POST", f"{base}/disable"),
              ("POST", f"{base}/enable"), ("POST", f"{base}/rotate"), ("POST", f"{base}/delete"),
              ("POST", f"{base}/deliveries/1/resend")]
    before = len(audit_rows(ws.app))
    for username, role in (("sec1", "secadmin"), ("aud1", "auditor"), ("lead1", "leader"), ("op9", "operator")):
        client = sign_in(ws.app, ws.office.clock, username, role)
        for method, path in routes:
            answer = client.get(path) if method == "GET" else post(client, path, {"name": "x", "url": GOOD["url"]})
            assert answer.status_code == 403, (role, method, path)
    denied = [r for r in audit_rows(ws.app)[before:] if r["action"] == "access.denied" and r["actor"] != "anonymous"]
    assert len(denied) == 4 * len(routes)
    assert {(r["result"], r["detail"]["reason"]) for r in denied} == {("denied", "role")}
    assert _active(ws)
    assert admin.post(f"{base}/disable").status_code == 400  # no CSRF token
    assert _active(ws)
