"""The heat map of one process version (流程热力图): open, overdue and time spent per element, from `human_task`.

Counted over the instances of that version still running (not completed or terminated). Open and overdue are the
worklist's own rows (status open; overdue when the due time has passed, as the worklist's countdown says), so the
number on an element equals what the worklists hold for it. Time spent is completed minus created of the tasks those
instances finished. Nothing here loads a workflow snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessDefinition
from processes.runtime.models import ProcessInstance

FINISHED = ("completed", "terminated")


@dataclass(frozen=True)
class ElementLoad:
    """The load of one BPMN element of a version: open and overdue tasks, finished tasks and their mean duration."""

    bpmn_id: str
    open: int = 0
    overdue: int = 0
    done: int = 0
    mean_seconds: float | None = None


def definition(db: Session, key: str, version: int) -> ProcessDefinition | None:
    """Return the definition version `key` v`version`, or None."""
    return db.scalar(sa.select(ProcessDefinition).where(ProcessDefinition.key == key,
                                                        ProcessDefinition.version == version))


def versions(db: Session, key: str) -> list[tuple[int, str, int]]:
    """Return the versions of a process as (version, status, running instances), newest first."""
    running = (sa.select(sa.func.count()).select_from(ProcessInstance)
               .where(ProcessInstance.definition_id == ProcessDefinition.id,
                      ProcessInstance.status.not_in(FINISHED)).scalar_subquery())
    rows = db.execute(sa.select(ProcessDefinition.version, ProcessDefinition.status, running)
                      .where(ProcessDefinition.key == key).order_by(ProcessDefinition.version.desc()))
    return [(int(v), str(s), int(n or 0)) for v, s, n in rows]


def _seconds(db: Session) -> ColumnElement[float]:
    """The seconds a task took (created → completed), in the dialect's own arithmetic."""
    start, end = HumanTask.created_at, HumanTask.completed_at
    if db.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.extract("epoch", end - start), sa.Float)
    return sa.cast((sa.func.julianday(end) - sa.func.julianday(start)) * 86400.0, sa.Float)


def element_load(db: Session, definition_id: int, now: datetime) -> dict[str, ElementLoad]:
    """Return the load of every element of a version that has tasks in its running instances."""
    running = sa.and_(ProcessInstance.id == HumanTask.instance_id, ProcessInstance.definition_id == definition_id)
    overdue = sa.func.sum(sa.case((HumanTask.due_at < now, 1), else_=0))
    open_rows = db.execute(sa.select(HumanTask.bpmn_id, sa.func.count(), overdue).join(ProcessInstance, running)
                           .where(HumanTask.status == "open").group_by(HumanTask.bpmn_id))
    found = {str(b): ElementLoad(str(b), int(n), int(late or 0)) for b, n, late in open_rows}
    spent = _seconds(db)
    done_rows = db.execute(sa.select(HumanTask.bpmn_id, sa.func.count(), sa.func.avg(spent))
                           .join(ProcessInstance, running)
                           .where(HumanTask.status == "completed", HumanTask.completed_at.is_not(None),
                                  ProcessInstance.status.not_in(FINISHED))
                           .group_by(HumanTask.bpmn_id))
    for bpmn_id, n, mean in done_rows:
        old = found.get(str(bpmn_id), ElementLoad(str(bpmn_id)))
        found[str(bpmn_id)] = ElementLoad(old.bpmn_id, old.open, old.overdue, int(n),
                                          float(mean) if mean is not None else None)
    return found
