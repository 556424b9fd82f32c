"""Figures counted straight from the cases (直接统计): per day and dimension, folded into the groups asked for.

The rollup (`processes.metrics.rollup`) stores what `day_counts` returns; the dashboard reads the rollup, tests and
drill-downs read the cases, and both answer through the same `Figure`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.cases.models import Case
from processes.metrics.definitions import METRICS
from processes.metrics.definitions import Parts
from processes.metrics.definitions import dimension_columns
from processes.metrics.definitions import items
from processes.metrics.definitions import matches
from processes.metrics.definitions import parts
from processes.metrics.periods import DIMENSIONS
from processes.metrics.periods import GRAINS
from processes.metrics.periods import Filters
from processes.metrics.periods import Period
from processes.metrics.periods import as_date
from processes.metrics.periods import day_expression
from processes.metrics.periods import grain_key
from processes.metrics.settings import MetricSettings
from processes.runtime.models import HumanTask

PARTS = ("numerator", "denominator")
MAX_LISTED = 500
ANY = Filters()  # no filter


@dataclass(frozen=True)
class Figure:
    """One metric for one group: its numerator, denominator and the rate (None when nothing was due)."""

    metric: str
    group: tuple[str, ...]  # one value per group_by entry, '' for none; a grain gives a day, Monday or YYYY-MM
    numerator: int
    denominator: int

    @property
    def rate(self) -> float | None:
        """Return numerator ÷ denominator, or None for an empty denominator (no data is not 0 %)."""
        return self.numerator / self.denominator if self.denominator else None


@dataclass(frozen=True)
class DayCount:
    """One day's counts of one metric for one combination of the five dimensions (what the rollup keeps)."""

    metric: str
    day: date
    dims: tuple[str, str, str, str, str]  # department, category, township, channel, request_type
    numerator: int
    denominator: int


def check_group_by(group_by: Sequence[str]) -> None:
    """Refuse a grouping that is not a dimension or a grain, or that names two grains."""
    unknown = [g for g in group_by if g not in DIMENSIONS and g not in GRAINS]
    if unknown or sum(g in GRAINS for g in group_by) > 1 or len(set(group_by)) != len(group_by):
        raise ValueError(f"cannot group by {', '.join(group_by)}")


def _narrowed(query: sa.Select[Any], p: Parts, period: Period, filters: Filters) -> sa.Select[Any]:
    """Add the period and the filters to a query over a metric's items."""
    query = query.where(period.holds(p.dated))
    for name, value in filters.items():
        query = query.where(matches(p, name, value))
    return query


def day_counts(session: Session, code: str, period: Period, settings: MetricSettings, now: datetime,
               filters: Filters = ANY) -> list[DayCount]:
    """Count one metric per office day and combination of the five dimensions (one GROUP BY over the items)."""
    p = parts(code, settings, now)
    dialect = session.get_bind().dialect.name
    day = day_expression(p.dated, dialect).label("day")
    dims = [column.label(name) for name, column in dimension_columns(p).items()]
    query = items(p, day, *dims, sa.func.sum(p.numerator), sa.func.sum(p.denominator))
    query = _narrowed(query, p, period, filters).group_by(day, *dims)
    return [DayCount(code, as_date(r[0]), (str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5])),
                     int(r[6] or 0), int(r[7] or 0)) for r in session.execute(query)]


def fold(counts: Iterable[DayCount], group_by: Sequence[str]) -> list[Figure]:
    """Add day counts up into figures per metric and group, sorted by metric then group."""
    sums: dict[tuple[str, tuple[str, ...]], list[int]] = defaultdict(lambda: [0, 0])
    for count in counts:
        values = dict(zip(DIMENSIONS, count.dims, strict=True))
        group = tuple(grain_key(count.day, g) if g in GRAINS else values[g] for g in group_by)
        total = sums[(count.metric, group)]
        total[0] += count.numerator
        total[1] += count.denominator
    return [Figure(metric, group, n, d) for (metric, group), (n, d) in sorted(sums.items())]


def figures(session: Session, period: Period, *, group_by: Sequence[str] = (), filters: Filters = ANY,
            metrics: Sequence[str] | None = None, settings: MetricSettings | None = None,
            now: datetime) -> list[Figure]:
    """Count the metrics straight from the cases for a period, per group (see the package docstring)."""
    check_group_by(group_by)
    chosen = list(metrics or METRICS)
    reading = settings or MetricSettings()
    counts = [c for code in chosen for c in day_counts(session, code, period, reading, now, filters)]
    return fold(counts, group_by)


@dataclass(frozen=True)
class CaseLine:
    """One item behind a figure: the case (no personal data) and, for 签收, the unit whose task it was."""

    case_id: str
    number: str
    created_at: datetime
    status: str
    department: str
    category: str
    township: str
    channel: str
    request_type: str
    dated: datetime | None  # the date that put the item in the period


def _behind_query(session: Session, metric: str, part: str, period: Period, filters: Filters,
                  settings: MetricSettings, now: datetime) -> tuple[Parts, sa.Select[Any]]:
    """Return the metric's parts and the query of the items counted in its numerator or denominator."""
    if part not in PARTS:
        raise ValueError(f"part is numerator or denominator, not {part!r}")
    p = parts(metric, settings, now)
    columns = dimension_columns(p)
    query = items(p, Case.id, Case.number, Case.created_at, Case.status, *columns.values(), p.dated)
    query = _narrowed(query, p, period, filters)
    return p, query.where((p.numerator if part == "numerator" else p.denominator) > 0)


def cases_behind(session: Session, metric: str, part: str, period: Period, *, filters: Filters = ANY,
                 settings: MetricSettings | None = None, now: datetime, limit: int = 50,
                 offset: int = 0, since: date | None = None) -> list[CaseLine]:
    """List the items behind a figure's numerator or denominator, newest first (drill-down, 下钻).

    `since` reads only the items dated from that day on: the caller's guess of where the page lies, right whenever
    the page comes back full (every item left out is older than every item read), else to be asked again without.
    """
    p, query = _behind_query(session, metric, part, period, filters, settings or MetricSettings(), now)
    if since is not None:
        query = query.where(p.dated >= Period.day(since).bounds()[0])
    order = [p.dated.desc(), Case.id] + ([HumanTask.id] if p.source == "sign_for" else [])
    rows = session.execute(query.order_by(*order).limit(min(limit, MAX_LISTED)).offset(max(offset, 0)))
    return [CaseLine(r[0], r[1], r[2], r[3], str(r[4]), str(r[5]), str(r[6]), str(r[7]), str(r[8]), r[9])
            for r in rows]


def count_behind(session: Session, metric: str, part: str, period: Period, *, filters: Filters = ANY,
                 settings: MetricSettings | None = None, now: datetime) -> int:
    """Count the items behind a figure's numerator or denominator (equals it when repeats count once)."""
    _, query = _behind_query(session, metric, part, period, filters, settings or MetricSettings(), now)
    return int(session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0)
