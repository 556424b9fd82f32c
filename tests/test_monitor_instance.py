"""The instance page (流程图): who may open it, and the overlays it draws from the instance's own snapshot.

A case at 签收 shows its token on sign_for inside the 部门办理 run of its unit, with the 签收超时 timer's due time
from timer_job; two units give two runs; a failing service task marks its element in error; the history is the
case page's, masked.
"""

from __future__ import annotations

import dataclasses
import html as htmllib
import re
from typing import Any

import pytest
import sqlalchemy as sa

import handlers
from processes.accounts.roles import ROLE_CODES
from processes.runtime.models import ProcessInstance
from processes.runtime.models import TimerJob
from tests.workspace_support import FULL_PHONE
from tests.workspace_support import Workspace
from tests.workspace_support import text

OFFICE = {"supervisor", "duty_leader", "leader"}


def state(ws: Workspace, client: Any, instance_id: str) -> dict[str, Any]:
    """The overlay JSON of an instance, checked to be the same the page embeds."""
    response = client.get(f"/monitor/instances/{instance_id}/state")
    assert response.status_code == 200
    data: dict[str, Any] = response.get_json()
    page = text(client.get(f"/monitor/instances/{instance_id}"))
    embedded = re.search(r'<script type="application/json" id="diagram-state">(.*?)</script>', page, re.S)
    assert embedded is not None
    return data


def view(data: dict[str, Any], process_id: str, unit_label: str | None = None) -> dict[str, Any]:
    """The one view of a process (and unit label) in the overlay data."""
    found = [v for v in data["views"] if v["process_id"] == process_id
             and (unit_label is None or v["label"].endswith(unit_label))]
    assert len(found) == 1, [(v["process_id"], v["label"]) for v in data["views"]]
    return found[0]


def test_who_may_open_an_instance(ws_lite: Workspace) -> None:
    ws = ws_lite
    case = ws.dispatched("sthj")
    paths = [f"/monitor/instances/{case.instance_id}", f"/monitor/instances/{case.instance_id}/state",
             f"/monitor/instances/{case.instance_id}/diagram/department_handling"]
    for role in sorted(ROLE_CODES):
        unit = {"handler": "sthj", "township_reporter": "luxi"}.get(role)
        client = ws.user(f"u-{role}", role, department=unit)
        expected = 200 if role in OFFICE | {"handler"} else 403
        for path in paths:
            assert client.get(path).status_code == expected, (role, path)
    other_unit = ws.user("h-zjj", "handler", department="zjj")
    for path in paths:
        assert other_unit.get(path).status_code == 404, path  # another unit's case: as if absent
    supervisor = ws.clients["u-supervisor"]
    assert supervisor.get("/monitor/instances/no-such-id").status_code == 404
    assert supervisor.get("/monitor/instances/" + "x" * 200).status_code == 404
    assert supervisor.get(f"/monitor/instances/{case.instance_id}/diagram/nowhere").status_code == 404
    xml = supervisor.get(f"/monitor/instances/{case.instance_id}/diagram/department_handling")
    assert xml.mimetype == "application/xml" and 'id="sign_for"' in text(xml)


def test_a_case_at_sign_for_shows_its_token_in_the_units_subprocess_with_the_timer_due(ws: Workspace) -> None:
    case = ws.dispatched("sthj")
    supervisor = ws.user("sv", "supervisor")
    data = state(ws, supervisor, case.instance_id)
    top, lifecycle = data["views"][0], view(data, "case_lifecycle")
    unit = view(data, "department_handling", "区生态环境分局")
    assert top["parent"] is None and top["elements"]["lifecycle"] == "active"
    assert lifecycle["parent"] == top["key"] and lifecycle["called_from"] == "lifecycle"
    assert top["calls"] == {"lifecycle": [lifecycle["key"]]}
    assert lifecycle["calls"] == {"units_handling": [unit["key"]]}
    assert lifecycle["elements"]["triage"] == "completed" and lifecycle["elements"]["dispatch"] == "completed"
    assert lifecycle["elements"]["units_handling"] == "active"
    assert "f_dispatch_gw_dispatch_mode" in lifecycle["flows"]
    assert unit["elements"]["sign_for"] == "token"
    assert unit["elements"]["notify_unit"] == "completed" and unit["elements"]["sign_late"] == "timer"
    assert [k for k, s in unit["elements"].items() if s == "token"] == ["sign_for"]
    assert "f_notify_unit_sign_for" in unit["flows"] and "f_gw_sign_merge_signed" not in unit["flows"]
    with ws.office.rt.read() as db:
        due = db.scalar(sa.select(TimerJob.due_at).where(TimerJob.instance_id == case.instance_id,
                                                         TimerJob.bpmn_id == "sign_late", TimerJob.status == "pending"))
    assert due is not None
    [badge] = [b for b in unit["badges"] if b["kind"] == "timer"]
    assert badge["element"] == "sign_late" and badge["due"] == due.isoformat()
    assert badge["text"] == "11-26 23:59"  # the timer_job due time, in Beijing time
    assert "剩余" in badge["title"]


