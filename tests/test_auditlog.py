"""Audit log pages for auditors (AC-04, S4.4, AUD-01/02, PII-03, S5.5): read-only, masked, audited reads."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from processes.audit import record as audit
from processes.audit.chain import verify
from processes.audit.models import AuditLog
from processes.clock import FrozenClock
from tests.admin_support import sign_in
from tests.web_support import add_user
from tests.web_support import audit_rows
from tests.web_support import post
from tests.web_support import web_app
from webapp import runtime_of
from webapp.config import audit_key
from webapp.permissions import RULES

PHONE = "13812345678"
ID_NUMBER = "11010519491231002X"


@pytest.fixture
def app(db_url: str, clock: FrozenClock) -> Iterator[Flask]:
    yield from web_app(db_url, clock)


def add_rows(app: Flask, count: int, **values: object) -> None:
    """Record `count` audit rows like the application does, one second apart."""
    rt = runtime_of(app)
    with rt.write() as db, db.begin():
        for n in range(count):
            audit.record(db, action=str(values.get("action", "case.update")), actor=str(values.get("actor", "op1")),
                         at=rt.clock() + timedelta(seconds=n), object_type="case",
                         object_id=f"{values.get('prefix', 'DT')}{n:05d}",
                         result=str(values.get("result", "success")), request_id=f"req{n}",
                         detail=values.get("detail", {"n": n}))  # type: ignore[arg-type]


def insert_raw(app: Flask, **values: object) -> None:
    """Insert a row past `audit.record`'s checks (as if written before them, or by hand)."""
    row = {"at": runtime_of(app).clock(), "actor": "legacy", "action": "case.note", "result": "success", **values}
    with runtime_of(app).db.begin() as conn:
        conn.execute(sa.insert(AuditLog), row)


def test_auditors_list_filter_and_page_newest_first_and_each_view_is_audited(app: Flask, clock: FrozenClock) -> None:
    auditor = sign_in(app, clock, "audit1", "auditor")
    add_rows(app, 60)
    add_rows(app, 2, action="user.disable", actor="admin1", result="denied", prefix="U")
    first = auditor.get("/audit")
    html = first.get_data(as_text=True)
    assert first.status_code == 200 and "审计链状态" in html and "user.disable" in html
    assert html.index("user.disable") < html.index("DT00059")  # newest first
    assert "DT00000" not in html and "更早的记录" in html
    cursor = html.split("before=")[1].split('"')[0]
    older = auditor.get(f"/audit?before={cursor}").get_data(as_text=True)
    assert "DT00000" in older and "user.disable" not in older
    denied = auditor.get("/audit?action=user.&result=denied&actor=admin1").get_data(as_text=True)
    assert denied.count("<td>user.disable</td>") == 2 and "case.update" not in denied
    assert "DT00007" in auditor.get("/audit?object_type=case&object_id=DT00007").get_data(as_text=True)
    assert "DT00042" in auditor.get("/audit?request_id=req42").get_data(as_text=True)
    assert "没有符合条件的记录" in auditor.get("/audit?action=%25").get_data(as_text=True)  # % is no wildcard
    views = audit_rows(app, "audit.view")
    assert len(views) == 6 and all(v["actor"] == "audit1" and v["role"] == "auditor" for v in views)
    assert views[2]["detail"] == {"filters": ["action", "actor", "result"], "rows": 2, "page": "first"}
    assert views[1]["detail"]["page"] == "next" and views[0]["detail"]["rows"] == 50


def test_dates_are_beijing_days_and_bad_filters_are_400(app: Flask, clock: FrozenClock) -> None:
    clock.now = clock.now.replace(hour=15, minute=30)  # 2026-11-25 15:30 UTC = 11-25 23:30 Beijing
    add_rows(app, 1, action="late.evening")
    clock.advance(hours=1)  # 11-26 00:30 Beijing
    add_rows(app, 1, action="after.midnight")
    auditor = sign_in(app, clock, "audit1", "auditor")
    day = auditor.get("/audit?from=2026-11-25&to=2026-11-25").get_data(as_text=True)
    assert "late.evening" in day and "after.midnight" not in day and "2026-11-25 23:30:00.000" in day
    assert "after.midnight" in auditor.get("/audit?from=2026-11-26").get_data(as_text=True)
    for bad in ("from=yesterday", "to=2026-13-01", "result=maybe", "before=-1", "before=abc",
                "from=2026-11-26&to=2026-11-25", "actor=" + "x" * 65):
        answer = auditor.get(f"/audit?{bad}")
        assert answer.status_code == 400, bad
    assert auditor.get("/audit/export?from=yesterday").status_code == 400


