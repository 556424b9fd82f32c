"""Read models for worklists, timers and instance detail; they read projections, never snapshots."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from processes.cases.models import Case
from processes.errors import NotFound
from processes.runtime.models import HistoryEvent
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessDefinition
from processes.runtime.models import ProcessInstance
from processes.runtime.models import TimerJob
from processes.runtime.statements import fetch


def human_tasks(session: Session, *, instance_id: str | None = None, role: str | None = None,
                department: str | None = None, assignee: str | None = None, open_only: bool = True,
                limit: int = 200) -> list[HumanTask]:
    """Return human tasks matching the filters, soonest deadline first."""
    query = sa.select(HumanTask)
    for column, value in ((HumanTask.instance_id, instance_id), (HumanTask.role, role),
                          (HumanTask.department, department), (HumanTask.assignee, assignee)):
        if value is not None:
            query = query.where(column == value)
    if open_only:
        query = query.where(HumanTask.status == "open")
    query = query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.created_at).limit(limit)
    return list(session.scalars(query))


_TASKS = cast(sa.Table, HumanTask.__table__)
_OPEN_TASK_IDS = sa.select(_TASKS.c.id).where(_TASKS.c.instance_id == sa.bindparam("iid"), _TASKS.c.status == "open")


def open_task_ids(conn: Connection, instance_id: str) -> list[str]:
    """Return the ids of an instance's open human tasks: one indexed SELECT, no ORM objects."""
    return [str(row.id) for row in fetch(conn, _OPEN_TASK_IDS, {"iid": instance_id})]


def pending_jobs(session: Session, *, instance_id: str | None = None, limit: int = 200) -> list[TimerJob]:
    """Return timers and retries not yet done, soonest first (incidents included)."""
    query = sa.select(TimerJob).where(TimerJob.status.in_(("pending", "claimed", "failed")))
    if instance_id is not None:
        query = query.where(TimerJob.instance_id == instance_id)
    return list(session.scalars(query.order_by(TimerJob.due_at).limit(limit)))


def countdown(due: datetime | None, now: datetime) -> str:
    """Render a deadline as a countdown (剩余/超期), e.g. '剩余 3h20m' or '超期 1d2h'."""
    if due is None:
        return "无时限"
    seconds = int((due - now).total_seconds())
    label = "剩余" if seconds >= 0 else "超期"
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = (f"{days}d" if days else "") + (f"{hours}h" if hours or days else "") + f"{minutes}m"
    return f"{label} {parts}"


def describe_instance(session: Session, instance_id: str, now: datetime) -> str:
    """Return a readable summary of an instance (status, version, tasks, timers, history)."""
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"instance {instance_id} not found")
    definition = session.get(ProcessDefinition, instance.definition_id)
    case = session.get(Case, instance.case_id) if instance.case_id else None
    lines = [
        f"instance {instance.id}  {instance.process_key} v{definition.version if definition else '?'}  "
        f"status={instance.status}  version={instance.version}",
        f"case {case.number} status={case.status}" if case else "no case",
    ]
    if instance.error:
        lines.append(f"error: {instance.error}")
    lines.append("open tasks:")
    lines += [f"  {t.id} {t.name} role={t.role or '-'} dept={t.department or '-'} {countdown(t.due_at, now)}"
              for t in human_tasks(session, instance_id=instance_id)]
    lines.append("timers:")
    lines += [f"  {j.kind} {j.bpmn_id or '-'} {j.status} {countdown(j.due_at, now)}"
              for j in pending_jobs(session, instance_id=instance_id)]
    lines.append("history:")
    events = session.scalars(sa.select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
                             .order_by(HistoryEvent.id))
    lines += [f"  {e.at:%Y-%m-%d %H:%M:%S} {e.actor:<14} {e.kind:<18} {e.bpmn_id or ''} "
              f"{','.join(e.fields) if e.fields else ''}" for e in events]
    return "\n".join(lines)
