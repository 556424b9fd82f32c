"""Marginal rollup rows (边际汇总): each day's counts by at most two dimensions, for the dashboard's usual questions.

`refresh` sums them from the `metric_rollup` rows of the days just recounted (pairs from the full rows, single
dimensions from a pair, the office from a single dimension: each from the smallest table that holds it);
`grouping_for` says whether a question can be answered from them, `query` reads them with the same columns as a
query over the full rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from datetime import timedelta
from itertools import combinations
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.metrics.definitions import METRICS
from processes.metrics.models import MetricMarginal
from processes.metrics.models import MetricRollup
from processes.metrics.periods import DIMENSIONS
from processes.metrics.periods import Filters

PAIRS = list(combinations(DIMENSIONS, 2))
GROUPINGS = ["", *DIMENSIONS, *("+".join(pair) for pair in PAIRS)]
CHUNK_DAYS = 7  # days per pass on PostgreSQL: a week's groups (~90,000 at 1 M cases, 28 MB) hash within work_mem
KEY = ["grouping", "metric", "day", "first", "second", "numerator", "denominator"]


def name_of(dims: Sequence[str]) -> str:
    """Return the grouping's name: its dimensions in DIMENSIONS order, joined by '+'."""
    return "+".join(d for d in DIMENSIONS if d in dims)


def grouping_for(filters: Filters, dims: Sequence[str]) -> list[str] | None:
    """Return the dimensions a question needs (filtered or grouped by), or None when more than two."""
    needed = [d for d in DIMENSIONS if d in dims or getattr(filters, d) is not None]
    return needed if len(needed) <= 2 else None


def _sum_into(session: Session, grouping: str, source: Any, values: list[Any], first: date, last: date) -> None:
    """Insert one grouping's rows for the days, summed from a source table's rows."""
    blank = sa.literal("")
    chosen = [*values, *[blank] * (2 - len(values))]
    query = sa.select(sa.literal(grouping), source.metric, source.day, *chosen, sa.func.sum(source.numerator),
                      sa.func.sum(source.denominator)).where(source.metric.in_(list(METRICS)), source.day >= first,
                                                             source.day <= last)  # the key's order: see rollup.days
    if source is MetricMarginal:
        query = query.where(MetricMarginal.grouping == _source_grouping(grouping))
    query = query.group_by(source.metric, source.day, *values)
    session.execute(sa.insert(MetricMarginal).from_select(KEY, query))


def _source_grouping(grouping: str) -> str:
    """Return the grouping a smaller one is summed from: a pair for a dimension, the first dimension for ''."""
    if grouping == "":
        return DIMENSIONS[0]
    return name_of(next(pair for pair in PAIRS if grouping in pair))


def refresh(session: Session, first: date, last: date) -> None:
    """Replace the marginal rows of the days first..last from the rollup's full rows of those days."""
    session.execute(sa.delete(MetricMarginal).where(MetricMarginal.grouping.in_(GROUPINGS),
                                                    MetricMarginal.metric.in_(list(METRICS)),
                                                    MetricMarginal.day >= first, MetricMarginal.day <= last))
    if session.get_bind().dialect.name == "postgresql":
        one_pass(session, first, last)
    else:
        one_by_one(session, first, last)


def one_by_one(session: Session, first: date, last: date) -> None:
    """Insert each grouping's rows with a sum of its own (SQLite has no GROUPING SETS)."""
    for a, b in PAIRS:
        _sum_into(session, name_of((a, b)), MetricRollup, [getattr(MetricRollup, a), getattr(MetricRollup, b)],
                  first, last)
    for dim in DIMENSIONS:
        pair = next(p for p in PAIRS if dim in p)
        column = MetricMarginal.first if pair[0] == dim else MetricMarginal.second
        _sum_into(session, dim, MetricMarginal, [column], first, last)
    _sum_into(session, "", MetricMarginal, [], first, last)


def _mask(dims: Sequence[str]) -> int:
    """Return GROUPING(department, …, request_type) for a grouping: a set bit for each dimension left out."""
    return sum(1 << (len(DIMENSIONS) - 1 - i) for i, d in enumerate(DIMENSIONS) if d not in dims)


def _case(chosen: dict[int, str]) -> str:
    """Return a CASE over the grouping mask choosing a column (or text) per grouping, '' otherwise."""
    whens = " ".join(f"WHEN {mask} THEN {value}" for mask, value in chosen.items())
    return f"CASE GROUPING({', '.join(DIMENSIONS)}) {whens} ELSE '' END"


def one_pass(session: Session, first: date, last: date) -> None:
    """Insert every grouping's rows in one pass over the full rows (PostgreSQL GROUPING SETS).

    A sum per grouping read the days' full rows 16 times: at a million cases the pairs took 20-47 s each, 329 s of a
    457 s rebuild; one pass takes about 2.5 s a week. A month at a time spilled its hash tables to disk (13 s).
    """
    sets = [(), *((d,) for d in DIMENSIONS), *PAIRS]
    names = _case({_mask(g): f"'{name_of(g)}'" for g in sets})
    firsts = _case({_mask(g): g[0] for g in sets if g})
    seconds = _case({_mask(g): g[1] for g in PAIRS})
    grouping_sets = ", ".join(f"({', '.join(g)})" for g in sets)
    statement = sa.text(
        f"INSERT INTO metric_rollup_marginal (grouping, metric, day, first, second, numerator, denominator) "  # noqa: S608  # constant names only
        f"SELECT {names}, metric, day, {firsts}, {seconds}, sum(numerator), sum(denominator) FROM metric_rollup "
        f"WHERE metric IN :metrics AND day >= :first AND day <= :last "
        f"GROUP BY metric, day, GROUPING SETS ({grouping_sets})").bindparams(
        sa.bindparam("metrics", expanding=True))
    start = first
    while start <= last:
        end = min(last, start + timedelta(days=CHUNK_DAYS - 1))
        session.execute(statement, {"metrics": list(METRICS), "first": start, "last": end})
        start = end + timedelta(days=1)


def columns(needed: list[str]) -> dict[str, Any]:
    """Return the marginal table's column for each needed dimension."""
    return dict(zip(needed, (MetricMarginal.first, MetricMarginal.second), strict=False))


def query(needed: list[str], metrics: list[str], first: date, last: date, filters: Filters,
          grain: bool, dims: list[str]) -> sa.Select[Any]:
    """Return metric, [day], the grouped dimensions and the two sums from the marginal rows of one grouping."""
    found = columns(needed)
    selected: list[Any] = [MetricMarginal.metric, *([MetricMarginal.day] if grain else []),
                           *(found[d] for d in dims)]
    statement = sa.select(*selected, sa.func.sum(MetricMarginal.numerator),
                          sa.func.sum(MetricMarginal.denominator)).where(
        MetricMarginal.grouping == name_of(needed), MetricMarginal.metric.in_(metrics),
        MetricMarginal.day >= first, MetricMarginal.day <= last)
    for name, value in filters.items():
        statement = statement.where(found[name] == value)
    return statement.group_by(*selected)
