"""Task and timer projections (待办/定时任务): diffed against the last ones, written in the command's transaction."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import cast

import sqlalchemy as sa

from processes.engine import OpenTask
from processes.engine import PendingTimer
from processes.parsing import whole_number
from processes.runtime.models import HumanTask
from processes.runtime.models import TimerJob
from processes.runtime.statements import Writes

URGENCY_PRIORITY = {"normal": 0, "一般": 0, "urgent": 1, "紧急": 1, "critical": 2, "特急": 2}
ACTIVE_JOB = ("pending", "claimed")
NAME_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]{0,63})\}")


@dataclass
class Projection:
    """What was projected for an instance last time: open tasks, waiting timers, correlations, retry state."""

    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    timers: dict[str, list[str]] = field(default_factory=dict)  # timer task id -> [due ISO, BPMN id]
    correlations: dict[str, str] = field(default_factory=dict)
    retry_attempts: int = 0
    retry_due: str | None = None

    @classmethod
    def loads(cls, text: str | None) -> Projection:
        """Parse the stored JSON."""
        data = json.loads(text or "{}")
        return cls(data.get("t", {}), data.get("j", {}), data.get("c", {}), data.get("ra", 0), data.get("rd"))

    def dumps(self) -> str:
        """Serialize compactly for the instance row."""
        return json.dumps({"t": self.tasks, "j": self.timers, "c": self.correlations,
                           "ra": self.retry_attempts, "rd": self.retry_due}, separators=(",", ":"),
                          ensure_ascii=False)


def parse_due(value: Any) -> datetime | None:
    """An aware time from a projected value (a datetime or an ISO string), else None."""
    if isinstance(value, datetime):
        return value if value.tzinfo else None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else None
    return None


def _lookup(data: Mapping[str, Any], path: str | None) -> Any:
    """Read a task-data value by name or dotted path (`duty.assignee` reads a handler's result dict)."""
    value: Any = data
    for part in (path or "").split(".") if path else ():
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return None if value is data else value


def task_name(name: str, template: str | None, data: Mapping[str, Any]) -> str:
    """Return a task's shown name: its `name_template` filled from task data (第 {callback_attempt} 次回访), else name.

    Only whole numbers and short codes are filled in; a missing or other value keeps the BPMN name.
    """
    if not template:
        return name
    values = {}
    for path in NAME_FIELD.findall(template):
        value = _lookup(data, path)
        if isinstance(value, bool) or not isinstance(value, int | str) or len(str(value)) > 32:
            return name
        values[path] = str(value)
    return NAME_FIELD.sub(lambda m: values[m.group(1)], template)


def describe_task(task: OpenTask, timers: list[PendingTimer]) -> dict[str, Any]:
    """Resolve role, department, assignee, priority, form and deadline of an open task from its BPMN properties."""
    props, data = task.properties, task.data
    department = _lookup(data, props.get("department_variable"))
    assignee = _lookup(data, props.get("assignee_variable"))
    guards = [t for t in timers if t.host_task_id == task.id and t.kind != "cycle"]
    # due_timer names the boundary timer that is the deadline: it follows reschedules, a data value does not
    due = next((t.due for t in guards if t.bpmn_id == props.get("due_timer")), None)
    if due is None:
        due = parse_due(_lookup(data, props.get("due_variable")))
    if due is None and guards:
        due = max(t.due for t in guards)  # the last boundary deadline is the real limit
    written = whole_number(str(props.get("priority", "")), high=1000)
    priority = written if written is not None else URGENCY_PRIORITY.get(
        str(data.get("urgency", "normal")), 0)
    return {
        "b": task.bpmn_id, "n": task_name(task.name, props.get("name_template"), data)[:200],
        "r": props.get("candidate_role") or task.lane,
        "dep": str(department or props.get("candidate_department") or "") or None,
        "a": str(assignee) if assignee else None, "p": priority, "f": props.get("formJsonSchemaFilename"),
        "d": due.isoformat() if due else None,
    }


HUMAN_TASK = cast(sa.Table, HumanTask.__table__)
TIMER_JOB = cast(sa.Table, TimerJob.__table__)
# Hot-path statements are built once: processes.runtime.statements compiles each once and merges a command's writes.
_FINISH_TASK = HUMAN_TASK.update().where(HUMAN_TASK.c.id == sa.bindparam("tid")).values(
    status=sa.bindparam("st"), completed_at=sa.bindparam("at"), completed_by=sa.bindparam("by"))
_NEW_TASK = HUMAN_TASK.insert()
_CHANGE_TASK = HUMAN_TASK.update().where(HUMAN_TASK.c.id == sa.bindparam("tid")).values(
    due_at=sa.bindparam("due"), assignee=sa.bindparam("who"))
_ACTIVE_TIMER = sa.and_(TIMER_JOB.c.instance_id == sa.bindparam("iid"), TIMER_JOB.c.task_id == sa.bindparam("tid"),
                        TIMER_JOB.c.kind == "timer",
                        # spelled out, not IN (...): an expanding IN cannot be used with executemany
                        sa.or_(TIMER_JOB.c.status == "pending", TIMER_JOB.c.status == "claimed"))
_NEW_TIMER = TIMER_JOB.insert()
_END_TIMER = TIMER_JOB.update().where(_ACTIVE_TIMER).values(
    status=sa.bindparam("st"), lease_owner=None, lease_until=None, updated_at=sa.bindparam("at"))
_MOVE_TIMER = TIMER_JOB.update().where(_ACTIVE_TIMER).values(
    due_at=sa.bindparam("due"), status="pending", lease_owner=None, lease_until=None, updated_at=sa.bindparam("at"))


def write_tasks(writes: Writes, *, instance_id: str, case_id: str | None, old: Projection,
                new_tasks: dict[str, dict[str, Any]], finished: Mapping[str, tuple[str, str | None]],
                now: datetime) -> None:
    """Insert new human tasks, close finished ones, update changed deadlines and assignees."""
    added = [k for k in new_tasks if k not in old.tasks]
    if added:
        writes.add(_NEW_TASK, [_task_row(k, new_tasks[k], instance_id, case_id, now) for k in added])
    if finished:
        writes.add(_FINISH_TASK, [{"tid": k, "st": st, "at": now, "by": by} for k, (st, by) in finished.items()])
    changed = [{"tid": k, "due": parse_due(d.get("d")), "who": d.get("a")} for k, d in new_tasks.items()
               if k in old.tasks and (old.tasks[k].get("d"), old.tasks[k].get("a")) != (d.get("d"), d.get("a"))]
    if changed:
        writes.add(_CHANGE_TASK, changed)


def _task_row(task_id: str, desc: dict[str, Any], instance_id: str, case_id: str | None,
              now: datetime) -> dict[str, Any]:
    return {
        "id": task_id, "instance_id": instance_id, "case_id": case_id, "bpmn_id": desc["b"], "name": desc["n"],
        "role": desc["r"], "department": desc["dep"], "assignee": desc["a"], "priority": desc["p"],
        "form": desc["f"], "due_at": parse_due(desc["d"]), "status": "open", "created_at": now,
        "completed_at": None, "completed_by": None,
    }


def write_timers(writes: Writes, *, instance_id: str, old: Projection, timers: list[PendingTimer],
                 fired: set[str], now: datetime) -> dict[str, list[str]]:
    """Keep one pending job row per waiting timer with its exact due time; return the new timer map."""
    new = {t.task_id: [t.due.isoformat(), t.bpmn_id] for t in timers}
    added = [t for t in timers if t.task_id not in old.timers]
    if added:
        writes.add(_NEW_TIMER, [{
            "instance_id": instance_id, "task_id": t.task_id, "kind": "timer", "bpmn_id": t.bpmn_id,
            "timer_kind": t.kind, "due_at": t.due, "status": "pending", "attempts": 0, "lease_owner": None,
            "lease_until": None, "last_error": None, "created_at": now, "updated_at": now} for t in added])
    gone = old.timers.keys() - new.keys()
    if gone:
        writes.add(_END_TIMER, [{"iid": instance_id, "tid": k, "st": "done" if k in fired else "cancelled",
                                 "at": now} for k in gone])
    moved = [{"iid": instance_id, "tid": t.task_id, "due": t.due, "at": now} for t in timers
             if t.task_id in old.timers and old.timers[t.task_id][0] != new[t.task_id][0]]
    if moved:
        writes.add(_MOVE_TIMER, moved)
    return new


def write_retry(writes: Writes, *, instance_id: str, proj: Projection, status: str, error: str | None,
                backoff: list[float], now: datetime) -> datetime | None:
    """Schedule, advance or close the retry job of an instance whose service task failed.

    `status` is the instance's new status: error schedules or advances the job; suspended keeps it as it is
    (an incident stays an incident); terminated cancels it; anything else means the retry succeeded (done).
    """
    if status == "suspended":
        return datetime.fromisoformat(proj.retry_due) if proj.retry_due else None
    if status != "error" and not proj.retry_attempts:
        return None  # the common case: no retry job exists, nothing to build or write
    active = sa.update(TimerJob).where(TimerJob.instance_id == instance_id, TimerJob.kind == "retry",
                                       TimerJob.status.in_((*ACTIVE_JOB, "failed")))
    if status != "error":
        if proj.retry_attempts:
            closed = active.values(status="cancelled" if status == "terminated" else "done", lease_owner=None,
                                   lease_until=None, updated_at=now)
            writes.call(lambda conn: conn.execute(closed))
        proj.retry_attempts, proj.retry_due = 0, None
        return None
    attempt = proj.retry_attempts
    exhausted = attempt >= len(backoff)
    due = now + timedelta(seconds=backoff[min(attempt, len(backoff) - 1)])
    values = {"status": "failed" if exhausted else "pending", "due_at": due, "attempts": attempt + 1,
              "last_error": (error or "")[:2000], "lease_owner": None, "lease_until": None, "updated_at": now}
    job = (sa.insert(TimerJob).values(instance_id=instance_id, task_id="", kind="retry", bpmn_id="", created_at=now,
                                      **values) if attempt == 0 else active.values(**values))
    writes.call(lambda conn: conn.execute(job))
    proj.retry_attempts, proj.retry_due = attempt + 1, None if exhausted else due.isoformat()
    return None if exhausted else due
