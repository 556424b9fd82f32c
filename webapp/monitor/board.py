"""The office board's counts (督办台): open cases by light, by lead unit and by stage, due today and this week.

Every count is a query of the case search (webapp/search/query.py) with the same conditions, so the number on the
board and the list behind its link are one query: case columns and open tasks' due times, never snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
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


@dataclass
class Line:
    """One line of a table: its key (unit code, BPMN id), label and counts by light."""

    key: str
    label: str
    counts: dict[str, int] = field(default_factory=dict)

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


def _by_light(db: Session, select: Any) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    for key, light, n in db.execute(select):
        found.setdefault(str(key) if key is not None else NO_DEPARTMENT, {})[str(light)] = int(n)
    return found


def build(db: Session, criteria: Criteria, viewer: Viewer, now: datetime, units: dict[str, str],
          stage_names: dict[str, str]) -> Board:
    """Count the open cases of these filters the viewer may see (criteria.status is 'open')."""
    where = query.conditions(criteria, viewer, now)
    light = query.light_expr(now).label("light")
    lights = {str(k): int(n) for k, n in db.execute(
        sa.select(light, sa.func.count()).select_from(Case).where(*where).group_by(light))}
    per_unit = _by_light(db, sa.select(Case.lead_department, light, sa.func.count()).select_from(Case)
                         .where(*where).group_by(Case.lead_department, light))
    departments = sorted((Line(code, units.get(code, code) if code != NO_DEPARTMENT else "", counts)
                          for code, counts in per_unit.items()), key=lambda line: (-line.total, line.label))
    stage_of = (sa.select(HumanTask.case_id.label("case_id"), HumanTask.bpmn_id.label("bpmn_id"))
                .where(HumanTask.status == "open", HumanTask.case_id.is_not(None)).distinct().subquery())
    per_stage = _by_light(db, sa.select(stage_of.c.bpmn_id, light, sa.func.count())
                          .select_from(Case).join(stage_of, stage_of.c.case_id == Case.id)
                          .where(*where).group_by(stage_of.c.bpmn_id, light))
    stages = sorted((Line(code, stage_names.get(code, code), counts) for code, counts in per_stage.items()),
                    key=lambda line: (-line.total, line.key))
    due_today = query.count(db, replace(criteria, due="today"), viewer, now)
    due_week = query.count(db, replace(criteria, due="week"), viewer, now)
    return Board(lights, departments, stages, due_today, due_week)


def task_names(db: Session) -> dict[str, str]:
    """The names the diagrams give open tasks, by BPMN id (for stages without a label of their own)."""
    rows = db.execute(sa.select(HumanTask.bpmn_id, sa.func.max(HumanTask.name))
                      .where(HumanTask.status == "open").group_by(HumanTask.bpmn_id))
    return {str(bpmn_id): str(name) for bpmn_id, name in rows}