def test_two_units_give_two_runs_of_the_called_process(ws_lite: Workspace) -> None:
    ws = ws_lite
    case = ws.case()
    ws.office.complete(case, "triage", {"request_type": "complaint", "urgency": "normal",
                                        "triage_result": "dispatch"})
    ws.office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "sthj",
                                          "assisting_departments": ["zjj"]})
    ws.office.complete(case, "sign_for", {"sign_decision": "sign"}, department="zjj")
    supervisor = ws.user("sv", "supervisor")
    data = state(ws, supervisor, case.instance_id)
    lead, assisting = view(data, "department_handling", "区生态环境分局"), view(data, "department_handling", "住建局")
    assert view(data, "case_lifecycle")["calls"]["units_handling"] == [lead["key"], assisting["key"]] or \
        sorted(view(data, "case_lifecycle")["calls"]["units_handling"]) == sorted([lead["key"], assisting["key"]])
    assert lead["elements"]["sign_for"] == "token"
    assert assisting["elements"]["sign_for"] == "completed"  # signed: its token moved on to the reply
    assert assisting["elements"]["reply"] == "token" and "reply" not in lead["elements"]
    page = text(supervisor.get(f"/monitor/instances/{case.instance_id}"))
    assert page.count('data-view="') == len(data["views"]) == 4


def test_a_failing_service_task_is_marked_in_error(ws_lite: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = ws_lite
    case = ws.case()
    ws.office.complete(case, "triage", {"request_type": "complaint", "urgency": "normal",
                                        "triage_result": "dispatch"})

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("时限规则表不可用 13812345678")

    spec = handlers.REGISTRY["deadline.compute"]
    monkeypatch.setitem(handlers.REGISTRY, "deadline.compute", dataclasses.replace(spec, fn=broken))
    task = ws.office.task(case, "dispatch")
    from processes.runtime import commands
    commands.complete_task(ws.office.rt, task.instance_id, task.id,
                           {"dispatch_mode": "department", "lead_department": "sthj"}, actor="user1")
    with ws.office.rt.read() as db:
        row = db.get(ProcessInstance, case.instance_id)
        assert row is not None and row.status == "error"
    supervisor = ws.user("sv", "supervisor")
    data = state(ws, supervisor, case.instance_id)
    unit = view(data, "department_handling")
    assert unit["elements"]["sign_deadline"] == "error"
    [badge] = [b for b in unit["badges"] if b["kind"] == "error"]
    assert badge["element"] == "sign_deadline" and "13812345678" not in badge["title"]
    page = text(supervisor.get(f"/monitor/instances/{case.instance_id}"))
    assert "故障原因" in page and "13812345678" not in page


def test_history_beside_the_diagram_is_the_case_pages_masked(ws_lite: Workspace) -> None:
    ws = ws_lite
    case = ws.dispatched("sthj")
    ws.office.complete(case, "sign_for", {"sign_decision": "return",
                                          "return_reason": "不属本单位职责，请联系13812345678核实"},
                       department="sthj")
    supervisor = ws.user("sv", "supervisor")
    page = htmllib.unescape(text(supervisor.get(f"/monitor/instances/{case.instance_id}")))
    assert "办理过程" in page and "签收" in page
    assert "不属本单位职责" in page  # the return reason is the decision's content
    assert not FULL_PHONE.search(page)
    assert "monitor/_interventions.html" not in page


def test_the_case_page_links_its_diagram_for_those_who_may_open_it(ws_lite: Workspace) -> None:
    ws = ws_lite
    case = ws.dispatched("sthj")
    link = f'href="/monitor/instances/{case.instance_id}"'
    for username, role, unit, shown in (("sv", "supervisor", None, True), ("h1", "handler", "sthj", True),
                                        ("op", "operator", None, False)):
        client = ws.user(username, role, department=unit)
        page = text(client.get(f"/cases/{case.case_id}"))
        assert (link in page) is shown, role
        assert ("流程图" in page) is shown, role


def test_an_unreadable_snapshot_still_shows_the_history(ws_lite: Workspace) -> None:
    ws = ws_lite
    case = ws.dispatched("sthj")
    with ws.office.rt.write() as db, db.begin():
        db.execute(sa.update(ProcessInstance).where(ProcessInstance.id == case.instance_id).values(snapshot="{}"))
    supervisor = ws.user("sv", "supervisor")
    page = text(supervisor.get(f"/monitor/instances/{case.instance_id}"))
    assert "办理过程" in page and "流程图无法显示" in page
    assert supervisor.get(f"/monitor/instances/{case.instance_id}/state").get_json()["views"] == []
