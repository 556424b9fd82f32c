"""Supervisor's hand-over of an open task (督办改派/转交): to a person, or to another unit, with a reason.

One command on the instance (locked, version-checked): the task's unit is the data value its diagram names
(`department_variable`), so a new unit is written there and the rest of its subprocess follows it; the case's units,
its stored deadlines of that unit, the task projection and the history move in the same transaction. A version or
holder other than the one the supervisor saw is a lost race (Conflict, 409).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from processes.cases.models import Case
from processes.engine import runtime as wfops
from processes.engine import task_values
from processes.errors import Conflict
from processes.errors import FormDataInvalid
from processes.errors import TaskNotReady
from processes.reference.models import CaseDeadline
from processes.runtime.context import Also
from processes.runtime.context import CommandContext
from processes.runtime.core import Runtime
from processes.runtime.models import HumanTask

UNIT_STAGES = ("sign_for", "handle")  # the stored deadlines that belong to a unit's own round


@dataclass(frozen=True)
class Seen:
    """What the supervisor's page showed: the instance version and the task's holder (None: the group)."""

    version: int
    assignee: str | None


def check_seen(ctx: CommandContext, task_id: str, seen: Seen) -> dict[str, object]:
    """Return the open task's projection, or raise Conflict when the instance or the holder changed meanwhile."""
    desc = ctx.projection.tasks.get(task_id)
    if desc is None:
        raise TaskNotReady("this task is no longer open")
    if int(ctx.row.version) != seen.version:
        raise Conflict("the case was changed by someone else; reload and try again")
    if desc.get("a") != seen.assignee:
        raise Conflict(f"task is claimed by {desc.get('a')}" if desc.get("a") else "the task was given back")
    return desc


def reassign_task(rt: Runtime, instance_id: str, task_id: str, *, actor: str, reason: str, seen: Seen,
                  assignee: str | None = None, department: str | None = None, also: Also | None = None) -> None:
    """Give an open task to a person, or to another unit's group (assignee None), recording why."""
    if not reason.strip():
        raise FormDataInvalid("a reason is required", field="reason")
    if assignee is None and department is None:
        raise FormDataInvalid("name a person or a unit", field="assignee")

    def mutate(ctx: CommandContext) -> None:
        desc = check_seen(ctx, task_id, seen)
        old_unit = desc.get("dep")
        if department is not None and department != old_unit:
            _move_unit(ctx, task_id, str(old_unit or ""), department)
        desc["a"] = assignee  # kept by the save (a claim survives engine steps); the row is written below
        ctx.record("assigned", task_id=task_id, bpmn_id=desc.get("b"), assignee=assignee,
                   previous=seen.assignee, department=department, previous_department=old_unit,
                   reason=reason[:200])
        values: dict[str, object] = {"assignee": assignee}
        if department is not None:
            values["department"] = department
        ctx.after_save.append(lambda conn: conn.execute(
            sa.update(HumanTask).where(HumanTask.id == task_id).values(**values)))

    rt.command(instance_id, actor, mutate, also=also)


def _move_unit(ctx: CommandContext, task_id: str, old: str, new: str) -> None:
    """Write the new unit into the task's data and move the case's units and that unit's deadlines to it."""
    task = next((t for t in wfops.open_tasks(ctx.workflow) if t.id == task_id), None)
    variable = (task.properties.get("department_variable") if task else None) or ""
    if not variable or not old:
        raise FormDataInvalid("this task is not a unit's task; hand it to a person", field="department")
    session = ctx.session
    case = session.get(Case, ctx.row.case_id, populate_existing=True) if ctx.row.case_id else None
    if case is not None:
        if new == case.lead_department or new in (case.assisting_departments or []):
            raise FormDataInvalid("the unit already handles this case", field="department")
        if case.lead_department == old:
            case.lead_department = new
        else:
            case.assisting_departments = [new if d == old else d for d in case.assisting_departments or []]
        case.updated_at = ctx.now
    session.execute(sa.update(CaseDeadline).where(
        CaseDeadline.instance_id == ctx.row.id, CaseDeadline.unit == old, CaseDeadline.stage.in_(UNIT_STAGES))
        .values(unit=new, updated_at=ctx.now))
    task_values.set_task_value(ctx.workflow, task_id, variable, new)