def test_pages_and_exports_never_show_a_full_phone_or_id_number(app: Flask, clock: FrozenClock) -> None:
    auditor = sign_in(app, clock, "audit1", "auditor")
    with pytest.raises(audit.AuditRefused):  # the trail refuses them when written …
        add_rows(app, 1, detail={"phone": PHONE})
    insert_raw(app, object_id=PHONE, detail={"note": f"tel {PHONE} id {ID_NUMBER}"})  # … and masks old ones
    row_id = audit_rows(app, "case.note")[0]["id"]
    pages = [auditor.get("/audit").get_data(as_text=True), auditor.get(f"/audit/{row_id}").get_data(as_text=True),
             auditor.get("/audit/export").get_data(as_text=True)]
    for text in pages:
        assert PHONE not in text and ID_NUMBER not in text
        assert "138****5678" in text
    assert "110***********002X" in pages[1]


def test_the_detail_page_shows_summaries_as_escaped_json(app: Flask, clock: FrozenClock) -> None:
    auditor = sign_in(app, clock, "audit1", "auditor")
    rt = runtime_of(app)
    with rt.write() as db, db.begin():
        row_id = audit.record(db, action="case.note", actor="op1", at=rt.clock(), before={"status": "open"},
                              after={"status": "closed"}, detail={"note": "<script>alert(1)</script>"})
    html = auditor.get(f"/audit/{row_id}").get_data(as_text=True)
    assert "&#34;status&#34;: &#34;closed&#34;" in html or "&quot;status&quot;: &quot;closed&quot;" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert auditor.get("/audit/999999").status_code == 404 and auditor.get("/audit/abc").status_code == 404
    assert audit_rows(app, "audit.view")[-1]["object_id"] == str(row_id)


def test_verify_on_demand_is_audited_with_its_result(app: Flask, clock: FrozenClock) -> None:
    auditor = sign_in(app, clock, "audit1", "auditor")
    add_rows(app, 3)
    key, _ = audit_key(app)
    audit.seal(runtime_of(app).db, key, clock=clock)
    head = verify(runtime_of(app).db, key)
    status = auditor.get("/audit").get_data(as_text=True)
    assert f"{head.head_seq}:{head.head_hash}" in status and "尚未在此页面校验过" in status
    done = post(auditor, "/audit/verify", follow_redirects=True).get_data(as_text=True)
    assert "审计链完整" in done
    bad_anchor = post(auditor, "/audit/verify", {"anchor": f"{head.head_seq}:{'0' * 64}"}, follow_redirects=True)
    assert "审计链被破坏" in bad_anchor.get_data(as_text=True)
    assert post(auditor, "/audit/verify", {"anchor": "nonsense"}).status_code == 400
    rows = audit_rows(app, "audit.verify")
    assert [r["result"] for r in rows] == ["success", "failure", "failure"]
    assert rows[0]["detail"]["checked"] == head.checked and rows[0]["detail"]["problem"] is None
    assert rows[1]["detail"]["problem"] == "edited" and rows[2]["detail"] == {"reason": "bad_anchor"}
    assert "发现问题" in auditor.get("/audit").get_data(as_text=True)  # the panel shows the last result


def test_export_neutralises_formulas_and_is_audited_with_its_row_count(app: Flask, clock: FrozenClock) -> None:
    auditor = sign_in(app, clock, "audit1", "auditor")
    rt = runtime_of(app)
    with rt.write() as db, db.begin():
        audit.record(db, action="case.note", actor="op1", at=rt.clock(), object_type="case",
                     object_id="=cmd|' /C calc'!A0", detail={"x": "+SUM(A1)"})
    answer = auditor.get("/audit/export?action=case.")
    assert answer.status_code == 200 and answer.headers["Content-Disposition"].startswith("attachment;")
    assert answer.headers["Content-Type"].startswith("text/csv")
    text = answer.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    header, body = rows[0], rows[1:]
    assert len(body) == 1
    assert body[0][header.index("object_id")] == "'=cmd|' /C calc'!A0"
    assert "'=cmd" in text and ",=cmd" not in text
    exported = audit_rows(app, "audit.export")
    assert len(exported) == 1 and exported[0]["detail"] == {"rows": 1, "filters": ["action"]}


def test_only_auditors_read_it_and_no_route_changes_audit_rows(app: Flask, clock: FrozenClock) -> None:
    clients = {role: sign_in(app, clock, f"{role}1", role) for role in ("operator", "sysadmin", "secadmin")}
    add_user(app, "an1", "analyst")
    row_id = audit_rows(app)[0]["id"]
    before = audit_rows(app)
    for client in clients.values():
        for path in ("/audit", f"/audit/{row_id}", "/audit/export"):
            assert client.get(path).status_code == 403, path
        assert post(client, "/audit/verify").status_code == 403
    after = audit_rows(app)
    assert after[:len(before)] == before  # denied callers changed nothing; their refusals are audited (issue 16)
    assert {(r["action"], r["detail"]["reason"]) for r in after[len(before):]} == {("access.denied", "role")}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("auditlog."):
            assert RULES[rule.endpoint] == frozenset({"auditor"}), rule
            assert (rule.methods or set()) - {"HEAD", "OPTIONS"} == ({"POST"} if rule.endpoint == "auditlog.verify"
                                                                     else {"GET"}), rule
