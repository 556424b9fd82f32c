"""Absence and turnover (请假、病假、离职/调岗交接): every open task a person holds, handed over at once.

Each task goes to the named colleague when they may work on it (the worklist's own rule, `access.task_filter`),
otherwise back to its group (退回待认领: unclaimed, in its role and unit pool) or, at the caller's choice, stays
where it is. The whole batch is one transaction: the instance rows are locked, the plan is made again under the
locks and compared with the one the caller saw; any difference (a task finished, handed on or newly given to the
person meanwhile) refuses the whole batch with `PlanChanged` (409), so nothing is handed over that was not shown.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.accounts.models import AppUser
from processes.accounts.models import UserRole
from processes.cases import access
from processes.cases.models import Case
from processes.errors import Conflict
from processes.runtime.models import HistoryEvent
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessInstance
from processes.runtime.projections import Projection

GROUP = ""  # the receiver of a task going back to its group (退回待认领)
FALLBACKS = ("group", "keep")  # what becomes of a task the chosen person cannot take
KINDS = ("leave", "illness", "leaving")  # 请假, 病假, 离职/调岗
# A task's holder may change whatever the instance is doing: it moves no token and fires no timer.
HOLDER_STATUSES = ("running", "waiting", "suspended", "error")
Locked = sa.Row[str, str, str | None, str]  # an instance row as locked: id, projection, case id, status


@dataclass(frozen=True)
class Person:
    """A member of staff (工作人员) as the hand-over sees them: account, unit, roles, whether active."""

    username: str
    real_name: str
    department: str | None
    roles: frozenset[str]
    active: bool

    @property
    def viewer(self) -> access.Viewer:
        """Return the person as the object rules see them."""
        return access.Viewer(self.username, self.roles, self.department)


@dataclass(frozen=True)
class Item:
    """One held task in a plan: what it is, its case and due time, and who would receive it ('' = the group)."""

    task_id: str
    instance_id: str
    bpmn_id: str
    name: str
    role: str | None
    department: str | None
    case_id: str | None
    case_number: str
    due_at: datetime | None
    receiver: str | None  # a username, GROUP, or None: stays with the holder
    fits: bool  # whether the chosen person may take it

    @property
    def key(self) -> str:
        """Return the item as the confirmation form carries it: task id and receiver."""
        return f"{self.task_id}:{'-' if self.receiver is None else self.receiver}"


@dataclass(frozen=True)
class Plan:
    """The hand-over of one person's tasks: to whom, what becomes of tasks the receiver cannot take, and each task."""

    holder: Person
    to: Person | None
    fallback: str
    items: list[Item]

    @property
    def keys(self) -> list[str]:
        """Return what the confirmation form must carry back (task and receiver of every item)."""
        return [item.key for item in self.items]

    @property
    def moving(self) -> list[Item]:
        """Return the items that change hands."""
        return [item for item in self.items if item.receiver is not None]


class PlanChanged(Conflict):
    """The person's tasks or their receivers changed since the preview: nothing was handed over (409)."""

    def __init__(self, plan: Plan) -> None:
        super().__init__("the hand-over plan changed since it was shown")
        self.plan = plan


def person(session: Session, username: str) -> Person | None:
    """Return the member of staff with this username, or None."""
    user = session.scalar(sa.select(AppUser).where(AppUser.username == username))
    if user is None:
        return None
    roles = frozenset(session.scalars(sa.select(UserRole.role).where(UserRole.user_id == user.id)))
    return Person(user.username, user.real_name or user.username, user.department, roles, user.active)


def _held(session: Session, username: str) -> list[tuple[HumanTask, str | None]]:
    """Return the open tasks the person holds with their case numbers, soonest deadline first."""
    query = (sa.select(HumanTask, Case.number).outerjoin(Case, Case.id == HumanTask.case_id)
             .where(HumanTask.assignee == username, HumanTask.status == "open")
             .order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.created_at, HumanTask.id))
    return [(task, number) for task, number in session.execute(query)]


def receivable(session: Session, receiver: Person, task_ids: Sequence[str]) -> set[str]:
    """Return which of the tasks the receiver could work on: their roles and unit, as their worklist decides."""
    if not task_ids or not receiver.active:
        return set()
    query = sa.select(HumanTask.id).where(HumanTask.id.in_(task_ids), access.task_filter(receiver.viewer))
    return set(session.scalars(query))


