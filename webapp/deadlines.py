"""Deadlines as the office reads them (时限): a live countdown while a stage runs, a verdict once it is done.

A stage's deadline (a `case_deadline` row: 初审, 派单, 签收, 办理, 审核, 回访, 挂网 …) governs the user tasks of that
stage (STAGE_TASKS; for unit stages, the unit's own tasks). The stage runs while one of them is open, or while the
last one asked for more (申请延期, 先现场巡查, a callback that got no answer) and the case goes on; once done, its
verdict compares when it was done with the due time: 按时, or 超期 by how much. The case's own deadline (办理时限)
is its handling rows': a verdict once every unit has replied, the live countdown before. Nothing here is stored:
the rows, the tasks and the history say it all, so a reschedule or an extension shows at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy.orm import Session

from handlers.casework import FINISHED
from processes.cases.models import Case
from processes.reference.models import CaseDeadline
from processes.runtime.models import HistoryEvent
from processes.runtime.models import HumanTask
from webapp.workspace import Countdown
from webapp.workspace import countdown
from webapp.workspace import duration

# The user tasks whose completion ends a stage's deadline (the diagrams in bpmn/_shared and the channel bundles).
STAGE_TASKS: dict[str, tuple[str, ...]] = {
    "triage": ("triage",), "dispatch": ("dispatch",), "sign_for": ("sign_for",), "handle": ("reply",),
    "review": ("review", "review_final"), "callback": ("callback",), "publish": ("publish_review",),
    "accept_110": ("accept_110", "accept_110_escalated"), "writeback": ("writeback_confirm",),
}
# A completion that asks for more keeps its stage running while the case goes on (延期 awaits approval, 审核 awaits
# the inspection, 回访 calls again).
ASKS_FOR_MORE = {"reply": ("reply_action", "extend"), "review": ("review_result", "inspect"),
                 "callback": ("callback_result", "unreachable")}
ON_TIME, LATE = "ontime", "late"  # css classes of a verdict
Decisions = dict[str, dict[str, Any]]  # the decision values of completed tasks (history), by task id
SLACK = timedelta(seconds=1)  # a row is stored in the command that opens its task, a moment before it


def verdict(due: datetime, done: datetime) -> Countdown:
    """Return the verdict of a finished deadline: 按时, or 超期 N天M小时 (how late it was done)."""
    late = int((done - due).total_seconds())
    if late <= 0:
        return Countdown(gettext("按时"), ON_TIME, None, "none")
    return Countdown(gettext("超期 %(time)s", time=duration(late)), LATE, None, "none")


def not_done() -> Countdown:
    """Return what a stage shows that ended without being done (the case closed another way)."""
    return Countdown(gettext("未办理"), "", None, "none")


@dataclass(frozen=True)
class StageTime:
    """One stage deadline of a case and where it stands: running, done at a time, or ended undone."""

    row: CaseDeadline
    running: bool
    done_at: datetime | None

    def shown(self, now: datetime, warning: str | None, calendar_warning: str | None = None) -> Countdown:
        """Return the countdown while running, else the verdict (or 未办理)."""
        if self.running:
            return countdown(self.row.due_at, now, warning, calendar_warning)
        return verdict(self.row.due_at, self.done_at) if self.done_at is not None else not_done()


def _decisions(db: Session, case_ids: set[str]) -> Decisions:
    """Return the decision values each completed task recorded (history), by task id."""
    rows = db.execute(sa.select(HistoryEvent.task_id, HistoryEvent.detail).where(
        HistoryEvent.case_id.in_(case_ids), HistoryEvent.kind == "task_completed", HistoryEvent.task_id.is_not(None)))
    return {str(task_id): dict((detail or {}).get("values") or {}) for task_id, detail in rows}


def _asks_for_more(task: HumanTask, decisions: Decisions) -> bool:
    field, value = ASKS_FOR_MORE.get(task.bpmn_id, ("", None))
    return bool(field) and decisions.get(task.id, {}).get(field) == value


def _stage(row: CaseDeadline, tasks: list[HumanTask], decisions: Decisions, finished: bool) -> StageTime:
    """Place one deadline row: the tasks of its stage (and unit) since it was set decide."""
    wanted = STAGE_TASKS.get(row.stage)
    if wanted is None:  # a stage without tasks of its own (通报, 反馈): it runs as long as the case does
        return StageTime(row, not finished, None)
    mine = [t for t in tasks if t.instance_id == row.instance_id and t.bpmn_id in wanted
            and (not row.unit or (t.department or "") == row.unit)
            and t.created_at >= row.start_at.replace(microsecond=0) - SLACK]
    if any(t.status == "open" for t in mine):
        return StageTime(row, True, None)
    done = [t for t in mine if t.status == "completed" and t.completed_at is not None]
    if not done:
        return StageTime(row, not finished, None)
    last = max(done, key=lambda t: (t.completed_at, t.created_at))
    if _asks_for_more(last, decisions) and not finished:
        return StageTime(row, True, None)
    return StageTime(row, False, last.completed_at)


def stage_times(db: Session, cases: Iterable[Case]) -> dict[str, list[StageTime]]:
    """Return every stage deadline of these cases with where it stands, by case id, soonest due first."""
    by_id = {c.id: c for c in cases}
    if not by_id:
        return {}
    rows = list(db.scalars(sa.select(CaseDeadline).where(CaseDeadline.case_id.in_(by_id))
                           .order_by(CaseDeadline.due_at, CaseDeadline.id)))
    stages = {s for r in rows for s in STAGE_TASKS.get(r.stage, ())}
    tasks = list(db.scalars(sa.select(HumanTask).where(HumanTask.case_id.in_(by_id), HumanTask.bpmn_id.in_(stages)))
                 ) if stages else []
    decisions = _decisions(db, set(by_id)) if tasks else {}
    out: dict[str, list[StageTime]] = {case_id: [] for case_id in by_id}
    for row in rows:
        case = by_id[str(row.case_id)]
        mine = [t for t in tasks if t.case_id == case.id]
        out[case.id].append(_stage(row, mine, decisions, case.status in FINISHED))
    return out


def case_deadline(case: Case, stages: list[StageTime], now: datetime, calendar_warning: str | None = None) -> Countdown:
    """Return the case's handling deadline (工单时限): its verdict once every unit is done, else the countdown."""
    handling = [s for s in stages if s.row.stage == "handle"]
    if handling and not any(s.running for s in handling):
        done = [s for s in handling if s.done_at is not None]
        if not done:
            return not_done()
        # the latest unit decides: a case is as late as its latest reply
        return verdict(*max(((s.row.due_at, s.done_at) for s in done if s.done_at is not None),
                            key=lambda pair: pair[1] - pair[0]))
    if case.status in FINISHED and not handling:
        return Countdown(gettext("无时限"), "", None, "none") if case.deadline is None else not_done()
    waiting = waiting_stage(case, stages)
    if waiting is not None:
        return waiting.shown(now, case.warning_level, waiting.row.calendar_warning)
    return countdown(case.deadline, now, case.warning_level, calendar_warning)


def waiting_stage(case: Case, stages: list[StageTime]) -> StageTime | None:
    """Return the running stage that stands for an open case's deadline until its handling deadline is set.

    The handling deadline (办理时限) is counted from 签收, so a dispatched case has none until a unit signs for it:
    until then its deadline is the soonest running stage's with tasks of its own (签收, or 初审 / 派单 before it).
    """
    if case.deadline is not None or case.status in FINISHED:
        return None
    running = [s for s in stages if s.running and s.row.stage in STAGE_TASKS]
    return min(running, key=lambda s: s.row.due_at, default=None)
