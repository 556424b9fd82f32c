"""Stored deadlines follow moved timers (改期): one truth for the deadline shown and the light (红黄灯) it drives.

A case's deadlines live in `case_deadline` (one row per stage and unit, naming the BPMN timers set from it) and,
for handling, in the case's `deadline` column; tasks show the due time of their timer. When a command moves timers
(`control.reschedule_timers`: by hand, or after a reference-data change), the rows and the case deadline move with
them in the same transaction. A yellow point that already passed keeps its distance to the moved deadline, and a
yellow light the case no longer deserves (no live handling deadline inside its yellow window) goes back to none;
its timer fired once, so the light next changes when the red timer fires (pages still colour the last day yellow).
A red light stays: the red timer fired, so nothing left to move set it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.cases.models import Case
from processes.reference.models import CaseDeadline

# (timer BPMN id, old due, new due) of each moved timer
Move = tuple[str, datetime, datetime]
COLUMNS = (("due_at", "due_timers"), ("warn_at", "warn_timers"), ("notice_at", "notice_timers"))


def _ids(text: str) -> set[str]:
    """Split a comma list of BPMN ids."""
    return {part for part in (text or "").split(",") if part}


def follow_moved_timers(session: Session, instance_id: str, case_id: str | None, moves: Iterable[Move],
                        pending: Iterable[tuple[str, datetime]], now: datetime) -> int:
    """Move the stored deadlines set from the moved timers; return how many rows changed.

    `pending` lists (BPMN id, due) of the timers still waiting after the move: the rows they belong to are the
    live ones, whose yellow points decide whether the case keeps a yellow light.
    """
    moved, waiting = list(moves), set(pending)
    rows = list(session.scalars(sa.select(CaseDeadline).where(CaseDeadline.instance_id == instance_id)
                                .order_by(CaseDeadline.id)))
    changed, handling_moved = 0, False
    for row in rows:
        before, warn, notice = row.due_at, row.warn_at, row.notice_at
        for column, timers in COLUMNS:
            value = getattr(row, column)
            for bpmn_id, old, new in moved:
                if value is not None and bpmn_id in _ids(getattr(row, timers)) and value == old:
                    setattr(row, column, new)
                    break
        if row.due_at != before and row.warn_at == warn and not _waits(row.warn_timers, warn, waiting):
            # the yellow point already passed (its timer fired): it keeps its distance to the moved deadline
            row.warn_at = min(warn + (row.due_at - before), row.due_at)
        if row.due_at != before and row.stage == "handle" and case_id is not None:
            session.execute(sa.update(Case).where(Case.id == case_id, Case.deadline == before).values(
                deadline=row.due_at, updated_at=now))
        if (row.due_at, row.warn_at, row.notice_at) != (before, warn, notice):
            row.updated_at = now
            changed += 1
            handling_moved = handling_moved or row.stage == "handle"
    if handling_moved and case_id is not None:
        _fix_yellow(session, case_id, rows, waiting, now)
    session.flush()
    return changed


def _waits(timers: str, due: datetime, pending: set[tuple[str, datetime]]) -> bool:
    """Return whether one of these timers still waits at this due time."""
    return any((bpmn_id, due) in pending for bpmn_id in _ids(timers))


def _fix_yellow(session: Session, case_id: str, rows: list[CaseDeadline], pending: set[tuple[str, datetime]],
                now: datetime) -> None:
    """Turn a yellow light off when no live handling deadline of the case is inside its yellow window any more."""
    live = [r for r in rows if r.stage == "handle" and _waits(r.due_timers, r.due_at, pending)]
    if any(r.warn_at <= now for r in live):
        return
    session.execute(sa.update(Case).where(Case.id == case_id, Case.warning_level == "yellow").values(
        warning_level="none", updated_at=now))