def make_plan(session: Session, holder: Person, to: Person | None, fallback: str = "group") -> Plan:
    """Return who would receive each open task the holder has: `to` where they may take it, else the fallback."""
    held = _held(session, holder.username)
    fits = receivable(session, to, [task.id for task, _ in held]) if to is not None else set()
    items = []
    for task, number in held:
        ok = to is not None and task.id in fits
        receiver = to.username if to is not None and ok else GROUP if fallback == "group" or to is None else None
        items.append(Item(task.id, task.instance_id, task.bpmn_id, task.name, task.role, task.department,
                          task.case_id, number or "", task.due_at, receiver, ok))
    return Plan(holder, to, fallback, items)


def candidates(session: Session, holder: Person, roles: set[str]) -> list[Person]:
    """Return active colleagues holding any of these roles (who may receive some of the tasks), by unit and name."""
    query = (sa.select(AppUser.username).join(UserRole, UserRole.user_id == AppUser.id)
             .where(UserRole.role.in_(sorted(roles)), AppUser.active.is_(True), AppUser.username != holder.username)
             .distinct().order_by(AppUser.username))
    found = [person(session, name) for name in session.scalars(query)]
    return sorted((p for p in found if p is not None), key=lambda p: (p.department or "", p.username))


Audit = Callable[[Session, Item], None]


def apply(session: Session, plan: Plan, *, expected: Sequence[str] | None, actor: str, at: datetime, kind: str,
          reason: str, audit: Audit) -> Plan:
    """Hand the tasks over as planned, in the caller's transaction; return the plan carried out.

    The instances are locked first and the plan made again under the locks. With `expected` (the keys the
    caller confirmed) any difference raises PlanChanged carrying the new plan; without it (disabling an account)
    whatever the person holds at that moment is handed over. Each change writes history and the caller's audit row.
    """
    locked: dict[str, Locked] = {}
    fresh = plan
    while unlocked := {item.instance_id for item in fresh.items} - set(locked):  # a task may appear meanwhile
        locked |= _lock(session, sorted(unlocked))
        fresh = make_plan(session, plan.holder, plan.to, plan.fallback)
    if expected is not None and sorted(fresh.keys) != sorted(expected):
        raise PlanChanged(fresh)
    by_instance: dict[str, list[Item]] = {}
    for item in fresh.moving:
        by_instance.setdefault(item.instance_id, []).append(item)
    for instance_id, items in by_instance.items():
        _hand_over(session, locked[instance_id], items, plan.holder.username, actor=actor, at=at, kind=kind,
                   reason=reason)
        for item in items:
            audit(session, item)
    return fresh


def _lock(session: Session, instance_ids: list[str]) -> dict[str, Locked]:
    """Lock the instance rows in a fixed order (no deadlock with another batch) and return them as locked."""
    query = (sa.select(ProcessInstance.id, ProcessInstance.projection, ProcessInstance.case_id,
                       ProcessInstance.status).where(ProcessInstance.id.in_(instance_ids))
             .order_by(ProcessInstance.id).with_for_update())
    return {row.id: row for row in session.execute(query)}


def _hand_over(session: Session, row: Locked, items: list[Item], holder: str, *,
               actor: str, at: datetime, kind: str, reason: str) -> None:
    """Change the holder of the instance's tasks: its projection, the task rows and one history event each."""
    instance_id = row.id
    proj = Projection.loads(row.projection)
    for item in items:
        desc = proj.tasks.get(item.task_id)
        if desc is None or desc.get("a") != holder or row.status not in HOLDER_STATUSES:
            raise Conflict(f"task {item.task_id} changed meanwhile")  # the projection disagrees with the task row
        assignee = item.receiver or None
        desc["a"] = assignee
        changed = session.execute(sa.update(HumanTask).where(HumanTask.id == item.task_id,
                                                             HumanTask.assignee == holder).values(assignee=assignee))
        if changed.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's CursorResult
            raise Conflict(f"task {item.task_id} changed meanwhile")
        detail = {"previous": holder, "handover": kind, "reason": reason}
        session.execute(sa.insert(HistoryEvent).values(
            instance_id=instance_id, case_id=row.case_id, at=at, actor=actor,
            kind="assigned" if assignee else "unclaimed", task_id=item.task_id, bpmn_id=item.bpmn_id, fields=[],
            detail={"assignee": assignee, **detail} if assignee else detail))
    session.execute(sa.update(ProcessInstance).where(ProcessInstance.id == instance_id)
                    .values(projection=proj.dumps()))
