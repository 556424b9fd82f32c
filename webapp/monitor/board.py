"""The office board's counts (督办台): open cases by light, by lead unit and by stage, due today and this week.

Every count is a query of the case search (webapp/search/query.py) with the same conditions, so the number on the
board and the list behind its link are one query: case columns and open tasks' due times, never snapshots. Each
line also carries its most urgent deadline and its next timer (the earliest pending timer_job of its cases).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.cases.access import Viewer
from processes.cases.models import Case
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessInstance
from processes.runtime.models import TimerJob
from webapp.search import query
from webapp.search.criteria import NO_DEPARTMENT
from webapp.search.criteria import Criteria

LIGHTS = ("overdue", "red", "yellow", "green", "none")  # the board's columns, most urgent first
ORDERS = ("", "deadline")  # lines by their number of cases (default), or by their most urgent deadline
NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass
class Line:
    """One line of a table: its key (unit code, BPMN id), label and counts by light."""

    key: str
    label: str
    counts: dict[str, int] = field(default_factory=dict)
    first_due: datetime | None = None  # the most urgent deadline of its cases
    next_timer: datetime | None = None  # when the next timer of its cases fires (催办, 超期 …)

    @property
    def total(self) -> int:
        """Every open case of the line."""
        return sum(self.counts.values())


@dataclass
class Board:
    """What the board shows for one set of filters."""

    lights: dict[str, int]
    departments: list[Line]
    stages: list[Line]
    due_today: int
    due_week: int

    @property
    def total(self) -> int:
        """Every open case in reach and filter."""
        return sum(self.lights.values())

    @property
    def next_timer(self) -> datetime | None:
        """The next timer of every case in reach and filter (each case has one lead-unit line)."""
        return min((line.next_timer for line in self.departments if line.next_timer), default=None)


def _lines(db: Session, select: Any, names: dict[str, str], timers: dict[str, datetime]) -> list[Line]:
    """Lines from rows of (key, light, count, earliest deadline), named, with their next timer."""
    found: dict[str, Line] = {}
    for key, light, n, due in db.execute(select):
        code = str(key) if key is not None else NO_DEPARTMENT
        line = found.setdefault(code, Line(code, names.get(code, code), next_timer=timers.get(code)))
        line.counts[str(light)] = int(n)
        if due is not None and (line.first_due is None or due < line.first_due):
            line.first_due = due
    return list(found.values())


def _timers(db: Session, select: Any) -> dict[str, datetime]:
    """The earliest pending BPMN timer per key of a select of (key,) from Case, joined to its timer rows."""
    query = (select.add_columns(sa.func.min(TimerJob.due_at))
             .join(ProcessInstance, ProcessInstance.case_id == Case.id)
             .join(TimerJob, TimerJob.instance_id == ProcessInstance.id)
             .where(TimerJob.status == "pending", TimerJob.kind == "timer"))
    return {str(key) if key is not None else NO_DEPARTMENT: due for key, due in db.execute(query) if due is not None}


def ordered(lines: list[Line], order: str) -> list[Line]:
    """Lines by their number of cases, or by their most urgent deadline (none last)."""
    if order == "deadline":
        return sorted(lines, key=lambda line: (line.first_due or NEVER, -line.total, line.label))
    return sorted(lines, key=lambda line: (-line.total, line.label))


def build(db: Session, criteria: Criteria, viewer: Viewer, now: datetime, units: dict[str, str],
          stage_names: dict[str, str], order: str = "") -> Board:
    """Count the open cases of these filters the viewer may see (criteria.status is 'open')."""
    where = query.conditions(criteria, viewer, now)
    light = query.light_expr(now).label("light")
    first = sa.func.min(query.due_expr())
    lights = {str(k): int(n) for k, n in db.execute(
        sa.select(light, sa.func.count()).select_from(Case).where(*where).group_by(light))}
    unit = Case.lead_department
    unit_timers = _timers(db, sa.select(unit).select_from(Case).where(*where).group_by(unit))
    departments = _lines(db, sa.select(unit, light, sa.func.count(), first).select_from(Case).where(*where)
                         .group_by(unit, light), {**units, NO_DEPARTMENT: ""}, unit_timers)
    stage_of = (sa.select(HumanTask.case_id.label("case_id"), HumanTask.bpmn_id.label("bpmn_id"))
                .where(HumanTask.status == "open", HumanTask.case_id.is_not(None)).distinct().subquery())
    stage = stage_of.c.bpmn_id
    stage_timers = _timers(db, sa.select(stage).select_from(Case).join(stage_of, stage_of.c.case_id == Case.id)
                           .where(*where).group_by(stage))
    stages = _lines(db, sa.select(stage, light, sa.func.count(), first).select_from(Case)
                    .join(stage_of, stage_of.c.case_id == Case.id).where(*where).group_by(stage, light),
                    stage_names, stage_timers)
    due_today = query.count(db, replace(criteria, due="today"), viewer, now)
    due_week = query.count(db, replace(criteria, due="week"), viewer, now)
    return Board(lights, ordered(departments, order), ordered(stages, order), due_today, due_week)


def task_names(db: Session) -> dict[str, str]:
    """The names the diagrams give open tasks, by BPMN id (for stages without a label of their own)."""
    rows = db.execute(sa.select(HumanTask.bpmn_id, sa.func.max(HumanTask.name))
                      .where(HumanTask.status == "open").group_by(HumanTask.bpmn_id))
    return {str(bpmn_id): str(name) for bpmn_id, name in rows}
