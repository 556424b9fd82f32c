"""What the dashboard is asked (period, filters, metric, breakdown) and what the viewer may see of it.

The office (supervisors, leaders, duty leaders, analysts) sees everything; a unit's handler only its own unit,
with its place among units; a township reporter only the reports of its own township (民情难题). A filter naming
what the viewer may not see answers 404, like another unit's case; a value that is not a choice answers 400.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import replace
from datetime import date
from datetime import timedelta

from flask import abort
from flask import request
from flask_babel import gettext
from sqlalchemy.orm import Session

from processes.cases.access import Viewer
from processes.metrics import DIMENSIONS
from processes.metrics import GRAINS
from processes.metrics import METRICS
from processes.metrics import RATES
from processes.metrics import Filters
from processes.metrics import Period
from webapp import labels
from webapp.schemaforms.choices import pairs

OFFICE_ROLES = frozenset({"supervisor", "leader", "duty_leader", "analyst"})
TOWNSHIP_CHANNEL = "township"
DEFAULT_DAYS = 30
PARTS = ("numerator", "denominator")


@dataclass(frozen=True)
class Ask:
    """One question to the dashboard: period, filters, the metric and dimension of the breakdown, the grain."""

    period: Period
    filters: Filters
    metric: str = "ontime"
    by: str = "department"
    grain: str = "week"
    scope: str = "office"  # office / unit / township: what the viewer may see

    def args(self, **more: str) -> dict[str, str]:
        """Return the query-string arguments that ask this again (with changes)."""
        values = {"start": self.period.start.isoformat(), "end": self.period.end.isoformat(), "metric": self.metric,
                  "by": self.by, "grain": self.grain}
        values.update({name: value for name, value in self.filters.items()})
        values.update(more)
        return values


def scope_of(viewer: Viewer) -> str:
    """Return what the viewer may see: the whole office, one unit, or one township's reports."""
    if viewer.roles & OFFICE_ROLES:
        return "office"
    if "handler" in viewer.roles and viewer.department:
        return "unit"
    if "township_reporter" in viewer.roles and viewer.department:
        return "township"
    abort(404)


def choices(db: Session) -> dict[str, list[tuple[str, str]]]:
    """Return the (code, name) choices of each filter."""
    return {"department": pairs(db, "departments"), "township": pairs(db, "townships"),
            "category": pairs(db, "categories"), "channel": list(labels.CHANNELS.items()),
            "request_type": list(labels.REQUEST_TYPES.items())}


def _day(name: str, default: date) -> date:
    """Read a YYYY-MM-DD argument, or answer 400."""
    text = request.args.get(name, "").strip()
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        abort(400, description=gettext("日期格式不正确（应为 YYYY-MM-DD）：%(value)s", value=text[:20]))


def _choice(name: str, allowed: tuple[str, ...] | list[str], default: str) -> str:
    """Read an argument that must be one of the allowed values, or answer 400."""
    value = request.args.get(name, "").strip() or default
    if value not in allowed:
        abort(400, description=gettext("参数 %(name)s 的值不正确：%(value)s", name=name, value=value[:40]))
    return value


def _period(today: date) -> Period:
    """Read the period (start, end; the last 30 days by default), or answer 400."""
    end = _day("end", today)
    start = _day("start", end - timedelta(days=DEFAULT_DAYS - 1))
    try:
        return Period(start, end)
    except ValueError:
        abort(400, description=gettext("统计周期不正确：结束日期须不早于开始日期，且不超过三年"))


def _filters(db: Session) -> Filters:
    """Read the filters; a value that is not among the choices answers 400."""
    known = choices(db)
    values: dict[str, str] = {}
    for name in DIMENSIONS:
        value = request.args.get(name, "").strip()
        if not value:
            continue
        if value not in {code for code, _ in known[name]}:
            abort(400, description=gettext("筛选条件不正确：%(name)s = %(value)s", name=name, value=value[:40]))
        values[name] = value
    return Filters(**values)


def read_ask(db: Session, viewer: Viewer, today: date, *, metrics: tuple[str, ...] = RATES) -> Ask:
    """Read the question from the address and narrow it to what the viewer may see."""
    scope = scope_of(viewer)
    ask = Ask(_period(today), _filters(db), _choice("metric", list(metrics), "ontime"),
              _choice("by", DIMENSIONS, "department"), _choice("grain", GRAINS, "week"), scope)
    return narrowed(ask, viewer)


def narrowed(ask: Ask, viewer: Viewer) -> Ask:
    """Hold a unit to its own unit and a town to its own reports; naming another answers 404."""
    if ask.scope == "unit":
        if ask.filters.department not in (None, viewer.department):
            abort(404)
        return replace(ask, filters=replace(ask.filters, department=viewer.department))
    if ask.scope == "township":
        if ask.filters.township not in (None, viewer.department) or ask.filters.channel not in (None,
                                                                                               TOWNSHIP_CHANNEL):
            abort(404)
        return replace(ask, filters=replace(ask.filters, township=viewer.department, channel=TOWNSHIP_CHANNEL))
    return ask


def read_part() -> str:
    """Read which side of a figure to list (numerator or denominator), or answer 400."""
    return _choice("part", list(PARTS), "numerator")


def all_metrics() -> tuple[str, ...]:
    """Return every metric code, the volume first."""
    return tuple(METRICS)
