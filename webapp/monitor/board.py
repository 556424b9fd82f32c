"""The office board's counts (督办台): open cases by light, by lead unit and by stage, due today and this week.

Every count uses the case search's conditions (webapp/search/query.py), so the number on the board and the list
behind its link agree: case columns and open tasks' stages, never snapshots, in one grouped pass over the open cases
(unit x stage x light). Each line also carries its most urgent deadline and its next timer (the case column
next_timer_due: the earliest waiting timer of its cases, kept by processes/runtime/case_due.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.cases.access import Viewer
from processes.cases.models import Case
from processes.runtime.models import HumanTask
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


def _dump_line(line: Line) -> dict[str, Any]:
    return {"key": line.key, "label": line.label, "counts": line.counts, "first_due": _iso(line.first_due),
            "next_timer": _iso(line.next_timer)}


def _load_line(data: dict[str, Any]) -> Line:
    return Line(str(data["key"]), str(data["label"]), {str(k): int(n) for k, n in data["counts"].items()},
                _time(data["first_due"]), _time(data["next_timer"]))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def dump(board: Board) -> dict[str, Any]:
    """The board as JSON data, for the node's shared cache (webapp/monitor/cache.py)."""
    return {"lights": board.lights, "departments": [_dump_line(line) for line in board.departments],
            "stages": [_dump_line(line) for line in board.stages], "due_today": board.due_today,
            "due_week": board.due_week}


def load(data: dict[str, Any]) -> Board:
    """A board back from its JSON data."""
    return Board({str(k): int(n) for k, n in data["lights"].items()}, [_load_line(d) for d in data["departments"]],
                 [_load_line(d) for d in data["stages"]], int(data["due_today"]), int(data["due_week"]))


def ordered(lines: list[Line], order: str) -> list[Line]:
    """Lines by their number of cases, or by their most urgent deadline (none last)."""
    if order == "deadline":
        return sorted(lines, key=lambda line: (line.first_due or NEVER, -line.total, line.label))
    return sorted(lines, key=lambda line: (-line.total, line.label))


def build(db: Session, criteria: Criteria, viewer: Viewer, now: datetime, units: dict[str, str],
          stage_names: dict[str, str], order: str = "") -> Board:
    """Count the open cases of these filters the viewer may see (criteria.status is 'open')."""
    board = Board({}, [], [], 0, 0)
    departments: dict[str, Line] = {}
    stages: dict[str, Line] = {}
    names = {**units, NO_DEPARTMENT: ""}
    if db.get_bind().dialect.name == "postgresql":  # group 50,000 rows in memory (4 MB spilled the sort to disk)
        db.execute(sa.text("SET LOCAL work_mem = '16MB'"))
    for unit, stage_ids, light, cases, due, timer, today, week in db.execute(_grouped(criteria, viewer, now)):
        light, cases = str(light), int(cases or 0)
        board.lights[light] = board.lights.get(light, 0) + cases
        board.due_today += int(today or 0)
        board.due_week += int(week or 0)
        code = str(unit) if unit is not None else NO_DEPARTMENT
        _add(departments.setdefault(code, Line(code, names.get(code, code))), light, cases, due, timer)
        for stage in set(str(stage_ids or "").split()):  # a case with open tasks at two stages counts at both
            _add(stages.setdefault(stage, Line(stage, stage_names.get(stage, stage))), light, cases, due, timer)
    board.lights = {k: n for k, n in board.lights.items() if n}
    board.departments = ordered([line for line in departments.values() if line.total], order)
    board.stages = ordered(list(stages.values()), order)
    return board


def _grouped(criteria: Criteria, viewer: Viewer, now: datetime) -> sa.Select[Any]:
    """One pass over the open cases in reach: (unit, stages, light) -> cases, earliest deadline and timer, due soon.

    Each case's deadline is computed once (the inner select) and its light from it; its stages are the column the
    runtime keeps (open_stages), so the pass reads the partial index ix_hotline_case_open alone, with no join.
    """
    case = sa.select(Case.lead_department.label("unit"), Case.open_stages.label("stages"),
                     query.due_expr().label("due"), Case.warning_level.label("level"),
                     Case.next_timer_due.label("timer")).where(*query.conditions(criteria, viewer, now)).subquery("c")
    light = query.light_expr(now, case.c.due, case.c.level).label("light")

    def soon(window: str) -> sa.ColumnElement[Any]:
        """How many cases fall due from now to the end of today or of this week."""
        inside = sa.and_(case.c.due >= now, case.c.due < query.due_by(window, now))
        return sa.func.sum(sa.case((inside, 1), else_=0))

    return (sa.select(case.c.unit, case.c.stages, light, sa.func.count(), sa.func.min(case.c.due),
                      sa.func.min(case.c.timer), soon("today"), soon("week"))
            .group_by(case.c.unit, case.c.stages, light))


def _add(line: Line, light: str, n: int, due: datetime | None, timer: datetime | None) -> None:
    """Add one group's cases to a line, with its most urgent deadline and its next timer."""
    if n:
        line.counts[light] = line.counts.get(light, 0) + n
    if due is not None and (line.first_due is None or due < line.first_due):
        line.first_due = due
    if timer is not None and (line.next_timer is None or timer < line.next_timer):
        line.next_timer = timer


def task_names(db: Session) -> dict[str, str]:
    """The names the diagrams give open tasks, by BPMN id (for stages without a label of their own)."""
    rows = db.execute(sa.select(HumanTask.bpmn_id, sa.func.max(HumanTask.name))
                      .where(HumanTask.status == "open").group_by(HumanTask.bpmn_id))
    return {str(bpmn_id): str(name) for bpmn_id, name in rows}
