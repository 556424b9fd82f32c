"""The rollup (统计汇总): each day's counts per metric and dimensions, so the dashboard never scans the cases.

`refresh` recounts a range of days from the cases in one transaction (delete the days, INSERT … SELECT per metric)
and records the run; `figures` answers `Figure`s from the rollup as `compute.figures` does from the cases. The
scheduler refreshes today and yesterday every few minutes and the last `FULL_DAYS` nightly; an older day changes
only when a case received then is closed or returned later, which the nightly run catches.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.metrics import marginal
from processes.metrics.compute import DayCount
from processes.metrics.compute import Figure
from processes.metrics.compute import check_group_by
from processes.metrics.compute import fold
from processes.metrics.definitions import METRICS
from processes.metrics.definitions import dimension_columns
from processes.metrics.definitions import items
from processes.metrics.definitions import parts
from processes.metrics.models import MetricRollup
from processes.metrics.models import MetricRollupRun
from processes.metrics.periods import DIMENSIONS
from processes.metrics.periods import GRAINS
from processes.metrics.periods import Filters
from processes.metrics.periods import Period
from processes.metrics.periods import as_date
from processes.metrics.periods import day_expression
from processes.metrics.periods import office_day
from processes.metrics.settings import MetricSettings
from processes.metrics.settings import read_settings

WORK_MEM = "128MB"  # PostgreSQL, inside the refresh's transaction only
FULL_DAYS = 400  # the nightly rebuild: a year and the month before it, for year-on-year comparisons
ANY = Filters()
KEY = ["metric", "day", *DIMENSIONS, "numerator", "denominator"]


def _insert_metric(session: Session, code: str, period: Period, settings: MetricSettings, now: datetime) -> None:
    """Count one metric for the days of the period into the rollup with one INSERT … SELECT."""
    p = parts(code, settings, now)
    day = day_expression(p.dated, session.get_bind().dialect.name)
    dims = list(dimension_columns(p).values())
    query = items(p, sa.literal(code), day, *dims, sa.func.sum(p.numerator), sa.func.sum(p.denominator))
    query = query.where(period.holds(p.dated)).group_by(day, *dims)
    session.execute(sa.insert(MetricRollup).from_select(KEY, query))


def days(first: date, last: date) -> list[sa.ColumnElement[bool]]:
    """Return the condition of the rollup's rows of some days, naming every metric so the primary key finds them.

    The key leads with the metric: a condition on the day alone read all the rollup (7.6 million rows at a million
    cases) for each day refreshed; with the metrics named it reads the day's rows of each.
    """
    return [MetricRollup.metric.in_(list(METRICS)), MetricRollup.day >= first, MetricRollup.day <= last]


def refresh(session: Session, first: date, last: date, *, now: datetime, kind: str = "day",
            settings: MetricSettings | None = None) -> MetricRollupRun:
    """Recount the days first..last of every metric into the rollup and record the run (the caller commits)."""
    started = time.perf_counter()
    reading = settings or read_settings(session)
    period = Period(first, last)
    if session.get_bind().dialect.name == "postgresql":  # the day's GROUP BYs hash in memory instead of spilling
        session.execute(sa.text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    session.execute(sa.delete(MetricRollup).where(*days(first, last)))
    for code in METRICS:
        _insert_metric(session, code, period, reading, now)
    marginal.refresh(session, first, last)
    rows = session.scalar(sa.select(sa.func.count()).select_from(MetricRollup).where(*days(first, last))) or 0
    run = MetricRollupRun(kind=kind, first_day=first, last_day=last, reading=reading.key(), rows=rows,
                          seconds=round(time.perf_counter() - started, 3), finished_at=now)
    session.add(run)
    session.flush()
    return run


def refresh_recent(session: Session, *, now: datetime) -> MetricRollupRun:
    """Recount yesterday and today (the scheduler's job every few minutes)."""
    today = office_day(now)
    return refresh(session, today - timedelta(days=1), today, now=now, kind="day")


def refresh_full(session: Session, *, now: datetime, days: int = FULL_DAYS,
                 settings: MetricSettings | None = None) -> MetricRollupRun:
    """Recount the last `days` days up to today (the nightly job, and after the reading changes)."""
    today = office_day(now)
    return refresh(session, today - timedelta(days=days - 1), today, now=now, kind="full", settings=settings)


def last_run(session: Session) -> MetricRollupRun | None:
    """Return the latest refresh of the rollup, or None before the first."""
    return session.scalar(sa.select(MetricRollupRun).order_by(MetricRollupRun.finished_at.desc(),
                                                              MetricRollupRun.id.desc()).limit(1))


def covers(session: Session, period: Period, settings: MetricSettings) -> MetricRollupRun | None:
    """Return the latest refresh if a full rebuild under this reading reached back to the period, else None.

    Days after the latest refresh are missing from the rollup as from the figure the drill-down came from.
    """
    run = last_run(session)
    if run is None or run.reading != settings.key():
        return None
    full = session.scalar(sa.select(sa.func.min(MetricRollupRun.first_day)).where(
        MetricRollupRun.kind == "full", MetricRollupRun.reading == settings.key()))
    return run if full is not None and full <= period.start else None


def _full_query(metrics: list[str], period: Period, filters: Filters, grain: bool, dims: list[str]) -> sa.Select[Any]:
    """Return metric, [day], the grouped dimensions and the two sums from the rollup's full rows."""
    columns: list[Any] = [MetricRollup.metric, *([MetricRollup.day] if grain else []),
                          *(getattr(MetricRollup, d) for d in dims)]
    query = sa.select(*columns, sa.func.sum(MetricRollup.numerator), sa.func.sum(MetricRollup.denominator)).where(
        MetricRollup.metric.in_(metrics), MetricRollup.day >= period.start, MetricRollup.day <= period.end)
    for name, value in filters.items():
        query = query.where(getattr(MetricRollup, name) == value)
    return query.group_by(*columns)


def figures(session: Session, period: Period, *, group_by: Sequence[str] = (), filters: Filters = ANY,
            metrics: Sequence[str] | None = None) -> list[Figure]:
    """Answer figures from the rollup: the same `Figure`s as `compute.figures` for the days it holds."""
    check_group_by(group_by)
    dims = [g for g in group_by if g in DIMENSIONS]
    grain = any(g in GRAINS for g in group_by)
    chosen = list(metrics or METRICS)
    needed = marginal.grouping_for(filters, dims)
    if needed is not None:  # at most two dimensions named: a few marginal rows per day
        query = marginal.query(needed, chosen, period.start, period.end, filters, grain, dims)
    else:
        query = _full_query(chosen, period, filters, grain, dims)
    counts = []
    for row in session.execute(query):
        day = as_date(row[1]) if grain else period.start
        values = dict(zip(dims, (str(v) for v in row[1 + grain:1 + grain + len(dims)]), strict=True))
        full = (values.get("department", ""), values.get("category", ""), values.get("township", ""),
                values.get("channel", ""), values.get("request_type", ""))
        counts.append(DayCount(str(row[0]), day, full, int(row[-2] or 0), int(row[-1] or 0)))
    return fold(counts, group_by)


def newest_days(session: Session, metric: str, part: str, period: Period, filters: Filters, needed: int) -> date | None:
    """Return the first day of the period's shortest tail whose rollup counts reach `needed` items, else None.

    A drill-down's first pages lie in these days; reading only them lets the dated column's index find a page of
    items with three or four filters without gathering the whole period (see `compute.cases_behind`'s `since`).
    """
    return newest_of(figures(session, period, group_by=("day",), filters=filters, metrics=(metric,)), part, needed)


def newest_of(days: Sequence[Figure], part: str, needed: int) -> date | None:
    """Return `newest_days` from figures grouped by day."""
    total = 0
    for f in sorted(days, key=lambda f: f.group[0], reverse=True):
        total += f.numerator if part == "numerator" else f.denominator
        if total >= needed:
            return date.fromisoformat(f.group[0])
    return None
