"""Commands end to end on SQLite and PostgreSQL: start, projections, claim, complete, timers, history."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from processes.cases.models import Requester
from processes.cases.personal import read_requester
from processes.clock import FrozenClock
from processes.errors import Conflict
from processes.errors import FormDataInvalid
from processes.errors import TaskNotReady
from processes.runtime import assignment
from processes.runtime import commands
from processes.runtime import control
from processes.runtime.core import Runtime
from processes.runtime.models import HistoryEvent
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessInstance
from processes.runtime.models import TimerJob
from tests.support import deploy


def open_tasks(rt: Runtime, instance_id: str) -> list[HumanTask]:
    """Open human-task rows of an instance."""
    with rt.read() as session:
        return list(session.scalars(sa.select(HumanTask).where(
            HumanTask.instance_id == instance_id, HumanTask.status == "open")))


def test_case_lifecycle_projects_tasks_timers_and_history(runtime: Runtime, clock: FrozenClock) -> None:
    deploy(runtime, "simple", "simple.bpmn")
    started = commands.open_case(runtime, "simple", {
        "requester_phone": "13812345678", "requester_name": "张三", "content": "楼下夜间施工噪音",
        "lead_department": "区住建局", "urgency": "紧急"}, actor="op1", channel="phone")
    assert started.case_number and started.case_number.startswith("DT20261125-")
    [task] = open_tasks(runtime, started.instance_id)
    assert (task.bpmn_id, task.role, task.department, task.priority) == ("sign_for", "handler", "区住建局", 1)
    assert task.due_at == clock() + __import__("datetime").timedelta(hours=1)
    with runtime.read() as session:
        instance = session.get(ProcessInstance, started.instance_id)
        assert instance is not None and instance.status == "running" and instance.version == 1
        assert instance.next_due_at == task.due_at
        assert "13812345678" not in instance.snapshot and "张三" not in instance.snapshot
        requester = session.scalars(sa.select(Requester)).one()
        assert read_requester(requester)["phone"] == "13812345678" and "138123" not in (requester.phone or "")
        [job] = session.scalars(sa.select(TimerJob)).all()
        assert (job.bpmn_id, job.status, job.due_at) == ("sign_for_warning", "pending", task.due_at)

    clock.advance(hours=2)
    assert control.fire_due_timers(runtime) == 1
    assignment.claim(runtime, started.instance_id, task.id, actor="h1")
    with pytest.raises(Conflict):
        commands.complete_task(runtime, started.instance_id, task.id, {}, actor="h2")
    commands.complete_task(runtime, started.instance_id, task.id, {"signed": True, "reply_text": "已联系"},
                           actor="h1")
    with pytest.raises(TaskNotReady):
        commands.complete_task(runtime, started.instance_id, task.id, {}, actor="h1")
    [reply] = open_tasks(runtime, started.instance_id)
    assert commands.complete_task(runtime, started.instance_id, reply.id, {}, actor="h1") == "completed"

    with runtime.read() as session:
        kinds = [e.kind for e in session.scalars(sa.select(HistoryEvent).order_by(HistoryEvent.id))]
        assert kinds == ["started", "timer_fired", "claimed", "task_completed", "task_completed", "completed"]
        completed = session.scalars(sa.select(HistoryEvent).where(HistoryEvent.kind == "task_completed")).first()
        assert completed is not None and completed.fields == ["reply_text", "signed"]
        assert session.scalar(sa.select(TimerJob.status)) == "done"
        assert session.scalar(sa.select(sa.func.count()).select_from(HumanTask).where(
            HumanTask.status == "completed", HumanTask.completed_by == "h1")) == 2


def test_personal_data_in_routing_fields_is_refused(runtime: Runtime) -> None:
    deploy(runtime, "simple", "simple.bpmn")
    with pytest.raises(FormDataInvalid, match="phone or ID"):
        commands.open_case(runtime, "simple", {"lead_department": "请联系13812345678"}, actor="op1",
                           channel="phone")
    with pytest.raises(FormDataInvalid, match="free-text"):
        commands.open_case(runtime, "simple", {"note": "长" * 201}, actor="op1", channel="phone")
    with runtime.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ProcessInstance)) == 0
