"""A case's stored due times (工单时限) and stages: its open tasks' earliest deadline, BPMN ids and its next timer.

Lists across cases (search, office board 督办台, exports) read `hotline_case.open_task_due` and `next_timer_due`
instead of a subquery per case over human_task and timer_job: at 1,000,000 cases that subquery made the board take
seconds; `open_stages` (the open tasks' BPMN ids) spares the board its join to human_task. Every command writes
its task and timer rows in `Runtime.save`, so the case's columns are refreshed there,
in the same transaction, whenever the open tasks' deadlines or the waiting timers changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from typing import cast

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from processes.cases.models import Case
from processes.engine import PendingTimer
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessInstance
from processes.runtime.models import TimerJob
from processes.runtime.projections import Projection
from processes.runtime.projections import parse_due
from processes.runtime.statements import Writes

_CASE = cast(sa.Table, Case.__table__)
_TASK = cast(sa.Table, HumanTask.__table__)
_TIMER = cast(sa.Table, TimerJob.__table__)
_INSTANCE = cast(sa.Table, ProcessInstance.__table__)
_CID: sa.BindParameter[str] = sa.bindparam("cid")
_IID: sa.BindParameter[str] = sa.bindparam("iid")


def _earliest(others: sa.Select[Any], own: str) -> sa.ScalarSelect[Any]:
    """MIN over the other instances' rows and this instance's own value (NULLs ignored; any database).

    The command's own rows are passed in, not read: on PostgreSQL this update runs in the same statement as the
    task and timer writes (processes.runtime.statements), whose changes it cannot see.
    """
    both = sa.union_all(others, sa.select(sa.bindparam(own, type_=_TASK.c.due_at.type).label("d"))).subquery()
    return sa.select(sa.func.min(both.c.d)).scalar_subquery()


_OTHER_TASKS = sa.select(_TASK.c.due_at.label("d")).where(
    _TASK.c.case_id == _CID, _TASK.c.status == "open", _TASK.c.instance_id != _IID)
_OTHER_TIMERS = sa.select(_TIMER.c.due_at.label("d")).select_from(
    _TIMER.join(_INSTANCE, _INSTANCE.c.id == _TIMER.c.instance_id)).where(
    _INSTANCE.c.case_id == _CID, _INSTANCE.c.id != _IID, _TIMER.c.status == "pending", _TIMER.c.kind == "timer")


class _Joined(FunctionElement[str]):
    """Strings of a group joined by spaces (aggregate_strings binds its separator, which the merged writes cannot)."""

    name = "joined"
    inherit_cache = True
    type = sa.String()


@compiles(_Joined, "postgresql")
def _string_agg(element: _Joined, compiler: Any, **kw: Any) -> str:
    return f"string_agg({compiler.process(element.clauses, **kw)}, ' ')"


@compiles(_Joined)
def _group_concat(element: _Joined, compiler: Any, **kw: Any) -> str:
    return f"group_concat({compiler.process(element.clauses, **kw)}, ' ')"


_OTHER_STAGES = sa.select(_Joined(_TASK.c.bpmn_id)).where(
    _TASK.c.case_id == _CID, _TASK.c.status == "open", _TASK.c.instance_id != _IID).scalar_subquery()
_OWN_STAGES: sa.BindParameter[str] = sa.bindparam("own_stages", type_=sa.String())
# This instance's stages and the others' (a second instance's may repeat one: readers split into a set)
_STAGES = sa.func.nullif(sa.func.trim(sa.func.coalesce(_OWN_STAGES, "") + " " + sa.func.coalesce(_OTHER_STAGES, "")),
                         "")
# Built once (a hot-path statement): cases have one instance each today, but a second one's rows are counted too
REFRESH = _CASE.update().where(_CASE.c.id == _CID).values(
    open_task_due=_earliest(_OTHER_TASKS, "own_task"), next_timer_due=_earliest(_OTHER_TIMERS, "own_timer"),
    open_stages=_STAGES)


def task_due(tasks: Mapping[str, Mapping[str, Any]]) -> datetime | None:
    """The earliest deadline of the projected open tasks (their "d" entries)."""
    return min((d for d in (parse_due(t.get("d")) for t in tasks.values()) if d is not None), default=None)


def stages(tasks: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The projected open tasks' BPMN ids ("b"), distinct and sorted, separated by spaces; None without any."""
    return " ".join(sorted({str(t["b"]) for t in tasks.values() if t.get("b")})) or None


def refresh(writes: Writes, *, case_id: str | None, instance_id: str, old: Projection,
            tasks: Mapping[str, Mapping[str, Any]], timers: Sequence[PendingTimer]) -> None:
    """Queue the case's due columns when this command changed its open tasks (deadlines, stages) or its timers."""
    if case_id is None:
        return
    same_tasks = ({k: (t.get("d"), t.get("b")) for k, t in old.tasks.items()}
                  == {k: (t.get("d"), t.get("b")) for k, t in tasks.items()})
    same_timers = {k: v[0] for k, v in old.timers.items()} == {t.task_id: t.due.isoformat() for t in timers}
    if same_tasks and same_timers:
        return  # a claim, a draft, a reassignment: nothing the columns hold moved
    own_timer = min((t.due for t in timers), default=None)
    writes.add(REFRESH, {"cid": case_id, "iid": instance_id, "own_task": task_due(tasks), "own_timer": own_timer,
                        "own_stages": stages(tasks)})
