"""A suspended case refuses work and timers until resumed; terminate cancels open tasks, timers and retries."""

from __future__ import annotations

import pytest

from processes.clock import FrozenClock
from processes.errors import FormDataInvalid
from processes.errors import InvalidState
from processes.errors import TaskNotReady
from processes.runtime import assignment
from processes.runtime import commands
from processes.runtime import control
from processes.runtime.core import Runtime
from tests.instance_support import fingerprint
from tests.instance_support import instance
from tests.instance_support import jobs
from tests.instance_support import kinds
from tests.instance_support import tasks
from tests.proc_helpers import open_task_id
from tests.support import FlakyHandler
from tests.support import deploy
from tests.support import make_runtime
from tests.support import test_registry


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
