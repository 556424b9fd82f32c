"""What a report says (报表内容): counted once, written to Excel and PDF alike, from the metrics API only.

Every figure comes from `processes.metrics` (volume 来件量 grouped by category, township, channel and day; the rates
per department; the cases behind 超期 and 重办), so a report and the dashboard can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from datetime import timedelta

from sqlalchemy.orm import Session

from processes import metrics
from processes.clock import OFFICE_TZ
from processes.metrics import CaseLine
from processes.metrics import Figure
from processes.metrics import Filters
from processes.metrics import Period

KINDS = ("weekly", "monthly")
OFFICE = "office"  # the scope of a report of the whole office; a unit's report is scoped by its code
TOP = 10
LISTED = 200  # overdue and re-handled cases listed in a report (the count is always the full one)
DEPARTMENT_RATES = ("ontime", "overdue", "closure", "returned", "rehandled", "satisfied", "solved")
KIND_NAMES = {"weekly": "周报", "monthly": "月度分析报告"}


@dataclass(frozen=True)
class Names:
    """Chinese names of the codes a report shows (units, channels, request types, statuses), from the caller."""

    units: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)
    request_types: Mapping[str, str] = field(default_factory=dict)
    statuses: Mapping[str, str] = field(default_factory=dict)

    def unit(self, code: str) -> str:
        """Return a unit's name ('未派单' for none)."""
        return self.units.get(code, code) if code else "未派单"


@dataclass(frozen=True)
class Count:
    """A named count, with the previous period's count beside it."""

    code: str
    name: str
    count: int
    previous: int = 0

    @property
    def change(self) -> int:
        """Return the rise (negative: fall) against the previous period."""
        return self.count - self.previous


@dataclass(frozen=True)
class Report:
    """One report's content: period, volume, top categories and places, rising topics, units, listed cases."""

    kind: str
    scope: str
    scope_name: str
    period: Period
    previous: Period
    generated_at: datetime
    volume: int
    volume_previous: int
    by_day: list[Count]
    by_channel: list[Count]
    by_type: list[Count]
    categories: list[Count]
    townships: list[Count]
    rising: list[Count]
    office_rates: dict[str, Figure]
    departments: list[tuple[str, str, dict[str, Figure]]]  # (code, name, figures by metric)
    overdue: list[CaseLine]
    overdue_count: int
    rehandled: list[CaseLine]
    rehandled_count: int
    reading: list[tuple[str, str]]  # 统计口径: (setting, chosen value)

    @property
    def title(self) -> str:
        """Return the report's Chinese title."""
        return f"洞头区12345热线{KIND_NAMES[self.kind]}（{period_key(self.kind, self.period)}）"


def period_of(kind: str, day: date) -> Period:
    """Return the week (Monday to Sunday) or calendar month holding the day."""
    if kind not in KINDS:
        raise ValueError(f"unknown report kind {kind!r}")
    return Period.week(day) if kind == "weekly" else Period.month(day)


def previous_of(kind: str, period: Period) -> Period:
    """Return the period just before (last week, last month)."""
    return period_of(kind, period.start - timedelta(days=1))


def period_key(kind: str, period: Period) -> str:
    """Return the period's name: 2026-W48 for a week (ISO), 2026-11 for a month."""
    if kind == "weekly":
        year, week, _ = period.start.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{period.start:%Y-%m}"


def parse_period(kind: str, text: str) -> Period:
    """Return the period a key names (2026-W48, 2026-11); ValueError for anything else."""
    if kind == "weekly":
        year, _, week = text.partition("-W")
        return Period.week(date.fromisocalendar(int(year), int(week), 1))
    if len(text) != 7:
        raise ValueError(text)
    return Period.month(date.fromisoformat(text + "-01"))


def _volume(session: Session, period: Period, by: str, filters: Filters, now: datetime) -> dict[str, int]:
    rows = metrics.figures(session, period, group_by=(by,) if by else (), filters=filters, metrics=("volume",),
                           now=now)
    return {f.group[0] if f.group else "": f.numerator for f in rows}


def _counts(now_counts: dict[str, int], before: dict[str, int], names: Mapping[str, str]) -> list[Count]:
    """Return counts largest first (then by name), each with its previous count."""
    found = [Count(code, names.get(code, code) or "（未填）", n, before.get(code, 0)) for code, n in now_counts.items()]
    return sorted(found, key=lambda c: (-c.count, c.name))


def build(session: Session, kind: str, period: Period, *, scope: str = OFFICE, names: Names,
          now: datetime) -> Report:
    """Count one report for the office or one unit (scope: its code) from the metrics API."""
    filters = Filters(department=scope) if scope != OFFICE else Filters()
    previous = previous_of(kind, period)
    reading = metrics.read_settings(session)

    def pair(by: str, labels: Mapping[str, str]) -> list[Count]:
        return _counts(_volume(session, period, by, filters, now), _volume(session, previous, by, filters, now),
                       labels)

    categories = pair("category", {})
    rising = sorted((c for c in categories if c.change > 0), key=lambda c: (-c.change, c.name))[:TOP]
    days = _volume(session, period, "day", filters, now)
    rates = metrics.figures(session, period, filters=filters, metrics=DEPARTMENT_RATES, settings=reading, now=now)
    by_unit = metrics.figures(session, period, group_by=("department",), filters=filters,
                              metrics=DEPARTMENT_RATES, settings=reading, now=now)
    units: dict[str, dict[str, Figure]] = {}
    for figure in by_unit:
        units.setdefault(figure.group[0], {})[figure.metric] = figure

    def listed(metric: str) -> tuple[list[CaseLine], int]:
        lines = metrics.cases_behind(session, metric, "numerator", period, filters=filters, settings=reading,
                                     now=now, limit=LISTED)
        return lines, metrics.count_behind(session, metric, "numerator", period, filters=filters,
                                           settings=reading, now=now)

    overdue, overdue_count = listed("overdue")
    rehandled, rehandled_count = listed("rehandled")
    return Report(
        kind, scope, "全区" if scope == OFFICE else names.unit(scope), period, previous, now,
        sum(days.values()), sum(_volume(session, previous, "", filters, now).values()),
        [Count(d.isoformat(), f"{d:%m-%d}", days.get(d.isoformat(), 0)) for d in period.days()],
        pair("channel", names.channels), pair("request_type", names.request_types), categories[:TOP],
        pair("township", names.units)[:TOP], rising, {f.metric: f for f in rates},
        sorted(((code, names.unit(code), figs) for code, figs in units.items()), key=lambda u: u[1]),
        overdue, overdue_count, rehandled, rehandled_count, reading.lines())


def percent(figure: Figure | None) -> str:
    """Return a rate as 96.3 % with its counts (—, no data, when nothing was due)."""
    if figure is None or figure.rate is None:
        return "—"
    return f"{figure.rate * 100:.1f}%（{figure.numerator}/{figure.denominator}）"


def local(value: datetime | None) -> str:
    """Return an instant as Beijing time to the minute (reports are read in the office's time)."""
    return value.astimezone(OFFICE_TZ).strftime("%Y-%m-%d %H:%M") if value is not None else ""
