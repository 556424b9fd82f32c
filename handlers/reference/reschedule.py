"""Move the deadlines of open cases after a change of calendar, SLA rules or settings (参考数据变更后重排时限).

Each `case_deadline` row of a running or waiting instance is recomputed from its stored start and extension days.
Pending timers listed on the row (by BPMN id) whose due time still equals the row's old value move to the new
value through `reschedule_timers`, one command per case with the reason in its history (the rows follow their
timers in that command). A deadline someone moved by hand (`hotline reschedule`, recorded in the history) keeps
its time and its timer: its row is recomputed for the yellow and notice points only. Timers move first, then the
row: if the second step fails, a rerun finds the timers already at the new time and only updates the row.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers.base import HandlerError
from handlers.deadlines import Deadline
from handlers.deadlines import compute
from handlers.deadlines import routing_of
from processes.cases.models import Case
from processes.errors import RuntimeErrorBase
from processes.reference.models import CaseDeadline
from processes.runtime.control import reschedule_timers
from processes.runtime.core import Runtime
from processes.runtime.models import HistoryEvent
from processes.runtime.models import ProcessInstance
from processes.runtime.models import TimerJob

ACTOR = "system:reference"


@dataclass
class RescheduleReport:
    """What a recomputation did: cases whose timers moved, timers moved, rows updated, problems."""

    cases: int = 0
    timers: int = 0
    rows: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Pending:
    """A pending BPMN timer job of an instance."""

    task_id: str
    bpmn_id: str
    due_at: datetime


def _ids(text: str) -> set[str]:
    """Split a comma list of BPMN ids."""
    return {p for p in text.split(",") if p}


def _open_rows(session: Session) -> dict[str, list[CaseDeadline]]:
    """Return deadline rows of running or waiting instances, by instance."""
    rows = session.scalars(sa.select(CaseDeadline).join(
        ProcessInstance, ProcessInstance.id == CaseDeadline.instance_id).where(
        ProcessInstance.status.in_(("running", "waiting"))).order_by(CaseDeadline.id)).all()
    out: dict[str, list[CaseDeadline]] = defaultdict(list)
    for row in rows:
        out[row.instance_id].append(row)
    return out


def _pending(session: Session, instance_ids: list[str]) -> dict[str, list[_Pending]]:
    """Return the pending BPMN timer jobs of these instances."""
    out: dict[str, list[_Pending]] = defaultdict(list)
    if not instance_ids:
        return out
    jobs = session.execute(sa.select(TimerJob.instance_id, TimerJob.task_id, TimerJob.bpmn_id, TimerJob.due_at).where(
        TimerJob.instance_id.in_(instance_ids), TimerJob.kind == "timer", TimerJob.status == "pending"))
    for job in jobs:
        out[job.instance_id].append(_Pending(job.task_id, job.bpmn_id, job.due_at))
    return out


def _by_hand(session: Session, instance_ids: list[str]) -> dict[str, dict[str, datetime]]:
    """Return, per instance, where people (not this recomputation) last put each timer they moved, by BPMN id."""
    out: dict[str, dict[str, datetime]] = defaultdict(dict)
    if not instance_ids:
        return out
    events = session.execute(sa.select(HistoryEvent.instance_id, HistoryEvent.detail).where(
        HistoryEvent.instance_id.in_(instance_ids), HistoryEvent.kind == "timers_rescheduled",
        HistoryEvent.actor != ACTOR).order_by(HistoryEvent.id))
    for instance_id, detail in events:
        for moved in (detail or {}).get("timers", []):
            try:
                out[instance_id][str(moved["bpmn_id"])] = datetime.fromisoformat(str(moved["to"]))
            except (KeyError, TypeError, ValueError):
                continue  # not a move this code wrote: ignore it
    return out


def _keep_hand_moved(row: CaseDeadline, new: Deadline, by_hand: dict[str, datetime]) -> Deadline:
    """Keep a due time someone set by hand: the recomputation may move the yellow and notice points only."""
    if any(by_hand.get(bpmn_id) == row.due_at for bpmn_id in _ids(row.due_timers)):
        return replace(new, due=row.due_at, capped=row.capped)
    return new


def _moves(row: CaseDeadline, new: Deadline, pending: list[_Pending]) -> dict[str, datetime]:
    """Return {timer task id: new due} for the row's timers still at the row's old times."""
    moves: dict[str, datetime] = {}
    for timers, old, value in ((row.due_timers, row.due_at, new.due), (row.warn_timers, row.warn_at, new.warn_at),
                               (row.notice_timers, row.notice_at, new.notice_at)):
        if value is None or old is None or value == old:
            continue
        for job in pending:
            if job.bpmn_id in _ids(timers) and job.due_at == old:
                moves[job.task_id] = value
    return moves


def _changed(row: CaseDeadline, new: Deadline) -> bool:
    """Return True when a recomputed deadline differs from the stored row."""
    return (row.due_at, row.warn_at, row.notice_at, row.capped, row.calendar_warning, row.rule) != (
        new.due, new.warn_at, new.notice_at, new.capped, new.calendar_warning, new.rule[:200])


def _save(rt: Runtime, updates: list[tuple[int, Deadline]]) -> None:
    """Write recomputed rows, and the case deadline where it came from a handling row."""
    with rt.write() as session, session.begin():
        now = rt.clock()
        for row_id, new in updates:
            row = session.get(CaseDeadline, row_id)
            if row is None:
                continue
            if row.stage == "handle" and row.case_id is not None:
                session.execute(sa.update(Case).where(Case.id == row.case_id, Case.deadline == row.due_at).values(
                    deadline=new.due, updated_at=now))
            row.due_at, row.warn_at, row.notice_at, row.capped = new.due, new.warn_at, new.notice_at, new.capped
            row.calendar_warning, row.rule, row.updated_at = new.calendar_warning, new.rule[:200], now


@dataclass(frozen=True)
class Move:
    """One deadline row a recomputation changes: its case, stage and unit, the due time before and after."""

    instance_id: str
    case_id: str | None
    stage: str
    unit: str
    before: datetime
    after: datetime
    timers: int  # how many of the row's pending timers move with it


@dataclass
class Plan:
    """What a recomputation would do to one instance: rows to rewrite and timers to move (task id: new due)."""

    instance_id: str
    updates: list[tuple[int, Deadline]]
    moves: dict[str, datetime]
    changes: list[Move]


def plan_open_deadlines(session: Session, problems: list[str]) -> list[Plan]:
    """Recompute open cases' deadlines from the reference data the session sees; write nothing (预演).

    A dry run calls this in a transaction that holds the change and is rolled back afterwards, so what it counts
    is what `reschedule_open_deadlines` then moves.
    """
    by_instance = _open_rows(session)
    pending = _pending(session, list(by_instance))
    by_hand = _by_hand(session, list(by_instance))
    plans = []
    for instance_id, rows in by_instance.items():
        listed = set().union(*(_ids(r.due_timers) | _ids(r.warn_timers) | _ids(r.notice_timers) for r in rows))
        if not any(job.bpmn_id in listed for job in pending[instance_id]):
            continue  # no timer of these deadlines waits any more: they are history
        plan = Plan(instance_id, [], {}, [])
        for row in rows:
            try:
                new = compute(session, routing_of(session, row.case_id), row.stage, row.start_at, row.extension_days)
            except HandlerError as exc:
                problems.append(f"{instance_id} {row.stage}: {exc}")
                continue
            new = _keep_hand_moved(row, new, by_hand[instance_id])
            if _changed(row, new):
                moves = _moves(row, new, pending[instance_id])
                plan.updates.append((row.id, new))
                plan.moves.update(moves)
                plan.changes.append(Move(instance_id, row.case_id, row.stage, row.unit, row.due_at, new.due,
                                         len(moves)))
        plans.append(plan)
    return plans


def reschedule_open_deadlines(rt: Runtime, *, reason: str, actor: str = ACTOR) -> RescheduleReport:
    """Recompute open cases' deadlines and move their pending timers; return what moved."""
    report = RescheduleReport()
    with rt.read() as session:
        plans = plan_open_deadlines(session, report.problems)
    for plan in plans:
        if plan.moves:
            try:
                report.timers += reschedule_timers(rt, plan.instance_id, actor=actor, reason=reason,
                                                   new_due=plan.moves)
                report.cases += 1
            except RuntimeErrorBase as exc:  # finished or changed meanwhile: its rows stay as they were
                report.problems.append(f"{plan.instance_id}: {exc}")
                continue
        if plan.updates:
            _save(rt, plan.updates)
            report.rows += len(plan.updates)
    return report
