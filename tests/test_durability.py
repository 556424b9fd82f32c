"""R2 durability: restarts, SIGKILL inside a command, failing handlers, versions, messages, timers, loops."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from processes import engine
from processes.cases.models import CaseText
from processes.cases.models import Requester
from processes.cases.personal import read_requester
from processes.clock import FrozenClock
from processes.engine.runtime import pending_timers
from processes.engine.runtime import task_depth
from processes.errors import FormDataInvalid
from processes.errors import InvalidState
from processes.errors import NotFound
from processes.errors import TaskNotReady
from processes.runtime import assignment
from processes.runtime import commands
from processes.runtime import control
from processes.runtime import definitions
from processes.runtime.core import Runtime
from processes.runtime.models import HistoryEvent
from processes.runtime.models import HumanTask
from processes.runtime.models import InstanceCorrelation
from processes.runtime.models import ProcessDefinition
from processes.runtime.models import ProcessInstance
from processes.runtime.models import TimerJob
from tests import proc_helpers
from tests.bulk import open_tasks_by_instance
from tests.bulk import start_many
from tests.proc_helpers import open_task_id
from tests.proc_helpers import wait_until
from tests.support import FlakyHandler
from tests.support import deploy
from tests.support import make_runtime
from tests.support import read_bundle
from tests.support import test_registry

ROOT = Path(__file__).resolve().parents[1]
CRASHES = 20  # per fault point and backend; the slow variant runs 100
WAIT = 60.0


def instance(rt: Runtime, instance_id: str) -> ProcessInstance:
    with rt.read() as session:
        row = session.get(ProcessInstance, instance_id)
    assert row is not None
    return row


def history(rt: Runtime, instance_id: str) -> list[HistoryEvent]:
    with rt.read() as session:
        return list(session.scalars(sa.select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
                                    .order_by(HistoryEvent.id)))


def kinds(rt: Runtime, instance_id: str) -> list[str]:
    return [event.kind for event in history(rt, instance_id)]


def tasks(rt: Runtime, instance_id: str) -> dict[str, HumanTask]:
    """Human-task rows of an instance by BPMN id (one each in these diagrams)."""
    with rt.read() as session:
        rows = list(session.scalars(sa.select(HumanTask).where(HumanTask.instance_id == instance_id)))
    out = {row.bpmn_id: row for row in rows}
    assert len(out) == len(rows)
    return out


def jobs(rt: Runtime, instance_id: str) -> list[TimerJob]:
    with rt.read() as session:
        return list(session.scalars(sa.select(TimerJob).where(TimerJob.instance_id == instance_id)
                                    .order_by(TimerJob.id)))


def fingerprint(rt: Runtime, instance_id: str) -> dict[str, Any]:
    """Every stored fact about an instance: its row, tasks, jobs, history, correlations and texts."""

    def rows(table: Any, *where: Any) -> list[tuple[Any, ...]]:
        with rt.read() as session:
            return sorted(tuple(r) for r in session.execute(sa.select(table).where(*where)).all())

    row = instance(rt, instance_id)
    return {
        "instance": rows(ProcessInstance.__table__, ProcessInstance.id == instance_id),
        "tasks": rows(HumanTask.__table__, HumanTask.instance_id == instance_id),
        "jobs": rows(TimerJob.__table__, TimerJob.instance_id == instance_id),
        "history": rows(HistoryEvent.__table__, HistoryEvent.instance_id == instance_id),
        "correlations": rows(InstanceCorrelation.__table__, InstanceCorrelation.instance_id == instance_id),
        "texts": rows(CaseText.__table__, CaseText.case_id == row.case_id) if row.case_id else [],
    }


# --- restarts --------------------------------------------------------------------------------------------------

def run_step(step: str, url: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run one step of a case in a fresh Python process."""
    done = subprocess.run([sys.executable, "-m", "tests.proc_helpers", step, url, json.dumps(args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_case_state_survives_process_restarts(db_url: str, clock: FrozenClock) -> None:
    opened = run_step("open", db_url, {"actor": "op1", "data": {
        "requester_phone": "13812345678", "requester_name": "张三", "content": "夜间施工噪音",
        "lead_department": "区住建局"}})
    iid = opened["instance_id"]
    signed = run_step("complete", db_url, {"instance_id": iid, "bpmn_id": "sign_for", "actor": "h1",
                                           "data": {"signed": True}})
    replied = run_step("complete", db_url, {"instance_id": iid, "bpmn_id": "reply", "actor": "h2",
                                            "data": {"reply_text": "已协调施工方停工"}})
    assert (opened["status"], signed["status"], replied["status"]) == ("running", "running", "completed")
    assert len({opened["pid"], signed["pid"], replied["pid"], os.getpid()}) == 4

    rt = make_runtime(db_url, clock)
    try:
        row = instance(rt, iid)
        assert (row.status, row.version, row.next_due_at, row.error) == ("completed", 3, None, None)
        assert kinds(rt, iid) == ["started", "task_completed", "task_completed", "completed"]
        found = tasks(rt, iid)
        assert {b: (t.status, t.completed_by) for b, t in found.items()} == {
            "sign_for": ("completed", "h1"), "reply": ("completed", "h2")}
        assert [j.status for j in jobs(rt, iid)] == ["cancelled"]  # the 1 h warning never fired
        with rt.read() as session:
            assert read_requester(session.scalars(sa.select(Requester)).one())["phone"] == "13812345678"
            assert session.scalar(sa.select(CaseText.value).where(CaseText.field == "reply_text")) == "已协调施工方停工"
        assert "13812345678" not in row.snapshot and "已协调" not in row.snapshot
    finally:
        rt.db.dispose()


# --- SIGKILL inside a command ----------------------------------------------------------------------------------

def crash_repetitions(url: str, tmp_path: Path, fault: str, repetitions: int) -> None:
    """Kill a process inside its command `repetitions` times; each time nothing changes and the case goes on."""
    rt = make_runtime(url, registry=proc_helpers.blocking_registry())
    deploy(rt, "blocking_service", "blocking_service.bpmn")
    ids = start_many(rt, "blocking_service", repetitions)
    prepare = open_tasks_by_instance(rt, "prepare")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tests.proc_helpers"])
    try:
        for n, iid in enumerate(ids):
            before, version = fingerprint(rt, iid), instance(rt, iid).version
            ready = tmp_path / f"ready-{fault}-{n}"
            child = context.Process(target=proc_helpers.crash_inside_command, name=f"crash-{n}",
                                    args=(url, iid, prepare[iid], str(ready), fault))
            child.start()
            try:
                assert wait_until(lambda child=child, ready=ready: ready.exists() or not child.is_alive())
                assert ready.exists(), f"the child exited ({child.exitcode}) before reaching {fault}"
            finally:
                child.kill()  # SIGKILL, by the child's pid
                child.join(WAIT)
            assert child.exitcode == -signal.SIGKILL

            assert fingerprint(rt, iid) == before  # version, snapshot, tasks, jobs, history: all unchanged
            restarted = make_runtime(url, registry=proc_helpers.blocking_registry())  # cold caches
            try:
                status = commands.complete_task(restarted, iid, prepare[iid], {"prepared": True}, actor="h")
                assert status == "running"
                confirm = open_task_id(restarted, iid, "confirm")
                assert commands.complete_task(restarted, iid, confirm, {}, actor="h") == "completed"
            finally:
                restarted.db.dispose()
            assert instance(rt, iid).version == version + 2
            events = kinds(rt, iid)  # (cloned instances have no "started" row)
            assert events[-3:] == ["task_completed", "task_completed", "completed"]
            assert events.count("task_completed") == 2 and "error" not in events
    finally:
        rt.db.dispose()


@pytest.mark.parametrize("fault", ["in_handler", "before_commit"])
def test_sigkill_inside_a_command_changes_nothing(db_url: str, tmp_path: Path, fault: str) -> None:
    crash_repetitions(db_url, tmp_path, fault, CRASHES)


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["in_handler", "before_commit"])
def test_sigkill_inside_a_command_changes_nothing_100_times(db_url: str, tmp_path: Path, fault: str) -> None:
    crash_repetitions(db_url, tmp_path, fault, 100)


# --- a failing handler loses nothing ---------------------------------------------------------------------------

def test_failing_handler_keeps_completed_work_retries_then_raises_an_incident(db_url: str,
                                                                                 clock: FrozenClock) -> None:
    flaky = FlakyHandler()
    rt = make_runtime(db_url, clock, registry=test_registry(flaky), retry_backoff=[60, 300, 900])
    try:
        deploy(rt, "service_after_task", "service_after_task.bpmn")
        iid = commands.start(rt, "service_after_task", {"outcome": "resolved"}, actor="op").instance_id
        finish = open_task_id(rt, iid, "finish")
        t0 = clock()
        assert commands.complete_task(rt, iid, finish, {"closed": True}, actor="h1") == "error"

        def assert_user_work_kept() -> None:
            found = tasks(rt, iid)
            assert list(found) == ["finish"]
            assert (found["finish"].status, found["finish"].completed_by) == ("completed", "h1")
            completed = [e for e in history(rt, iid) if e.kind == "task_completed"]
            assert [(e.task_id, e.actor, e.fields) for e in completed] == [(finish, "h1", ["closed"])]

        assert_user_work_kept()
        row = instance(rt, iid)
        assert row.status == "error" and row.error is not None and "upstream platform unreachable" in row.error
        [job] = jobs(rt, iid)
        assert (job.kind, job.status, job.attempts, job.due_at) == ("retry", "pending", 1, t0 + timedelta(seconds=60))
        assert "upstream platform unreachable" in (job.last_error or "")
        assert row.next_due_at == job.due_at
        assert flaky.calls == 1

        clock.advance(seconds=59)
        assert control.fire_due_timers(rt) == 0  # not due yet
        for attempts, backoff in ((2, 300), (3, 900)):
            clock.advance(seconds=3600)
            assert control.fire_due_timers(rt) == 1
            [job] = jobs(rt, iid)
            assert (job.status, job.attempts, job.due_at) == ("pending", attempts, clock() + timedelta(seconds=backoff))
            assert instance(rt, iid).status == "error" and flaky.calls == attempts
        clock.advance(seconds=900)
        assert control.fire_due_timers(rt) == 1
        [job] = jobs(rt, iid)
        assert (job.status, job.attempts) == ("failed", 4)  # backoff list exhausted: an incident
        row = instance(rt, iid)
        assert row.status == "error" and row.next_due_at is None
        clock.advance(days=3)
        assert control.fire_due_timers(rt) == 0 and flaky.calls == 4  # incidents wait for a person
        assert_user_work_kept()
        assert kinds(rt, iid).count("error") == 4

        flaky.broken = False
        assert control.retry_instance(rt, iid, actor="admin") == "completed"
        [job] = jobs(rt, iid)
        assert job.status == "done"
        row = instance(rt, iid)
        assert (row.status, row.error, row.next_due_at) == ("completed", None, None)
        assert '"write_back_result":{"ok":true,"value":"resolved"}' in row.snapshot
        assert kinds(rt, iid)[-2:] == ["retried", "completed"]
        assert_user_work_kept()
        with pytest.raises(InvalidState):
            control.retry_instance(rt, iid, actor="admin")
    finally:
        rt.db.dispose()


# --- version pinning -------------------------------------------------------------------------------------------

def test_running_cases_stay_on_their_version_and_identical_deploys_are_no_ops(runtime: Runtime) -> None:
    v1 = deploy(runtime, "simple", "simple.bpmn")
    old = commands.start(runtime, "simple", {"lead_department": "区住建局"}, actor="op").instance_id
    changed = {"simple.bpmn": read_bundle("simple.bpmn")["simple.bpmn"].replace('name="答复"', 'name="答复（新版）"')}

    def deploy_changed() -> definitions.DeployResult:
        with runtime.write() as session, session.begin():
            return definitions.deploy(session, "simple", changed, actor="analyst", now=runtime.clock(),
                                      operators=runtime.handlers, publish=True)

    v2 = deploy_changed()
    assert (v1.version, v1.created, v2.version, v2.created) == (1, True, 2, True)
    again = deploy_changed()
    assert (again.version, again.definition_id, again.created) == (2, v2.definition_id, False)
    assert deploy(runtime, "simple", "simple.bpmn").created is False  # v1's content is known too
    with runtime.read() as session:
        assert dict(session.execute(sa.select(ProcessDefinition.version, ProcessDefinition.status)).all()) == {
            1: "retired", 2: "published"}

    new = commands.start(runtime, "simple", {"lead_department": "区住建局"}, actor="op").instance_id
    assert (instance(runtime, old).definition_id, instance(runtime, new).definition_id) == (
        v1.definition_id, v2.definition_id)
    for iid in (old, new):
        commands.complete_task(runtime, iid, open_task_id(runtime, iid, "sign_for"), {}, actor="h")
    assert tasks(runtime, old)["reply"].name == "答复"  # still the v1 diagram
    assert tasks(runtime, new)["reply"].name == "答复（新版）"
    for iid in (old, new):
        assert commands.complete_task(runtime, iid, open_task_id(runtime, iid, "reply"), {}, actor="h") == "completed"
    assert instance(runtime, old).definition_id == v1.definition_id


# --- messages --------------------------------------------------------------------------------------------------

FEEDBACK = "feedback_110"


def open_incident(rt: Runtime, incident_no: str) -> commands.Started:
    return commands.open_case(rt, "message_wait", {"incident_no": incident_no}, actor="op", channel="110")


@pytest.mark.parametrize("by", ["case_id", "instance_id", "correlation"])
def test_message_reaches_the_waiting_case(runtime: Runtime, by: str) -> None:
    deploy(runtime, "message_wait", "message_wait.bpmn")
    target = open_incident(runtime, "110-2026-0001")
    other = open_incident(runtime, "110-2026-0002")
    assert target.status == "waiting" and tasks(runtime, target.instance_id) == {}
    with runtime.read() as session:
        assert session.execute(sa.select(InstanceCorrelation.name, InstanceCorrelation.value).where(
            InstanceCorrelation.instance_id == target.instance_id)).all() == [("incident_no", "110-2026-0001")]
    untouched = fingerprint(runtime, other.instance_id)

    address: dict[str, Any] = {
        "case_id": {"case_id": target.case_id}, "instance_id": {"instance_id": target.instance_id},
        "correlation": {"correlation": ("incident_no", "110-2026-0001")}}[by]
    delivered = commands.deliver_message(runtime, FEEDBACK, {"incident_no": "110-2026-0001", "result": "resolved"},
                                         actor="system:110", **address)
    assert delivered == target.instance_id
    row = instance(runtime, target.instance_id)
    assert (row.status, row.version) == ("running", 2)
    assert '"feedback":{"incident_no":"110-2026-0001","result":"resolved"}' in row.snapshot
    assert list(tasks(runtime, target.instance_id)) == ["review_feedback"]
    [received] = [e for e in history(runtime, target.instance_id) if e.kind == "message_received"]
    assert (received.actor, received.detail, received.fields) == (
        "system:110", {"message": FEEDBACK}, ["incident_no", "result"])
    assert fingerprint(runtime, other.instance_id) == untouched

    review = open_task_id(runtime, target.instance_id, "review_feedback")
    assert commands.complete_task(runtime, target.instance_id, review, {}, actor="op") == "completed"


def test_message_nobody_waits_for_is_refused_and_changes_nothing(runtime: Runtime) -> None:
    deploy(runtime, "message_wait", "message_wait.bpmn")
    case = open_incident(runtime, "110-2026-0001")
    iid = case.instance_id
    before = fingerprint(runtime, iid)
    payload = {"incident_no": "110-2026-0001", "result": "resolved"}

    with pytest.raises(InvalidState, match="no task waits for message 'unknown'"):
        commands.deliver_message(runtime, "unknown", payload, actor="system:110", instance_id=iid)
    with pytest.raises(InvalidState, match="correlation"):  # right message, another incident's key
        commands.deliver_message(runtime, FEEDBACK, {"incident_no": "110-2026-9999"}, actor="system:110",
                                 instance_id=iid)
    with pytest.raises(NotFound):
        commands.deliver_message(runtime, FEEDBACK, payload, actor="system:110",
                                 correlation=("incident_no", "110-2026-9999"))
    with pytest.raises(NotFound):
        commands.deliver_message(runtime, FEEDBACK, payload, actor="system:110", instance_id="no-such-instance")
    with pytest.raises(FormDataInvalid):
        commands.deliver_message(runtime, FEEDBACK, payload, actor="system:110")
    assert fingerprint(runtime, iid) == before

    commands.deliver_message(runtime, FEEDBACK, payload, actor="system:110", case_id=case.case_id)
    caught = fingerprint(runtime, iid)
    with pytest.raises(InvalidState, match="no task waits"):  # delivered twice: nobody waits any more
        commands.deliver_message(runtime, FEEDBACK, payload, actor="system:110", case_id=case.case_id)
    assert fingerprint(runtime, iid) == caught

    commands.complete_task(runtime, iid, open_task_id(runtime, iid, "review_feedback"), {}, actor="op")
    with pytest.raises(NotFound):  # the case is closed: no active instance
        commands.deliver_message(runtime, FEEDBACK, payload, actor="system:110", case_id=case.case_id)


# --- rescheduling timers ---------------------------------------------------------------------------------------

def stored_workflow(rt: Runtime, iid: str) -> Any:
    """The workflow as stored in the snapshot, restored with the runtime's spec cache."""
    row = instance(rt, iid)
    with rt.read() as session:
        spec, subprocess_specs = rt.specs.get(session, row.definition_id)
    return engine.load_workflow(row.snapshot, spec, subprocess_specs)


def timer_state(rt: Runtime, iid: str) -> tuple[Any, ...]:
    """(job status, engine due, job due, task due, instance next due) of the one timer of simple.bpmn."""
    [job] = jobs(rt, iid)
    [timer] = pending_timers(stored_workflow(rt, iid))
    assert timer.bpmn_id == "sign_for_warning"
    return job.status, timer.due, job.due_at, tasks(rt, iid)["sign_for"].due_at, instance(rt, iid).next_due_at


def test_reschedule_rewrites_due_times_everywhere_and_records_why(runtime: Runtime, clock: FrozenClock) -> None:
    deploy(runtime, "simple", "simple.bpmn")
    iid = commands.start(runtime, "simple", {"lead_department": "区住建局"}, actor="op").instance_id
    first = clock() + timedelta(hours=1)
    assert timer_state(runtime, iid) == ("pending", first, first, first, first)

    later = clock() + timedelta(hours=3)
    assert control.reschedule_timers(runtime, iid, actor="sup", reason="延期申请已批准",
                                      new_due={"sign_for_warning": later}) == 1
    assert timer_state(runtime, iid) == ("pending", later, later, later, later)
    shifted = later + timedelta(hours=2)
    assert control.reschedule_timers(runtime, iid, actor="sup", reason="节假日顺延",
                                      shift=timedelta(hours=2)) == 1
    assert timer_state(runtime, iid) == ("pending", shifted, shifted, shifted, shifted)
    moves = [e for e in history(runtime, iid) if e.kind == "timers_rescheduled"]
    assert [(e.actor, e.detail) for e in moves] == [
        ("sup", {"reason": "延期申请已批准", "timers": [
            {"bpmn_id": "sign_for_warning", "from": first.isoformat(), "to": later.isoformat()}]}),
        ("sup", {"reason": "节假日顺延", "timers": [
            {"bpmn_id": "sign_for_warning", "from": later.isoformat(), "to": shifted.isoformat()}]}),
    ]

    clock.advance(hours=4)  # past the original and the first new due time, before the current one
    assert control.fire_due_timers(runtime) == 0
    assert "timer_fired" not in kinds(runtime, iid)

    with pytest.raises(FormDataInvalid):
        control.reschedule_timers(runtime, iid, actor="sup", reason=" ", shift=timedelta(hours=1))
    with pytest.raises(FormDataInvalid):
        control.reschedule_timers(runtime, iid, actor="sup", reason="x")
    with pytest.raises(InvalidState):
        control.reschedule_timers(runtime, iid, actor="sup", reason="x", new_due={"no_such_timer": later})
    assert timer_state(runtime, iid) == ("pending", shifted, shifted, shifted, shifted)

    past = clock() - timedelta(minutes=1)
    control.reschedule_timers(runtime, iid, actor="sup", reason="上级平台时限更正", new_due={"sign_for_warning": past})
    [job] = jobs(runtime, iid)
    row = instance(runtime, iid)
    assert (job.status, row.next_due_at) == ("done", None)  # fired at once
    assert kinds(runtime, iid)[-2:] == ["timers_rescheduled", "timer_fired"]
    assert '"warning_level":"yellow"' in row.snapshot
    assert tasks(runtime, iid)["sign_for"].status == "open"  # non-interrupting: the task stays


# --- suspend, resume, terminate --------------------------------------------------------------------------------

def test_suspended_case_refuses_work_and_timers_until_resumed(runtime: Runtime, clock: FrozenClock) -> None:
    deploy(runtime, "simple", "simple.bpmn")
    iid = commands.start(runtime, "simple", {"lead_department": "区住建局"}, actor="op").instance_id
    sign_for = open_task_id(runtime, iid, "sign_for")
    control.suspend(runtime, iid, actor="sup", reason="等待诉求人补充材料")
    assert instance(runtime, iid).status == "suspended"
    before = fingerprint(runtime, iid)
    with pytest.raises(InvalidState):
        commands.complete_task(runtime, iid, sign_for, {}, actor="h1")
    with pytest.raises(TaskNotReady):
        assignment.claim(runtime, iid, sign_for, actor="h1")
    with pytest.raises(InvalidState):
        control.suspend(runtime, iid, actor="sup", reason="again")
    clock.advance(hours=2)
    assert control.fire_due_timers(runtime) == 0
    with pytest.raises(InvalidState):
        control.fire_timers(runtime, iid)
    assert fingerprint(runtime, iid) == before
    assert [j.status for j in jobs(runtime, iid)] == ["pending"]

    control.resume(runtime, iid, actor="sup", reason="材料已补充")
    assert kinds(runtime, iid)[-2:] == ["resumed", "timer_fired"]  # the overdue warning fires on resume
    assert [j.status for j in jobs(runtime, iid)] == ["done"]
    assert instance(runtime, iid).status == "running"
    assert commands.complete_task(runtime, iid, sign_for, {}, actor="h1") == "running"


def test_terminate_cancels_open_tasks_and_timers(runtime: Runtime, clock: FrozenClock) -> None:
    deploy(runtime, "simple", "simple.bpmn")
    iid = commands.start(runtime, "simple", {"lead_department": "区住建局"}, actor="op").instance_id
    sign_for = open_task_id(runtime, iid, "sign_for")
    control.suspend(runtime, iid, actor="sup", reason="重复工单")
    with pytest.raises(FormDataInvalid):
        control.terminate(runtime, iid, actor="sup", reason="")
    control.terminate(runtime, iid, actor="sup", reason="重复工单，已合并")
    row = instance(runtime, iid)
    assert (row.status, row.next_due_at) == ("terminated", None)
    assert tasks(runtime, iid)["sign_for"].status == "cancelled"
    assert [j.status for j in jobs(runtime, iid)] == ["cancelled"]
    assert kinds(runtime, iid)[-1] == "terminated"
    with pytest.raises(InvalidState):
        commands.complete_task(runtime, iid, sign_for, {}, actor="h1")
    with pytest.raises(InvalidState):
        control.resume(runtime, iid, actor="sup", reason="x")
    clock.advance(days=1)
    assert control.fire_due_timers(runtime) == 0


def test_suspend_keeps_an_incident_and_terminate_cancels_the_retry_job(db_url: str, clock: FrozenClock) -> None:
    flaky = FlakyHandler()
    rt = make_runtime(db_url, clock, registry=test_registry(flaky), retry_backoff=[60])
    try:
        deploy(rt, "service_after_task", "service_after_task.bpmn")
        iid = commands.start(rt, "service_after_task", {"outcome": "resolved"}, actor="op").instance_id
        assert commands.complete_task(rt, iid, open_task_id(rt, iid, "finish"), {}, actor="h1") == "error"
        clock.advance(seconds=61)
        assert control.fire_due_timers(rt) == 1
        [job] = jobs(rt, iid)
        assert job.status == "failed"  # an incident

        control.suspend(rt, iid, actor="sup", reason="等待上级平台恢复")
        assert [j.status for j in jobs(rt, iid)] == ["failed"]  # suspending does not hide the incident
        clock.advance(days=1)
        assert control.fire_due_timers(rt) == 0 and flaky.calls == 2
        control.resume(rt, iid, actor="sup", reason="平台已恢复")
        assert instance(rt, iid).status == "error"
        assert [j.status for j in jobs(rt, iid)] == ["failed"]

        control.terminate(rt, iid, actor="sup", reason="改为人工回写")
        assert [j.status for j in jobs(rt, iid)] == ["cancelled"]  # not "done": the write-back never succeeded
        assert tasks(rt, iid)["finish"].status == "completed"
        assert instance(rt, iid).status == "terminated"
    finally:
        rt.db.dispose()


# --- loops -----------------------------------------------------------------------------------------------------

def loop_rounds(rt: Runtime, rounds: int) -> None:
    """Go round the re-handle loop `rounds` times; the depth stays flat and the snapshot grows slowly."""
    deploy(rt, "rehandle_loop", "rehandle_loop.bpmn")
    iid = commands.start(rt, "rehandle_loop", {}, actor="op").instance_id
    depths: dict[int, int] = {}
    sizes: dict[int, int] = {}
    checkpoints = {1, 2, rounds // 2, rounds}
    for n in range(1, rounds + 1):
        commands.complete_task(rt, iid, open_task_id(rt, iid, "reply"), {"handled": n}, actor="h")
        status = commands.complete_task(rt, iid, open_task_id(rt, iid, "callback"), {"rehandle": n < rounds},
                                        actor="c")
        assert status == ("completed" if n == rounds else "running")
        if n in checkpoints:
            depths[n] = task_depth(stored_workflow(rt, iid))
            sizes[n] = len(instance(rt, iid).snapshot.encode("utf-8"))
    assert max(depths.values()) == depths[1] < 20, depths  # flat, far from the engine's depth-1000 stall
    per_round = (sizes[rounds] - sizes[2]) / (rounds - 2)
    assert per_round < 1024, sizes  # 1,000 rounds stay well under a few MB
    row = instance(rt, iid)
    assert (row.status, row.version, row.error) == ("completed", 1 + 2 * rounds, None)
    with rt.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(HumanTask).where(
            HumanTask.instance_id == iid, HumanTask.status != "completed")) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(HumanTask).where(
            HumanTask.instance_id == iid)) == 2 * rounds
    assert kinds(rt, iid).count("task_completed") == 2 * rounds


def test_rehandle_loop_100_rounds(runtime: Runtime) -> None:
    loop_rounds(runtime, 100)


@pytest.mark.slow
def test_rehandle_loop_1000_rounds(runtime: Runtime) -> None:
    loop_rounds(runtime, 1000)

