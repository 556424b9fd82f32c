"""Cases over the REST API (SQLite and PostgreSQL): registration through the screens' validation, idempotent creates,
masking as the key's user sees it, another unit's case absent, search filters and cursor paging."""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa

from processes.audit.models import AuditLog
from processes.cases.models import Case
from tests.api_support import bearer
from tests.api_support import make_key
from tests.workspace_support import FULL_PHONE
from tests.workspace_support import Workspace
from webapp import runtime_of

COMPLAINT = {"request_type": "complaint", "urgency": "normal", "title": "小区噪音扰民",
             "content": "夜间施工噪音，联系电话13812345678。", "requester_name": "王小明",
             "requester_phone": "13812345678", "requester_address": "洞头区北岙街道中心街88号"}


def _count(ws: Workspace) -> int:
    with runtime_of(ws.app).read() as db:
        return int(db.scalar(sa.select(sa.func.count()).select_from(Case)) or 0)


def test_a_case_registered_over_the_api_is_audited_and_read_back_masked(ws: Workspace) -> None:
    key = make_key(ws.app, "wechat", "cases:write", "cases:read")
    client = ws.app.test_client()
    made = client.post("/api/v1/cases", json={"channel": "phone", "data": COMPLAINT}, headers=bearer(key))
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert made.headers["Location"] == f"/api/v1/cases/{body['id']}" and body["status"] == "registered"
    read = client.get(made.headers["Location"], headers=bearer(key)).get_json()
    assert read["number"] == body["number"] and read["requester"]["mode"] == "masked"
    assert read["requester"]["phone"] == "138****5678" and read["requester"]["name"] == "王**"
    assert not FULL_PHONE.search(str(read)), read  # free text masked as the page masks it
    assert read["instances"] and read["title"] == "小区噪音扰民"
    with runtime_of(ws.app).read() as db:
        row = db.scalar(sa.select(AuditLog).where(AuditLog.action == "case.register"))
    assert row is not None and row.actor == "api:wechat" and row.object_id == body["number"]
    assert "13812345678" not in str(row.detail) + str(row.after)


def test_registration_refuses_what_the_screen_refuses_field_by_field(ws: Workspace) -> None:
    key = make_key(ws.app, "portal", "cases:write")
    client = ws.app.test_client()
    bad = {**COMPLAINT, "content": "", "urgency": "sometimes", "title": "回电13812345678", "colour": "red"}
    refused = client.post("/api/v1/cases", json={"channel": "phone", "data": bad}, headers=bearer(key))
    assert refused.status_code == 400 and refused.mimetype == "application/problem+json"
    errors = {e["field"]: e for e in refused.get_json()["errors"]}
    assert errors["data/content"]["detail"] == "此项必填" and errors["data/content"]["pointer"] == "#/data/content"
    assert errors["data/urgency"]["detail"] == "请从列表中选择"
    assert errors["data/colour"]["detail"] == "表单中没有这一项"
    assert "data/title" in errors  # no phone numbers in a short text (the screen's rule)
    english = client.post("/api/v1/cases", json={"channel": "phone", "data": bad},
                          headers={**bearer(key), "Accept-Language": "en"}).get_json()
    assert {e["field"]: e["detail"] for e in english["errors"]}["data/content"] == "Required"
    for payload in ([1, 2], {"channel": "fax", "data": COMPLAINT}, {"channel": "phone", "data": "x"}):
        assert client.post("/api/v1/cases", json=payload, headers=bearer(key)).status_code == 400
    assert client.post("/api/v1/cases", data="{not json", headers=bearer(key)).status_code == 400
    township = client.post("/api/v1/cases", json={"channel": "township", "data": COMPLAINT}, headers=bearer(key))
    assert township.status_code == 403  # 民情难题 only from a township's own key
    assert _count(ws) == 0


