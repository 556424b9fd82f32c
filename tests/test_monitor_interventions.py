"""Interventions (干预): roles, reasons, one audited transaction each, 409 on a lost race, 催办 and 改派 on the case."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import render_template

from processes.accounts.roles import ROLE_CODES
from processes.reference.models import CaseDeadline
from processes.runtime import assignment
from processes.runtime import control
from processes.runtime.models import HistoryEvent
from processes.runtime.models import HumanTask
from processes.runtime.models import OutboxMessage
from processes.runtime.models import ProcessInstance
from processes.runtime.models import TimerJob
from tests.lifecycle_support import at
from tests.web_support import audit_rows
from tests.workspace_support import Workspace
from tests.workspace_support import post_form
from tests.workspace_support import text
from webapp import runtime_of

ALLOWED = {"supervisor", "duty_leader", "leader"}
ROUTES = ("/monitor/instances/{i}/suspend", "/monitor/instances/{i}/resume", "/monitor/instances/{i}/terminate",
          "/monitor/instances/{i}/deadline", "/monitor/tasks/{t}/urge", "/monitor/tasks/{t}/reassign")


def row(ws: Workspace, instance_id: str) -> ProcessInstance:
    with runtime_of(ws.app).read() as db:
        found = db.get(ProcessInstance, instance_id)
    assert found is not None
    return found


def task(ws: Workspace, task_id: str) -> HumanTask:
    with runtime_of(ws.app).read() as db:
        found = db.get(HumanTask, task_id)
    assert found is not None
    return found


def history(ws: Workspace, instance_id: str, kind: str) -> list[HistoryEvent]:
    with runtime_of(ws.app).read() as db:
        return list(db.scalars(sa.select(HistoryEvent).where(HistoryEvent.instance_id == instance_id,
                                                             HistoryEvent.kind == kind).order_by(HistoryEvent.id)))


def act(client: Any, path: str, ws: Workspace, instance_id: str, **form: str) -> Any:
    """POST an intervention with the version the page would show (unless the form gives one)."""
    data = {"version": str(row(ws, instance_id).version), **form}
    return post_form(client, path, data, page="/monitor/instances")


def test_only_supervisors_duty_leaders_and_leaders_intervene(ws: Workspace) -> None:
    case = ws.dispatched("sthj")
    sign = ws.office.task(case, "sign_for")
    for role in sorted(ROLE_CODES - ALLOWED):
        client = ws.user(f"iv-{role}", role, department={"handler": "sthj", "township_reporter": "luxi"}.get(role))
        for path in ROUTES:
            url = path.format(i=case.instance_id, t=sign.id)
            assert act(client, url, ws, case.instance_id, reason="x").status_code == 403, (role, url)
    assert row(ws, case.instance_id).status == "running"
    assert not audit_rows(ws.app, "instance.suspend") and not audit_rows(ws.app, "task.urge")


def test_suspend_resume_terminate_each_need_a_reason_and_are_audited(ws: Workspace) -> None:
    case = ws.dispatched("sthj")
    base = f"/monitor/instances/{case.instance_id}"
    client = ws.user("iv-sup", "duty_leader")
    empty = act(client, base + "/suspend", ws, case.instance_id, reason="  ")
    assert empty.status_code == 400 and "请填写理由" in text(empty)
    phone = act(client, base + "/suspend", ws, case.instance_id, reason="请联系13812345678")
    assert phone.status_code == 400 and "电话号码" in text(phone)
    assert post_form(client, base + "/suspend", {"reason": "x"}).status_code == 400  # no version: stale form
    assert row(ws, case.instance_id).status == "running"

    for action, status in (("suspend", "suspended"), ("resume", "running"), ("terminate", "terminated")):
        answer = act(client, f"{base}/{action}", ws, case.instance_id, reason=f"{action}理由")
        assert answer.status_code == 303, action
        assert row(ws, case.instance_id).status == status
        [audit] = audit_rows(ws.app, f"instance.{action}")
        assert (audit["actor"], audit["result"], audit["object_id"]) == ("iv-sup", "success", case.instance_id)
        assert audit["detail"]["reason"] == f"{action}理由" and audit["after"] == {"status": status}
        [event] = history(ws, case.instance_id, {"suspend": "suspended", "resume": "resumed",
                                                  "terminate": "terminated"}[action])
        assert event.actor == "iv-sup" and event.detail["reason"] == f"{action}理由"
    assert ws.office.tasks(case.case_id) == []
    unknown = act(client, "/monitor/instances/nope/suspend", ws, case.instance_id, reason="x")
    assert unknown.status_code == 404


def test_a_change_made_meanwhile_is_a_lost_race_409_and_nothing_changes(ws: Workspace) -> None:
    case = ws.dispatched("sthj")
    client = ws.user("iv-sup", "supervisor")
    seen = str(row(ws, case.instance_id).version)
    sign = ws.office.task(case, "sign_for")
    ws.office.complete(case, "sign_for", {"sign_decision": "sign"}, department="sthj")  # meanwhile
    for path, form in ((f"/monitor/instances/{case.instance_id}/suspend", {}),
                       (f"/monitor/tasks/{sign.id}/urge", {"assignee_seen": ""}),
                       (f"/monitor/tasks/{sign.id}/reassign", {"to_unit": "zjj"})):
        answer = post_form(client, path, {"version": seen, "reason": "督办", **form}, page="/monitor/instances")
        assert answer.status_code == 409, path
    assert row(ws, case.instance_id).status == "running"
    assert [r["result"] for r in audit_rows(ws.app, "instance.suspend")] == ["failure"]
    assert not history(ws, case.instance_id, "suspended") and not history(ws, case.instance_id, "urged")

    reply = ws.office.task(case, "reply")
    version = str(row(ws, case.instance_id).version)
    assignment.claim(runtime_of(ws.app), case.instance_id, reply.id, actor="someone")  # claimed meanwhile
    urged = post_form(client, f"/monitor/tasks/{reply.id}/urge",
                      {"version": version, "reason": "督办", "assignee_seen": ""}, page="/monitor/instances")
    assert urged.status_code == 409
    assert [r["result"] for r in audit_rows(ws.app, "task.urge")] == ["failure", "failure"]


def test_urge_reaches_the_holder_through_the_outbox_and_shows_on_the_case_page(ws: Workspace) -> None:
    case = ws.dispatched("sthj")
    sign = ws.office.task(case, "sign_for")
    client = ws.user("iv-sup", "supervisor")
    answer = act(client, f"/monitor/tasks/{sign.id}/urge", ws, case.instance_id, reason="请今日内签收",
                 assignee_seen="")
    assert answer.status_code == 303
    with runtime_of(ws.app).read() as db:
        [message] = db.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "manual_urging"))
    assert (message.channel, message.case_id, message.payload["to"]["code"]) == ("internal", case.case_id, "sthj")
    assert "请今日内签收" in message.payload["text"] and str(case.case_number) in message.payload["text"]
    [event] = history(ws, case.instance_id, "urged")
    assert (event.actor, event.task_id, event.detail["reason"]) == ("iv-sup", sign.id, "请今日内签收")
    [audit] = audit_rows(ws.app, "task.urge")
    assert (audit["actor"], audit["object_id"], audit["detail"]["reason"]) == ("iv-sup", sign.id, "请今日内签收")
    page = text(client.get(f"/cases/{case.case_id}"))
    assert "催办" in page and "请今日内签收" in page


def test_hand_over_to_a_person_or_reassign_to_another_unit(ws: Workspace) -> None:
    case = ws.dispatched("sthj")
    sign = ws.office.task(case, "sign_for")
    client = ws.user("iv-sup", "supervisor")
    ws.user("h-sthj", "handler", department="sthj")
    ws.user("h-zjj", "handler", department="zjj")
    url = f"/monitor/tasks/{sign.id}/reassign"
    wrong = act(client, url, ws, case.instance_id, reason="请假", to_user="h-zjj", assignee_seen="")
    assert wrong.status_code == 400  # another unit's handler cannot take a unit's task
    both = act(client, url, ws, case.instance_id, reason="请假", to_user="h-sthj", to_unit="zjj", assignee_seen="")
    assert both.status_code == 400
    assert act(client, url, ws, case.instance_id, reason="请假", to_unit="nowhere", assignee_seen="").status_code \
        == 400
    person = act(client, url, ws, case.instance_id, reason="原经办人请假", to_user="h-sthj", assignee_seen="")
    assert person.status_code == 303 and task(ws, sign.id).assignee == "h-sthj"

    unit = act(client, url, ws, case.instance_id, reason="职责调整", to_unit="zjj", assignee_seen="h-sthj")
    assert unit.status_code == 303
    moved = task(ws, sign.id)
    assert (moved.department, moved.assignee, moved.status) == ("zjj", None, "open")
    assert ws.office.case(case).lead_department == "zjj"
    with runtime_of(ws.app).read() as db:
        units = set(db.scalars(sa.select(CaseDeadline.unit).where(CaseDeadline.instance_id == case.instance_id,
                                                                  CaseDeadline.stage == "sign_for")))
    assert units == {"zjj"}
    audits = audit_rows(ws.app, "task.reassign")
    assert [(a["result"], a["detail"].get("assignee"), a["detail"].get("department")) for a in audits] == [
        ("success", "h-sthj", None), ("success", None, "zjj")]
    assert ws.office.complete(case, "sign_for", {"sign_decision": "sign"}, department="zjj") == "running"
    assert ws.office.task(case, "reply").department == "zjj"  # the unit's round goes on at the new unit
    page = text(client.get(f"/cases/{case.case_id}"))
    assert "职责调整" in page

    office = ws.case()  # an office task (初审) has no unit: only a person can take it
    triage = ws.office.task(office, "triage")
    refused = act(client, f"/monitor/tasks/{triage.id}/reassign", ws, office.instance_id, reason="改派",
                  to_unit="zjj", assignee_seen="")
    assert refused.status_code == 400 and "只能转交给个人" in text(refused)


def test_moving_the_handling_deadline_moves_the_case_deadline_and_its_light(ws: Workspace) -> None:
    case = ws.dispatched("sthj")
    ws.office.complete(case, "sign_for", {"sign_decision": "sign"}, department="sthj")
    with runtime_of(ws.app).read() as db:
        red = db.scalar(sa.select(TimerJob).where(TimerJob.instance_id == case.instance_id,
                                                  TimerJob.bpmn_id == "red_timer", TimerJob.status == "pending"))
        yellow = db.scalar(sa.select(TimerJob.due_at).where(TimerJob.instance_id == case.instance_id,
                                                            TimerJob.bpmn_id == "yellow_timer"))
    assert red is not None and yellow is not None
    ws.office.run_until(yellow + timedelta(minutes=1))
    assert ws.office.case(case).warning_level == "yellow"
    client = ws.user("iv-sup", "leader")  # signed in now: the clock moved days on
    url = f"/monitor/instances/{case.instance_id}/deadline"
    past = act(client, url, ws, case.instance_id, timer=red.task_id, due="2026-11-20T10:00", reason="延后")
    assert past.status_code == 400
    bad = act(client, url, ws, case.instance_id, timer=red.task_id, due="soon", reason="延后")
    assert bad.status_code == 400
    unknown = act(client, url, ws, case.instance_id, timer="nope", due="2026-12-31T17:00", reason="延后")
    assert unknown.status_code == 400
    moved = act(client, url, ws, case.instance_id, timer=red.task_id, due="2026-12-31T17:00", reason="领导批准延后")
    assert moved.status_code == 303
    new_due = at("2026-12-31T17:00:00")
    current = ws.office.case(case)
    assert current.deadline == new_due and current.warning_level == "none"
    assert ws.office.task(case, "reply").due_at == new_due
    [audit] = audit_rows(ws.app, "instance.reschedule")
    assert audit["detail"]["reason"] == "领导批准延后" and audit["actor"] == "iv-sup"
    [event] = history(ws, case.instance_id, "timers_rescheduled")
    assert event.detail["reason"] == "领导批准延后"


def test_the_partial_offers_every_intervention_with_what_the_page_saw(ws_lite: Workspace) -> None:
    case = ws_lite.dispatched("sthj")
    ws_lite.user("h-sthj", "handler", department="sthj", real_name="孙承办")
    instance = row(ws_lite, case.instance_id)
    sign = ws_lite.office.task(case, "sign_for")
    with ws_lite.app.test_request_context(f"/monitor/instances/{case.instance_id}"):
        html = render_template("monitor/_interventions.html", instance=instance, open_tasks=[sign], case=None)
    for endpoint in ("suspend", "terminate", "deadline"):
        assert f"/monitor/instances/{case.instance_id}/{endpoint}" in html
    assert f"/monitor/tasks/{sign.id}/urge" in html and f"/monitor/tasks/{sign.id}/reassign" in html
    assert f'name="version" value="{instance.version}"' in html and 'name="assignee_seen" value=""' in html
    assert "孙承办" in html and 'value="zjj"' in html and 'value="sthj"' not in html.split("to_unit")[1]
    assert "/resume" not in html  # only a suspended instance resumes
    control.suspend(runtime_of(ws_lite.app), case.instance_id, actor="x", reason="y")
    with ws_lite.app.test_request_context("/"):
        html = render_template("monitor/_interventions.html", instance=row(ws_lite, case.instance_id),
                               open_tasks=[sign], case=None)
    assert "/resume" in html and "/suspend" not in html and "/urge" not in html


@pytest.mark.parametrize("reason", ["", "x" * 201, "身份证110101199003071234"])
def test_bad_reasons_answer_400(ws_lite: Workspace, reason: str) -> None:
    case = ws_lite.dispatched("sthj")
    sign = ws_lite.office.task(case, "sign_for")
    client = ws_lite.user("iv-sup", "supervisor")
    answer = act(client, f"/monitor/tasks/{sign.id}/urge", ws_lite, case.instance_id, reason=reason,
                 assignee_seen="")
    assert answer.status_code == 400
    assert not audit_rows(ws_lite.app, "task.urge")
