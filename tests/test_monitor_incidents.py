"""Incidents (故障): who sees them, the readable cause and failing element, retry one or many after a fix, audited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from processes.accounts.roles import ROLE_CODES
from processes.monitoring import incidents
from processes.runtime.handler_api import HandlerError
from processes.runtime.models import ProcessInstance
from tests.web_support import audit_rows
from tests.web_support import post
from tests.workspace_support import DISPATCH
from tests.workspace_support import Workspace
from tests.workspace_support import post_form
from tests.workspace_support import text
from webapp import runtime_of

INCIDENT_ROLES = {"supervisor", "duty_leader", "leader"}


class Gateway:
    """The SMS gateway behind outbox.send: down until fixed."""

    def __init__(self) -> None:
        self.down = True


@pytest.fixture
def gateway(ws: Workspace) -> Iterator[Gateway]:
    """Wrap the app's outbox.send handler so that it fails while the gateway is down."""
    rt = runtime_of(ws.app)
    original = rt.handlers
    spec = original["outbox.send"]
    state = Gateway()

    def send(ctx: Any, **params: Any) -> Any:
        if state.down:
            raise HandlerError("SMS gateway unreachable")
        return spec.fn(ctx, **params)

    rt.handlers = {**original, "outbox.send": replace(spec, fn=send)}
    ws.office.rt.handlers = rt.handlers  # the office's own runtime dispatches in the tests
    yield state
    rt.handlers = original


def failed_case(ws: Workspace) -> Any:
    """A case whose dispatch notice (短信通知承办单位) fails: the instance stops in error after 派单."""
    case = ws.case()
    ws.office.complete(case, "triage", DISPATCH)
    assert ws.office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "sthj"}) \
        == "error"
    return case


def status(ws: Workspace, instance_id: str) -> str:
    with runtime_of(ws.app).read() as db:
        row = db.get(ProcessInstance, instance_id)
    assert row is not None
    return row.status


def test_who_may_see_and_retry_incidents(ws: Workspace) -> None:
    for role in sorted(ROLE_CODES):
        unit = {"handler": "sthj", "township_reporter": "luxi"}.get(role)
        client = ws.user(f"in-{role}", role, department=unit)
        allowed = role in INCIDENT_ROLES
        assert client.get("/monitor/incidents").status_code == (200 if allowed else 403), role
        if not allowed:
            assert post_form(client, "/monitor/incidents/x/retry").status_code == 403, role
            assert post_form(client, "/monitor/incidents/retry", {"instance_id": "x"}).status_code == 403, role


def test_incident_shows_cause_element_case_and_retry_after_the_fix_runs_again(ws: Workspace,
                                                                              gateway: Gateway) -> None:
    case = failed_case(ws)
    client = ws.user("in-sup", "supervisor")
    page = text(client.get("/monitor/incidents"))
    row = page.split(f'data-incident="{case.instance_id}"')[1].split("</tr>")[0]
    assert str(case.case_number) in row
    assert "短信通知承办单位" in row and "notify_unit" in row  # the failing element, name and id
    assert "服务任务 outbox.send" in row and "执行失败：SMS gateway unreachable" in row
    assert "Traceback" not in page

    again = post_form(client, f"/monitor/incidents/{case.instance_id}/retry", page="/monitor/incidents")
    assert again.status_code == 303 and status(ws, case.instance_id) == "error"
    flashed = text(client.get("/monitor/incidents"))
    assert f"{case.case_number}：仍然故障：服务任务 outbox.send" in flashed

    gateway.down = False
    fixed = post_form(client, f"/monitor/incidents/{case.instance_id}/retry", page="/monitor/incidents")
    assert fixed.status_code == 303 and status(ws, case.instance_id) == "running"
    after = text(client.get("/monitor/incidents"))
    assert f"{case.case_number}：已恢复运行" in after and f'data-incident="{case.instance_id}"' not in after
    assert ws.office.open_ids(case) == ["sign_for"]
    rows = audit_rows(ws.app, "instance.retry")
    assert [(r["actor"], r["result"], r["object_id"]) for r in rows] == [
        ("in-sup", "success", case.instance_id)] * 2
    assert [r["after"] for r in rows] == [{"status": "error"}, {"status": "running"}]

    gone = post_form(client, f"/monitor/incidents/{case.instance_id}/retry", page="/monitor/incidents",
                     headers={"Accept": "application/json"})
    assert gone.status_code == 200 and gone.get_json()["results"][0]["status"] == "refused"  # no longer in error
    assert audit_rows(ws.app, "instance.retry")[-1]["result"] == "failure"


