"""Who works on a task (任务认领与转交): claim, give back, assign or hand over; one short transaction each, with the
caller's `also` writes last in it."""

from __future__ import annotations

import sqlalchemy as sa

from processes.errors import Conflict
from processes.errors import NotFound
from processes.errors import TaskNotReady
from processes.runtime.context import Also
from processes.runtime.context import CommandSummary
from processes.runtime.core import Runtime
from processes.runtime.models import HistoryEvent
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessInstance
from processes.runtime.projections import Projection


def claim(rt: Runtime, instance_id: str, task_id: str, *, actor: str, also: Also | None = None) -> None:
    """Claim an open task for yourself (认领); someone else's claim is a Conflict."""
    _set_assignee(rt, instance_id, task_id, actor=actor, assignee=actor, only_if_free=True, kind="claimed",
                  also=also)


def unclaim(rt: Runtime, instance_id: str, task_id: str, *, actor: str, also: Also | None = None) -> None:
    """Give a claimed task back to the group (退回待领)."""
    _set_assignee(rt, instance_id, task_id, actor=actor, assignee=None, only_if_free=False, kind="unclaimed",
                  also=also)


def assign(rt: Runtime, instance_id: str, task_id: str, assignee: str, *, actor: str,
           also: Also | None = None) -> None:
    """Assign or hand over a task to a named user (指派/转交)."""
    _set_assignee(rt, instance_id, task_id, actor=actor, assignee=assignee, only_if_free=False, kind="assigned",
                  also=also)


def _set_assignee(rt: Runtime, instance_id: str, task_id: str, *, actor: str, assignee: str | None,
                  only_if_free: bool, kind: str, also: Also | None) -> None:
    with rt.write() as session, session.begin():
        row = session.execute(sa.select(ProcessInstance.projection, ProcessInstance.case_id, ProcessInstance.status)
                              .where(ProcessInstance.id == instance_id).with_for_update()).one_or_none()
        if row is None:
            raise NotFound(f"instance {instance_id} not found")
        proj = Projection.loads(row.projection)
        desc = proj.tasks.get(task_id)
        if desc is None or row.status not in ("running", "waiting"):
            raise TaskNotReady("this task is no longer open")
        if only_if_free and desc.get("a") not in (None, actor):
            raise Conflict(f"task is already claimed by {desc['a']}")
        desc["a"] = assignee
        session.execute(sa.update(ProcessInstance).where(ProcessInstance.id == instance_id)
                        .values(projection=proj.dumps()))
        session.execute(sa.update(HumanTask).where(HumanTask.id == task_id).values(assignee=assignee))
        session.execute(sa.insert(HistoryEvent).values(
            instance_id=instance_id, case_id=row.case_id, at=rt.clock(), actor=actor, kind=kind, task_id=task_id,
            bpmn_id=desc.get("b"), fields=[], detail={"assignee": assignee} if kind == "assigned" else {}))
        if also is not None:
            also(session.connection(), CommandSummary(instance_id, row.case_id, row.status))
