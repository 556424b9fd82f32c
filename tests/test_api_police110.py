"""The 110 exchange (POST /api/v1/police110/incidents): one case per 警情编号, also under concurrent repeats;
problems for bad bodies; 受理, 退回 and 办结 leave through the outbox on the police110 channel with the 警情编号.
On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa
from werkzeug.test import TestResponse

from processes.audit.models import AuditLog
from processes.cases.models import Case
from processes.cases.models import Requester
from processes.errors import AlreadyRegistered
from processes.runtime import commands
from processes.runtime.models import OutboxMessage
from processes.runtime.models import ProcessInstance
from tests.api_support import bearer
from tests.api_support import make_key
from tests.lifecycle_support import REPLY
from tests.workspace_support import Workspace
from webapp import runtime_of

URL = "/api/v1/police110/incidents"
INCIDENT = {"incident_no": "JJ20261125-0042", "content": "商铺音响扰民，报警人要求处理", "urgency": "urgent",
            "township": "beiao", "category": "噪音扰民", "location": "北岙街道中心街", "caller_name": "李四",
            "caller_phone": "13912345678"}


def send(ws: Workspace, key: str, body: Any) -> TestResponse:
    """Post an incident as 110 would."""
    return ws.app.test_client().post(URL, json=body, headers=bearer(key))


def cases(ws: Workspace) -> list[Case]:
    """Every case, oldest first."""
    with runtime_of(ws.app).read() as db:
        return list(db.scalars(sa.select(Case).order_by(Case.created_at, Case.number)))


def started(ws: Workspace, case_id: str) -> commands.Started:
    """The case as the office helpers take it."""
    with runtime_of(ws.app).read() as db:
        case = db.get(Case, case_id)
        instance = db.scalar(sa.select(ProcessInstance.id).where(ProcessInstance.case_id == case_id))
    assert case is not None and instance is not None
    return commands.Started(instance, case.id, case.number, "waiting")


def police110_messages(ws: Workspace, case_id: str) -> list[OutboxMessage]:
    """The messages to 110 queued for a case, in order."""
    with runtime_of(ws.app).read() as db:
        return list(db.scalars(sa.select(OutboxMessage).where(
            OutboxMessage.case_id == case_id, OutboxMessage.channel == "police110").order_by(OutboxMessage.id)))


def test_an_incident_opens_one_110_case_and_a_repeat_answers_that_case(ws: Workspace) -> None:
    key = make_key(ws.app, "gaj-110", "police110")
    first = send(ws, key, INCIDENT)
    assert first.status_code == 201, first.get_data(as_text=True)
    body = first.get_json()
    assert body["created"] is True and body["incident_no"] == INCIDENT["incident_no"]
    [case] = cases(ws)
    assert (body["case_id"], body["case_number"]) == (case.id, case.number)
    assert (case.channel, case.upstream_order_id, case.urgency, case.township, case.category) == (
        "police110", "JJ20261125-0042", "urgent", "beiao", "噪音扰民")
    assert ws.office.open_ids(started(ws, case.id)) == ["accept_110"]  # 110移交受理 within its limit
    with runtime_of(ws.app).read() as db:
        requester = db.get(Requester, case.requester_id)
        snapshot = db.scalar(sa.select(ProcessInstance.snapshot).where(ProcessInstance.case_id == case.id))
        audit = db.scalar(sa.select(AuditLog).where(AuditLog.action == "case.register"))
    assert requester is not None and requester.phone_last4 == "5678" and "13912345678" not in str(requester.phone)
    assert snapshot is not None and "13912345678" not in snapshot and "李四" not in snapshot
    assert audit is not None and audit.actor == "api:gaj-110" and audit.object_id == case.number
    again = send(ws, key, {**INCIDENT, "content": "重复推送，内容不同"})
    assert again.status_code == 200 and again.get_json() == {**body, "created": False}
    [same] = cases(ws)
    assert same.id == case.id and same.content == INCIDENT["content"]  # the first hand-over stands


def test_an_incident_registered_on_the_110_screen_is_not_opened_twice(ws: Workspace) -> None:
    key = make_key(ws.app, "gaj-110", "police110")
    by_hand = ws.office.open("case_110", "police110", upstream_order_id="JJ20261125-0099", urgency="normal")
    answer = send(ws, key, {"incident_no": "JJ20261125-0099", "content": "同一警情"})
    assert answer.status_code == 200 and answer.get_json()["case_id"] == by_hand.case_id
    other_channel = ws.office.open("case_platform", "platform", upstream_order_id="JJ20261125-0100")
    fresh = send(ws, key, {"incident_no": "JJ20261125-0100", "content": "编号与平台工单相同的警情"})
    assert fresh.status_code == 201 and fresh.get_json()["case_id"] != other_channel.case_id  # only 110 numbers


def test_concurrent_repeats_of_one_incident_make_one_case(ws: Workspace) -> None:
    key = make_key(ws.app, "gaj-110", "police110")
    contenders = 6
    barrier = threading.Barrier(contenders)
    answers: list[TestResponse | BaseException] = [RuntimeError("not run")] * contenders

    def push(i: int) -> None:
        client = ws.app.test_client()
        barrier.wait(timeout=30)
        try:
            answers[i] = client.post(URL, json=INCIDENT, headers=bearer(key))
        except BaseException as exc:  # a crash must fail the test, not vanish in the thread
            answers[i] = exc

    threads = [threading.Thread(target=push, args=(i,)) for i in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    responses = [a for a in answers if isinstance(a, TestResponse)]
    assert len(responses) == contenders, answers
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * (contenders - 1) + [201], [r.get_data(as_text=True) for r in responses]
    assert len({r.get_json()["case_id"] for r in responses}) == 1
    assert len(cases(ws)) == 1
    with runtime_of(ws.app).read() as db:
        instances = db.scalar(sa.select(sa.func.count()).select_from(ProcessInstance))
    assert instances == 1  # the losers' starts rolled back with their registration


def test_bad_bodies_answer_problem_details_and_register_nothing(ws: Workspace) -> None:
    key = make_key(ws.app, "gaj-110", "police110")
    reader = make_key(ws.app, "reader", "open311")
    client = ws.app.test_client()
    assert client.post(URL, json=INCIDENT).status_code == 401
    assert client.post(URL, json=INCIDENT, headers=bearer(reader)).status_code == 403
    refused = client.post(URL, data="not json", headers={**bearer(key), "Content-Type": "application/json"})
    assert refused.status_code == 400 and refused.mimetype == "application/problem+json"
    assert {e["field"] for e in refused.get_json()["errors"]} >= {"_body"}
    for change, field, text in (
            ({"incident_no": None}, "incident_no", "此项必填"), ({"content": ""}, "content", "此项必填"),
            ({"incident_no": "JJ 2026/11"}, "incident_no", "格式不正确"),
            ({"urgency": "asap"}, "urgency", "请从列表中选择"),
            ({"caller_phone": "call me"}, "caller_phone", "格式不正确"), ({"content": 42}, "content", "格式不正确"),
            ({"content": "长" * 4001}, "content", "4000"), ({"priority": "high"}, "priority", "表单中没有这一项")):
        answer = client.post(URL, json={**INCIDENT, **change}, headers=bearer(key))
        assert answer.status_code == 400, (change, answer.get_data(as_text=True))
        problem = answer.get_json()
        assert problem["status"] == 400 and problem["instance"] == URL
        found = {e["field"]: e["detail"] for e in problem["errors"]}
        assert field in found and text in found[field], (change, found)
    assert cases(ws) == []
    english = client.post(URL, json={**INCIDENT, "content": ""}, headers={**bearer(key), "Accept-Language": "en"})
    assert english.get_json()["errors"][0]["detail"] == "Required"  # the callers' language, as the pages


def test_acceptance_return_and_closure_go_back_to_110_with_the_incident_number(ws: Workspace) -> None:
    key = make_key(ws.app, "gaj-110", "police110")
    accepted = send(ws, key, INCIDENT).get_json()
    returned = send(ws, key, {**INCIDENT, "incident_no": "JJ20261125-0043", "content": "涉嫌治安案件"}).get_json()
    office = ws.office
    one = started(ws, accepted["case_id"])
    office.complete(one, "accept_110", {"accepted": True})
    office.complete(one, "dispatch", {"dispatch_mode": "department", "lead_department": "zhzf"})
    office.complete(one, "sign_for", {"sign_decision": "sign"}, department="zhzf")
    office.complete(one, "reply", REPLY, department="zhzf")
    office.complete(one, "review", {"review_result": "accept"})
    office.complete(one, "callback", {"callback_result": "satisfied", "solved": True})
    office.complete(one, "publish_review", {"publish": False})
    two = started(ws, returned["case_id"])
    office.complete(two, "accept_110", {"accepted": False, "return_reason": "涉及治安案件，属警务范围"})
    first, closure = police110_messages(ws, one.case_id or "")
    [back] = police110_messages(ws, two.case_id or "")
    assert [(m.kind, m.payload["incident_no"]) for m in (first, closure, back)] == [
        ("first_response", "JJ20261125-0042"), ("closure", "JJ20261125-0042"), ("returned", "JJ20261125-0043")]
    assert all(m.payload["schema"] == "hotline.outbox.police110" and m.payload["to"]["code"] == "110"
               for m in (first, closure, back))
    assert (first.payload["result"]["outcome"], closure.payload["result"]["outcome"],
            back.payload["result"]["outcome"]) == ("accepted", "closed", "returned")
    assert "reason" in back.payload["personal"] and "涉及治安案件" not in str(back.payload)  # read when sent
    assert office.case(two).status == "returned_to_110"
    again = send(ws, key, {**INCIDENT, "incident_no": "JJ20261125-0043", "content": "再次推送"})
    assert again.status_code == 200 and again.get_json()["status"] == "returned_to_110"  # no second case


def test_the_operation_is_in_the_openapi_document_with_its_scope(ws: Workspace) -> None:
    document = ws.app.test_client().get("/api/openapi.json").get_json()
    operation = document["paths"]["/api/v1/police110/incidents"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["incident_no", "content"] and "caller_phone" in body["properties"]
    assert {"201", "200"} <= set(operation["responses"]) and operation["x-scope"] == "police110"
    assert operation["responses"]["200"]["content"] == operation["responses"]["201"]["content"]


def test_a_repeat_on_the_110_screen_names_the_case_that_has_the_incident(ws: Workspace) -> None:
    first = ws.office.open("case_110", "police110", upstream_order_id="JJ20261125-0123", urgency="normal")
    with pytest.raises(AlreadyRegistered) as refused:
        ws.office.open("case_110", "police110", upstream_order_id="JJ20261125-0123", urgency="normal")
    assert refused.value.case_number == first.case_number and refused.value.http_status == 409
    assert [c.number for c in cases(ws)] == [first.case_number]  # nothing registered by the repeat
