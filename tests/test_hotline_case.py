"""The product diagram bpmn/hotline_case (工单办理) run through the runtime on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import handlers
from processes import commands
from processes import definitions
from processes import engine
from processes.clock import FrozenClock
from processes.engine import runtime as wfops
from processes.models import Case
from processes.models import CaseText
from processes.models import HistoryEvent
from processes.models import HumanTask
from processes.models import ProcessInstance
from processes.runtime import Runtime

BUNDLE = Path(__file__).resolve().parent.parent / "bpmn" / "hotline_case"
INTAKE: dict[str, str] = {
    "request_type": "complaint", "urgency": "urgent", "township": "北岙街道",
    "requester_phone": "13812345678", "content": "楼下工地夜间施工噪音",
}
REPLY: dict[str, Any] = {
    "claim_true": True, "solved": True, "reply_text": "已责令工地夜间停工", "contact_record": "电话联系诉求人",
    "public_reply": "经核查，已责令施工单位夜间停止作业。",
}


@pytest.fixture
def rt(runtime: Runtime) -> Runtime:
    """A runtime with the hotline_case bundle deployed and published."""
    with runtime.write() as session, session.begin():
        definitions.deploy(session, "hotline_case", definitions.read_bundle_dir(BUNDLE), actor="analyst",
                           now=runtime.clock(), operators=handlers.REGISTRY, publish=True)
    return runtime


def open_case(rt: Runtime, **changes: Any) -> commands.Started:
    """Register a case from the intake data, with changes."""
    return commands.open_case(rt, "hotline_case", {**INTAKE, **changes}, actor="op1", channel="phone")


def open_tasks(rt: Runtime, instance_id: str) -> dict[str, HumanTask]:
    """Open human tasks of an instance by BPMN id."""
    with rt.read() as session:
        rows = list(session.scalars(sa.select(HumanTask).where(
            HumanTask.instance_id == instance_id, HumanTask.status == "open")))
    by_id = {row.bpmn_id: row for row in rows}
    assert len(by_id) == len(rows), "two open tasks with one BPMN id"
    return by_id


def complete(rt: Runtime, started: commands.Started, bpmn_id: str, data: Mapping[str, Any],
             actor: str = "user1") -> str:
    """Complete the one open task with this BPMN id; return the instance status."""
    task = open_tasks(rt, started.instance_id)[bpmn_id]
    return commands.complete_task(rt, started.instance_id, task.id, data, actor=actor)


def case_of(rt: Runtime, started: commands.Started) -> Case:
    """The case row."""
    with rt.read() as session:
        case = session.get(Case, started.case_id)
    assert case is not None
    return case


def instance_of(rt: Runtime, started: commands.Started) -> ProcessInstance:
    """The instance row."""
    with rt.read() as session:
        row = session.get(ProcessInstance, started.instance_id)
    assert row is not None
    return row


def dispatched(rt: Runtime, department: str = "区住建局", **changes: Any) -> commands.Started:
    """A case through triage and dispatch, waiting for sign-for."""
    started = open_case(rt, **changes)
    complete(rt, started, "triage", {"triage_result": "dispatch", "request_type": "complaint",
                                     "urgency": changes.get("urgency", "urgent")})
    complete(rt, started, "dispatch", {"lead_department": department, "instruction": "请尽快处理"})
    return started


def review_and_callback(rt: Runtime, started: commands.Started, satisfaction: str = "satisfied") -> None:
    """Accept the reply and call back."""
    complete(rt, started, "review", {"review_result": "accept"})
    complete(rt, started, "callback", {"satisfaction": satisfaction, "callback_solved": True,
                                       "callback_note": "诉求人表示满意"})


def close_and_archive(rt: Runtime, started: commands.Started) -> str:
    """Publish review after the case closed; return the instance status."""
    assert case_of(rt, started).status == "closed"
    return complete(rt, started, "publish_review", {"publish": True, "public_reply": REPLY["public_reply"]})


def role_dept(task: HumanTask) -> tuple[str | None, str | None]:
    """Role and department of a task."""
    return task.role, task.department


def test_happy_path_runs_from_triage_to_archived(rt: Runtime, clock: FrozenClock) -> None:
    started = open_case(rt)
    assert case_of(rt, started).status == "registered"
    triage = open_tasks(rt, started.instance_id)["triage"]
    assert (triage.role, triage.department, triage.form) == ("dispatcher", None, "triage.schema.json")
    assert triage.priority == 1  # 紧急
    complete(rt, started, "triage", {"triage_result": "dispatch", "request_type": "complaint", "urgency": "urgent"})
    assert role_dept(open_tasks(rt, started.instance_id)["dispatch"]) == ("dispatcher", None)

    dispatched_at = clock()
    complete(rt, started, "dispatch", {"lead_department": "区住建局", "instruction": "请尽快处理"})
    case = case_of(rt, started)
    assert (case.status, case.lead_department, case.warning_level) == ("dispatched", "区住建局", "none")
    assert case.deadline == dispatched_at + timedelta(hours=24)  # 紧急: 24 clock hours
    sign_for = open_tasks(rt, started.instance_id)["sign_for"]
    assert role_dept(sign_for) == ("handler", "区住建局")
    assert sign_for.due_at == dispatched_at + timedelta(hours=4)  # the sign-for warning timer

    clock.advance(minutes=30)
    complete(rt, started, "sign_for", {"sign_decision": "sign"}, actor="h1")
    assert case_of(rt, started).status == "signed"
    reply = open_tasks(rt, started.instance_id)["reply"]
    assert role_dept(reply) == ("handler", "区住建局")
    assert reply.due_at == case.deadline  # due_variable handling_deadline

    complete(rt, started, "reply", REPLY, actor="h1")
    assert case_of(rt, started).status == "replied"
    assert role_dept(open_tasks(rt, started.instance_id)["review"]) == ("dispatcher", None)
    complete(rt, started, "review", {"review_result": "accept", "review_note": "答复规范"})
    assert case_of(rt, started).status == "callback"
    assert role_dept(open_tasks(rt, started.instance_id)["callback"]) == ("callback", None)
    complete(rt, started, "callback", {"satisfaction": "satisfied", "callback_solved": True})
    assert role_dept(open_tasks(rt, started.instance_id)["publish_review"]) == ("dispatcher", None)
    assert close_and_archive(rt, started) == "completed"

    case = case_of(rt, started)
    assert (case.status, case.return_count, case.rehandle_count, case.warning_level) == ("archived", 0, 0, "none")
    assert open_tasks(rt, started.instance_id) == {}
    with rt.read() as session:
        texts = dict(session.execute(sa.select(CaseText.field, CaseText.value).where(
            CaseText.case_id == started.case_id, CaseText.field == "reply_text")).all())
    assert texts == {"reply_text": REPLY["reply_text"]}
    snapshot = instance_of(rt, started).snapshot
    for secret in (REPLY["reply_text"], REPLY["public_reply"], INTAKE["requester_phone"], INTAKE["content"]):
        assert secret not in snapshot


@pytest.mark.parametrize(("triage", "status"), [
    ({"triage_result": "direct_answer"}, "answered"),
    ({"triage_result": "not_accepted", "reject_reason": "属于诉讼程序，已告知诉求人向法院起诉"}, "rejected"),
])
def test_direct_answer_and_not_accepted_end_the_case(rt: Runtime, triage: dict[str, str], status: str) -> None:
    started = open_case(rt, request_type="consult", urgency="normal")
    instance_status = complete(rt, started, "triage", {"request_type": "consult", "urgency": "normal", **triage})
    if status == "answered":
        answer = open_tasks(rt, started.instance_id)["direct_answer"]
        assert (answer.role, answer.form) == ("operator", "direct_answer.schema.json")
        instance_status = complete(rt, started, "direct_answer", {"direct_answer": "办理时间为工作日 9:00-17:00"})
    assert instance_status == "completed"
    assert case_of(rt, started).status == status
    with rt.read() as session:
        fields = set(session.scalars(sa.select(CaseText.field).where(CaseText.case_id == started.case_id)))
    assert fields == {"direct_answer" if status == "answered" else "reject_reason"}


def test_return_is_reviewed_and_redispatched_to_a_new_department(rt: Runtime, clock: FrozenClock) -> None:
    started = dispatched(rt)
    clock.advance(hours=1)
    complete(rt, started, "sign_for", {"sign_decision": "return", "return_reason": "该工地属交通工程"}, actor="h1")
    case = case_of(rt, started)
    assert (case.status, case.return_count) == ("returned", 1)
    assert role_dept(open_tasks(rt, started.instance_id)["return_review"]) == ("dispatcher", None)

    redispatched_at = clock.advance(minutes=20)
    complete(rt, started, "return_review", {"return_decision": "accept_return", "lead_department": "区交通运输局"})
    case = case_of(rt, started)
    assert (case.status, case.lead_department, case.return_count) == ("dispatched", "区交通运输局", 1)
    assert case.deadline == redispatched_at + timedelta(hours=24)  # the new unit gets its own time limit
    sign_for = open_tasks(rt, started.instance_id)["sign_for"]
    assert role_dept(sign_for) == ("handler", "区交通运输局")
    assert sign_for.due_at == redispatched_at + timedelta(hours=4)

    complete(rt, started, "sign_for", {"sign_decision": "sign"}, actor="h2")
    assert role_dept(open_tasks(rt, started.instance_id)["reply"]) == ("handler", "区交通运输局")
    complete(rt, started, "reply", REPLY, actor="h2")
    review_and_callback(rt, started)
    assert close_and_archive(rt, started) == "completed"
    with rt.read() as session:
        signers = list(session.scalars(sa.select(HumanTask.department).where(
            HumanTask.instance_id == started.instance_id, HumanTask.bpmn_id == "sign_for").order_by(
            HumanTask.created_at, HumanTask.department)))
    assert signers == ["区住建局", "区交通运输局"]


def test_refused_return_stays_with_the_department(rt: Runtime) -> None:
    started = dispatched(rt)
    complete(rt, started, "sign_for", {"sign_decision": "return", "return_reason": "不属本单位职责"})
    complete(rt, started, "return_review", {"return_decision": "reject_return", "review_note": "属派单目录所列职责"})
    case = case_of(rt, started)
    assert (case.status, case.lead_department, case.return_count) == ("signed", "区住建局", 1)
    assert role_dept(open_tasks(rt, started.instance_id)["reply"]) == ("handler", "区住建局")


def test_unsatisfied_callback_sends_the_case_back_for_another_round(rt: Runtime, clock: FrozenClock) -> None:
    started = dispatched(rt)
    complete(rt, started, "sign_for", {"sign_decision": "sign"})
    complete(rt, started, "reply", REPLY)
    clock.advance(hours=30)
    review_and_callback(rt, started, satisfaction="unsatisfied")
    case = case_of(rt, started)
    assert (case.status, case.rehandle_count) == ("rehandle", 1)
    assert case.deadline == clock() + timedelta(hours=24)  # re-handling gets a fresh time limit
    tasks = open_tasks(rt, started.instance_id)
    assert set(tasks) == {"reply"}  # the same unit handles again without signing for it again
    assert role_dept(tasks["reply"]) == ("handler", "区住建局")
    assert tasks["reply"].due_at == case.deadline

    complete(rt, started, "reply", REPLY)
    review_and_callback(rt, started, satisfaction="basically_satisfied")
    assert close_and_archive(rt, started) == "completed"
    assert case_of(rt, started).rehandle_count == 1


def test_nonstandard_reply_goes_back_with_the_same_deadline(rt: Runtime, clock: FrozenClock) -> None:
    started = dispatched(rt)
    deadline = case_of(rt, started).deadline
    complete(rt, started, "sign_for", {"sign_decision": "sign"})
    complete(rt, started, "reply", REPLY)
    clock.advance(hours=2)
    complete(rt, started, "review", {"review_result": "nonstandard", "review_note": "未写明核查结果"})
    case = case_of(rt, started)
    assert (case.status, case.deadline, case.rehandle_count) == ("signed", deadline, 0)
    assert open_tasks(rt, started.instance_id)["reply"].due_at == deadline


def test_repeated_rounds_keep_the_task_tree_flat(rt: Runtime) -> None:
    started = dispatched(rt)
    complete(rt, started, "sign_for", {"sign_decision": "sign"})
    depths = []
    for _ in range(4):
        complete(rt, started, "reply", REPLY)
        review_and_callback(rt, started, satisfaction="unsatisfied")
        with rt.read() as session:
            row = session.get(ProcessInstance, started.instance_id)
            assert row is not None
            spec, subprocess_specs = rt.specs.get(session, row.definition_id)
        depths.append(wfops.task_depth(engine.load_workflow(row.snapshot, spec, subprocess_specs)))
    assert case_of(rt, started).rehandle_count == 4
    assert len(set(depths)) == 1, depths  # a loop subprocess, not a back edge: depth does not grow


def test_sign_for_warning_fires_after_four_hours(rt: Runtime, clock: FrozenClock) -> None:
    started = dispatched(rt)
    clock.advance(hours=3, minutes=59)
    assert commands.fire_due_timers(rt) == 0
    clock.advance(minutes=2)
    assert commands.fire_due_timers(rt) == 1
    assert "sign_for" in open_tasks(rt, started.instance_id)  # a warning, not a cancellation
    with rt.read() as session:
        fired = list(session.scalars(sa.select(HistoryEvent.bpmn_id).where(
            HistoryEvent.instance_id == started.instance_id, HistoryEvent.kind == "timer_fired")))
    assert fired == ["sign_warning_timer"]
    complete(rt, started, "sign_for", {"sign_decision": "sign"})
    assert case_of(rt, started).status == "signed"


def test_yellow_then_red_light_and_supervision_of_an_overdue_reply(rt: Runtime, clock: FrozenClock) -> None:
    started = dispatched(rt, urgency="critical")  # 特急: 2 clock hours
    deadline = case_of(rt, started).deadline
    assert deadline == clock() + timedelta(hours=2)
    complete(rt, started, "sign_for", {"sign_decision": "sign"})

    clock.advance(hours=1, minutes=31)  # a quarter of the time is left
    assert commands.fire_due_timers(rt) == 1
    assert case_of(rt, started).warning_level == "yellow"
    assert set(open_tasks(rt, started.instance_id)) == {"reply"}

    clock.advance(minutes=30)
    assert commands.fire_due_timers(rt) == 1
    assert case_of(rt, started).warning_level == "red"
    tasks = open_tasks(rt, started.instance_id)
    assert set(tasks) == {"reply", "supervise"}  # the reply stays open; supervision runs beside it
    assert (tasks["supervise"].role, tasks["supervise"].form) == ("supervisor", "supervise.schema.json")
    assert tasks["reply"].due_at == deadline

    complete(rt, started, "reply", REPLY)
    review_and_callback(rt, started)
    assert close_and_archive(rt, started) == "running"  # archived, but the 督办单 is still open
    assert case_of(rt, started).status == "archived"
    supervised = {"urging_method": "phone", "supervision_note": "已电话催办"}
    assert complete(rt, started, "supervise", supervised) == "completed"


def test_upstream_deadline_caps_the_handling_deadline(rt: Runtime, clock: FrozenClock) -> None:
    upstream = (clock() + timedelta(hours=10)).astimezone(timezone(timedelta(hours=8)))
    started = dispatched(rt, urgency="normal", upstream_deadline=upstream.isoformat())
    case = case_of(rt, started)
    assert case.upstream_deadline == upstream
    assert case.deadline == upstream  # 120 h for 一般, capped at the city's deadline
    complete(rt, started, "sign_for", {"sign_decision": "sign"})
    assert open_tasks(rt, started.instance_id)["reply"].due_at == upstream


def test_without_upstream_deadline_the_normal_limit_is_five_days(rt: Runtime, clock: FrozenClock) -> None:
    started = dispatched(rt, urgency="normal")
    assert case_of(rt, started).deadline == clock() + timedelta(hours=120)
    assert isinstance(case_of(rt, started).deadline, datetime)


def test_both_department_lists_offer_the_same_units() -> None:
    def departments(form: str) -> list[str]:
        schema = json.loads((BUNDLE / "forms" / form).read_text(encoding="utf-8"))
        return [option["const"] for option in schema["properties"]["lead_department"]["oneOf"]]

    assert departments("dispatch.schema.json") == departments("return_review.schema.json")
    assert {"区住建局", "区交通运输局", "北岙街道", "鹿西乡"} <= set(departments("dispatch.schema.json"))
