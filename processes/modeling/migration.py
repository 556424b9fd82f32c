"""Move running instances to a newer version (实例迁移): a dry run per instance, then one command per instance.

An instance can move when it is running or waiting and every task it has reached, in its subprocesses too, maps
to an element of the same BPMN id and type in the new version (`processes.engine.migration`). Moving keeps task
ids, data, claims and timer due times; the instance row points at the new version, its open tasks in the worklist
projection take the new version's names, roles and forms, and the history records the move. Anything not moved
finishes on its old version. Only a published version is a target: it has passed the four-eyes publication.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from processes import engine
from processes.cases.models import Case
from processes.cases.numbers import mask_numbers
from processes.engine import migration as rebinding
from processes.errors import InvalidState
from processes.errors import RuntimeErrorBase
from processes.modeling.versions import get_version
from processes.runtime.context import Also
from processes.runtime.context import CommandContext
from processes.runtime.core import Runtime
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessDefinition
from processes.runtime.models import ProcessInstance

MOVABLE = ("running", "waiting")
LISTED = ("running", "waiting", "suspended", "error")
MAX_LISTED = 500
_HUMAN_TASK = cast(sa.Table, HumanTask.__table__)
_INSTANCE = cast(sa.Table, ProcessInstance.__table__)


class MigrationRefused(InvalidState):
    """This instance cannot move to the new version (409); `reasons` say why."""

    def __init__(self, reasons: list[Reason]) -> None:
        super().__init__("; ".join(f"{r.code} {r.element}" for r in reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class Reason:
    """Why an instance cannot move: a code and the element (BPMN id) or status it concerns."""

    code: str  # status / not_on_version / open_missing / open_type / done_missing / called_missing
    element: str = ""
    process: str = ""


@dataclass(frozen=True)
class InstancePlan:
    """One instance in a dry run: where it stands and whether it can move."""

    instance_id: str
    case_number: str | None
    status: str
    open_tasks: tuple[str, ...]
    reasons: tuple[Reason, ...]

    @property
    def can_move(self) -> bool:
        """Whether applying would move it."""
        return not self.reasons


@dataclass(frozen=True)
class Moved:
    """What applying did for one instance: moved, or the reasons (or the error) that kept it back."""

    instance_id: str
    ok: bool
    reasons: tuple[Reason, ...] = ()
    error: str = ""


def versions_pair(session: Session, key: str, source: int, target: int) -> tuple[ProcessDefinition, ProcessDefinition]:
    """Return the two versions of a migration; the target must be newer and published."""
    old, new = get_version(session, key, source), get_version(session, key, target)
    if target <= source:
        raise InvalidState("the target version must be newer than the source version")
    if new.status != "published":
        raise InvalidState(f"version {target} is {new.status}: only the published version is a target")
    return old, new


def _reasons(problems: Iterable[rebinding.MigrationProblem]) -> tuple[Reason, ...]:
    return tuple(Reason(p.code, p.element, p.process) for p in problems)


def plan(rt: Runtime, key: str, source: int, target: int, *, instance_ids: Iterable[str] | None = None
         ) -> list[InstancePlan]:
    """Dry run: every instance still on the source version (or those named), and whether each can move."""
    with rt.read() as session:
        old, new = versions_pair(session, key, source, target)
        query = (sa.select(ProcessInstance.id, ProcessInstance.status, ProcessInstance.snapshot, Case.number)
                 .outerjoin(Case, Case.id == ProcessInstance.case_id)
                 .where(ProcessInstance.definition_id == old.id, ProcessInstance.status.in_(LISTED))
                 .order_by(ProcessInstance.created_at, ProcessInstance.id).limit(MAX_LISTED))
        if instance_ids is not None:
            query = query.where(ProcessInstance.id.in_(list(instance_ids)))
        rows = session.execute(query).all()
        tasks = _open_tasks(session, [r.id for r in rows])
        old_specs, new_specs = rt.specs.get(session, old.id), rt.specs.get(session, new.id)
    out = []
    for row in rows:
        reasons: tuple[Reason, ...] = ()
        if row.status not in MOVABLE:
            reasons = (Reason("status", row.status),)
        else:
            workflow = engine.load_workflow(row.snapshot, *old_specs)
            reasons = _reasons(rebinding.problems(workflow, *new_specs))
        out.append(InstancePlan(row.id, row.number, row.status, tuple(tasks.get(row.id, ())), reasons))
    return out


def _open_tasks(session: Session, ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    if ids:
        rows = session.execute(sa.select(HumanTask.instance_id, HumanTask.bpmn_id).where(
            HumanTask.instance_id.in_(ids), HumanTask.status == "open").order_by(HumanTask.created_at))
        for instance_id, bpmn_id in rows:
            found.setdefault(instance_id, []).append(bpmn_id)
    return found


def move_one(rt: Runtime, instance_id: str, old: ProcessDefinition, new: ProcessDefinition, *, actor: str,
             reason: str, also: Also | None = None) -> None:
    """Move one instance in one command: lock, check, re-bind, save, re-point, refresh its open tasks, record."""
    new_id, old_version, new_version = new.id, old.version, new.version

    def mutate(ctx: CommandContext) -> None:
        if ctx.row.definition_id != old.id:
            raise MigrationRefused([Reason("not_on_version", str(old_version))])
        new_specs = rt.specs.get(ctx.conn, new_id)
        problems = rebinding.problems(ctx.workflow, *new_specs)
        if problems:
            raise MigrationRefused(list(_reasons(problems)))
        try:
            rebinding.rebind(ctx.workflow, *new_specs)
        except Exception as exc:  # never save a half re-bound workflow: the transaction rolls back
            raise InvalidState(f"re-binding failed: {type(exc).__name__}") from exc
        ctx.record("migrated", from_version=old_version, to_version=new_version, reason=mask_numbers(reason)[:500])
        ctx.after_save.append(lambda conn: _repoint(conn, ctx, new_id))

    rt.command(instance_id, actor, mutate, allowed=MOVABLE, also=also)


def _repoint(conn: Connection, ctx: CommandContext, definition_id: int) -> None:
    """Point the instance at its new version and give its open tasks the new version's names, roles and forms."""
    conn.execute(_INSTANCE.update().where(_INSTANCE.c.id == ctx.row.id).values(definition_id=definition_id))
    for task_id, desc in ctx.projection.tasks.items():
        conn.execute(_HUMAN_TASK.update().where(_HUMAN_TASK.c.id == task_id, _HUMAN_TASK.c.status == "open").values(
            bpmn_id=desc["b"], name=desc["n"], role=desc["r"], department=desc["dep"], priority=desc["p"],
            form=desc["f"]))


def apply(rt: Runtime, key: str, source: int, target: int, instance_ids: Iterable[str], *, actor: str,
          reason: str, also_for: Callable[[str], Also] | None = None) -> list[Moved]:
    """Move the named instances, each in its own transaction; return what happened to each."""
    if not reason.strip():
        raise InvalidState("a reason is required")
    with rt.read() as session:
        old, new = versions_pair(session, key, source, target)
    results = []
    for instance_id in dict.fromkeys(instance_ids):
        try:
            move_one(rt, instance_id, old, new, actor=actor, reason=reason,
                     also=also_for(instance_id) if also_for else None)
        except MigrationRefused as exc:
            results.append(Moved(instance_id, False, tuple(exc.reasons)))
        except RuntimeErrorBase as exc:
            results.append(Moved(instance_id, False, error=str(exc)[:300]))
        else:
            results.append(Moved(instance_id, True))
    return results