def test_an_idempotency_key_registers_once(ws: Workspace) -> None:
    key = make_key(ws.app, "platform-bridge", "cases:write")
    client = ws.app.test_client()
    headers = {**bearer(key), "Idempotency-Key": "order-2026-0001"}
    first = client.post("/api/v1/cases", json={"channel": "phone", "data": COMPLAINT}, headers=headers)
    again = client.post("/api/v1/cases", json={"channel": "phone", "data": COMPLAINT}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json()["id"] == first.get_json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    other = client.post("/api/v1/cases", json={"channel": "visit", "data": COMPLAINT}, headers=headers)
    assert other.status_code == 422
    other_key = make_key(ws.app, "other-bridge", "cases:write")  # keys are per integration
    assert client.post("/api/v1/cases", json={"channel": "phone", "data": COMPLAINT},
                       headers={**bearer(other_key), "Idempotency-Key": "order-2026-0001"}).status_code == 201
    assert _count(ws) == 2


def test_simultaneous_repeats_register_one_case(ws: Workspace) -> None:
    key = make_key(ws.app, "racer", "cases:write")
    answers: list[int] = []
    start = threading.Barrier(3)

    def send() -> None:
        client = ws.app.test_client()
        start.wait()
        answers.append(client.post("/api/v1/cases", json={"channel": "phone", "data": COMPLAINT},
                                   headers={**bearer(key), "Idempotency-Key": "same-order"}).status_code)

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 201 in answers and set(answers) <= {201, 409}, answers
    assert _count(ws) == 1


def test_a_unit_key_sees_its_own_cases_as_its_handler_does(ws: Workspace) -> None:
    ours, theirs = ws.dispatched("sthj"), ws.dispatched("zjj")
    key = make_key(ws.app, "sthj-oa", "cases:read", "tasks", department="sthj")
    client = ws.app.test_client()
    listed = client.get("/api/v1/cases", headers=bearer(key)).get_json()
    assert [c["id"] for c in listed["items"]] == [ours.case_id] and listed["next"] is None
    assert client.get(f"/api/v1/cases/{theirs.case_id}", headers=bearer(key)).status_code == 404
    before = client.get(f"/api/v1/cases/{ours.case_id}", headers=bearer(key)).get_json()["requester"]
    assert before["mode"] == "masked" and "****" in before["phone"]
    sign_for = ws.office.task(ours, "sign_for")
    assert client.post(f"/api/v1/tasks/{sign_for.id}/claim", headers=bearer(key)).status_code == 200
    after = client.get(f"/api/v1/cases/{ours.case_id}", headers=bearer(key)).get_json()["requester"]
    assert after["mode"] == "contact" and FULL_PHONE.fullmatch(after["phone"])  # holding the contact task


def test_lists_page_by_cursor_and_take_the_search_filters(ws: Workspace) -> None:
    made = [ws.case(urgency="urgent" if n % 2 else "normal") for n in range(5)]
    key = make_key(ws.app, "reader", "cases:read")
    client = ws.app.test_client()
    seen: list[str] = []
    url: Any = "/api/v1/cases?limit=2"
    while url:
        page = client.get(url, headers=bearer(key))
        assert page.status_code == 200
        seen += [c["id"] for c in page.get_json()["items"]]
        url = page.get_json()["next"]
    assert sorted(seen) == sorted(s.case_id for s in made) and len(seen) == 5
    urgent = client.get("/api/v1/cases?urgency=urgent&limit=1", headers=bearer(key)).get_json()
    assert urgent["next"] and "urgency=urgent" in urgent["next"]
    following = client.get(urgent["next"], headers=bearer(key)).get_json()
    assert {c["urgency"] for c in urgent["items"] + following["items"]} == {"urgent"}
    assert following["next"] is None
    for query in ("cursor=garbage", "limit=0", "limit=101", "limit=%C2%B2", "limit=99999999999999999999999",
                  "urgency=sometimes", "date_from=2026-13-01", "number=%25%25"):
        refused = client.get(f"/api/v1/cases?{query}", headers=bearer(key))
        assert refused.status_code == 400, query
        assert refused.get_json()["errors"][0]["parameter"] in query


def test_reading_needs_the_read_scope_and_writing_the_write_scope(ws: Workspace) -> None:
    case = ws.case()
    writer, reader = make_key(ws.app, "writer", "cases:write"), make_key(ws.app, "reader", "cases:read")
    client = ws.app.test_client()
    assert client.get(f"/api/v1/cases/{case.case_id}", headers=bearer(writer)).status_code == 403
    assert client.post("/api/v1/cases", json={"channel": "phone", "data": COMPLAINT},
                       headers=bearer(reader)).status_code == 403
    assert client.get("/api/v1/cases/not-a-case", headers=bearer(reader)).status_code == 404
    history = client.get(f"/api/v1/instances/{case.instance_id}/history", headers=bearer(reader)).get_json()
    assert history["items"][0]["kind"] and history["next"] is None
    state = client.get(f"/api/v1/instances/{case.instance_id}", headers=bearer(reader)).get_json()
    assert state["status"] in ("waiting", "running") and state["current"]