def test_retry_many_answers_per_instance(ws: Workspace, gateway: Gateway) -> None:
    first, second = failed_case(ws), failed_case(ws)
    running = ws.case()
    client = ws.user("in-sup", "supervisor")
    gateway.down = False
    answer = post_form(client, "/monitor/incidents/retry", {"instance_id": [first.instance_id, second.instance_id,
                                                                           running.instance_id]},
                       page="/monitor/incidents", headers={"Accept": "application/json"})
    assert answer.status_code == 200
    results = {r["instance_id"]: r for r in answer.get_json()["results"]}
    assert results[first.instance_id]["status"] == results[second.instance_id]["status"] == "running"
    assert results[running.instance_id]["status"] == "refused"
    assert "工单当前状态不允许此操作" in results[running.instance_id]["message"]
    assert status(ws, first.instance_id) == status(ws, second.instance_id) == "running"
    assert len([r for r in audit_rows(ws.app, "instance.retry") if r["result"] == "success"]) == 2


def test_incident_names_the_operator_in_the_users_language(ws: Workspace, gateway: Gateway) -> None:
    case = failed_case(ws)
    chinese = ws.user("in-zh", "supervisor")
    english = ws.user("in-en", "supervisor")
    post(english, "/lang", {"lang": "en"})
    row = text(english.get("/monitor/incidents")).split(f'data-incident="{case.instance_id}"')[1].split("</tr>")[0]
    assert "outbox.send（Send a message (outbox)）" in row and "发送消息" not in row
    row = text(chinese.get("/monitor/incidents")).split(f'data-incident="{case.instance_id}"')[1].split("</tr>")[0]
    assert "outbox.send（发送消息（发件箱））" in row


def test_bad_retry_requests(ws_lite: Workspace) -> None:
    client = ws_lite.user("in-sup", "supervisor")
    assert post_form(client, "/monitor/incidents/retry", {}).status_code == 400
    many = {"instance_id": [f"id-{n}" for n in range(101)]}
    assert post_form(client, "/monitor/incidents/retry", many).status_code == 400
    assert post_form(client, "/monitor/incidents/00000000-0000-0000-0000-000000000000/retry").status_code == 404
    missing = post_form(client, "/monitor/incidents/retry", {})
    assert "请至少勾选一个故障实例" in text(missing)


@pytest.mark.parametrize(("raw", "shown"), [
    ("outbox.send failed: SMS gateway unreachable",
     "服务任务 outbox.send（发送消息） 执行失败：SMS gateway unreachable"),
    ("expression 'x > 1' failed: NameError: x", "条件表达式 'x > 1' 计算失败：NameError: x"),
    ("more than 1000 engine steps in one command", "一次操作执行了超过 1000 个流程步骤（流程中可能有不等待的循环）"),
    ("Traceback (most recent call last):\n  File x", "流程执行出错（原因未记录）"),
    ("KeyError: 'unit'\nsecond line", "流程执行出错：KeyError: 'unit'"),
    (None, "流程执行出错（原因未记录）"),
])
def test_causes_read_in_chinese_without_tracebacks(raw: str | None, shown: str) -> None:
    assert incidents.readable(raw, {"outbox.send": "发送消息"}) == shown
    assert "\n" not in incidents.readable(raw)


def test_failed_element_is_read_from_the_instance_error() -> None:
    assert incidents.failed_element("task notify_unit failed") == "notify_unit"
    assert incidents.failed_element("engine stalled with task gw_1 ready") == "gw_1"
    assert incidents.failed_element(None) == ""
    assert re.fullmatch(r"\w+", incidents.failed_element("task a_b failed"))
