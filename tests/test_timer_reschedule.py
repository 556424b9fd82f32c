"""Rescheduling timers rewrites every stored due time, records who moved them and why, and fires past ones."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from processes.clock import FrozenClock
from processes.engine.runtime import pending_timers
from processes.errors import FormDataInvalid
from processes.errors import InvalidState
from processes.runtime import commands
from processes.runtime import control
from processes.runtime.core import Runtime
from tests.instance_support import history
from tests.instance_support import instance
from tests.instance_support import jobs
from tests.instance_support import kinds
from tests.instance_support import stored_workflow
from tests.instance_support import tasks
from tests.support import deploy


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
