"""What a supervisor's interventions (干预) need besides the runtime's commands: the race guard and the choices.

The runtime's control commands (挂起/恢复/终止, 调整时限) lock the instance and check its status; `version_guard`
adds the check that it is still the version the supervisor looked at, inside the same transaction, so a change made
meanwhile (a task done, a timer fired) turns the intervention into a lost race (409) instead of acting blind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from processes.errors import Conflict
from processes.reference.models import Department
from processes.runtime.context import Also
from processes.runtime.context import CommandSummary
from processes.runtime.models import ProcessInstance
from processes.runtime.models import TimerJob


@dataclass(frozen=True)
class WaitingTimer:
    """A deadline the supervisor may move: the waiting timer's task id, BPMN id and due time."""

    task_id: str
    bpmn_id: str
    due_at: datetime


def version_guard(instance_id: str, seen: int, then: Also) -> Also:
    """Wrap a command's `also`: refuse (Conflict) unless the command saved exactly the version after `seen`.

    The command holds the instance lock from its start and adds one to the version when it saves, so any other
    version here means the instance changed between the supervisor's page and the command.
    """

    def also(conn: Connection, done: CommandSummary) -> object:
        version = conn.execute(sa.select(ProcessInstance.version).where(ProcessInstance.id == instance_id)).scalar()
        if version != seen + 1:
            raise Conflict("the case was changed by someone else; reload and try again")
        return then(conn, done)

    return also


def waiting_timers(db: Session, instance_id: str) -> list[WaitingTimer]:
    """The instance's waiting BPMN timers (时限), soonest first, from the timer rows."""
    rows = db.execute(sa.select(TimerJob.task_id, TimerJob.bpmn_id, TimerJob.due_at).where(
        TimerJob.instance_id == instance_id, TimerJob.kind == "timer", TimerJob.status.in_(("pending", "claimed")))
        .order_by(TimerJob.due_at))
    return [WaitingTimer(str(t), str(b), d) for t, b, d in rows]


def units(db: Session) -> list[tuple[str, str]]:
    """Active handling units and townships a unit's task may be handed to, by kind and name."""
    rows = db.execute(sa.select(Department.code, Department.name).where(
        Department.active.is_(True), Department.kind.in_(("department", "township")))
        .order_by(Department.kind, Department.name))
    return [(str(code), str(name)) for code, name in rows]
