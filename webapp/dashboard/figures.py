"""The dashboard's numbers as JSON: totals with formulas, the breakdown, trends, volumes and the unit's place."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from dataclasses import replace
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from flask import g
from flask import url_for
from flask_babel import gettext
from sqlalchemy.orm import Session

from processes.metrics import METRICS
from processes.metrics import RATES
from processes.metrics import CaseLine
from processes.metrics import Figure
from processes.metrics import Filters
from processes.metrics import MetricSettings
from processes.metrics import Period
from processes.metrics import cases_behind
from processes.metrics import count_behind
from processes.metrics import rollup
from webapp import labels
from webapp.dashboard import cache
from webapp.dashboard.criteria import Ask
from webapp.messages import N_
from webapp.timefmt import local_time
from webapp.workspace import unit_names

LOWER_IS_BETTER = frozenset({"overdue", "returned", "rehandled"})
GRADES = (N_("优秀"), N_("良好"), N_("一般"), N_("待改进"))
NONE = N_("（无）")
PRIMED_ROWS = 24  # the breakdown rows whose drill-downs are counted with the page (a category split can be long)


def names(db: Session) -> dict[str, dict[str, str]]:
    """Return the Chinese (or English) name of every code per dimension."""
    units = unit_names(db)
    return {"department": units, "township": units, "category": {},
            "channel": {k: gettext(v) for k, v in labels.CHANNELS.items()},
            "request_type": {k: gettext(v) for k, v in labels.REQUEST_TYPES.items()}}


def label(named: dict[str, dict[str, str]], dimension: str, code: str) -> str:
    """Return the readable name of a group value."""
    if not code:
        return str(gettext(NONE))
    return named.get(dimension, {}).get(code, code)


def describe(code: str) -> dict[str, Any]:
    """Return a metric's names, formula and definitions, translated."""
    m = METRICS[code]
    return {"code": code, "name": gettext(m.name), "formula": gettext(m.formula),
            "numerator_text": gettext(m.numerator),
            "denominator_text": gettext(m.denominator), "is_rate": m.rate}


def bucket(key: str, grain: str) -> Period:
    """Return the days of a trend point: the day, the week from its Monday, or the month."""
    if grain == "month":
        return Period.month(date.fromisoformat(key + "-01"))
    first = date.fromisoformat(key)
    return Period(first, first + timedelta(days=6)) if grain == "week" else Period.day(first)


def drill(ask: Ask, metric: str, part: str, period: Period | None, narrow: dict[str, str]) -> str:
    """Return the address listing the cases behind one side of a figure."""
    args = ask.args(metric=metric, part=part, **narrow)
    if period is not None:  # a trend point: its own days, within the asked period
        args["start"] = max(period.start, ask.period.start).isoformat()
        args["end"] = min(period.end, ask.period.end).isoformat()
    # url_for costs ~0.5 ms; a page has hundreds of points, each with two links: build the address once per request
    if "dashboard_cases" not in g:
        g.dashboard_cases = url_for("dashboard.cases")
    return f"{g.dashboard_cases}?{urlencode(args)}"


def point(ask: Ask, f: Figure, period: Period | None = None, narrow: dict[str, str] | None = None) -> dict[str, Any]:
    """Return one figure as JSON with its rate (percent) and the two drill-down addresses."""
    rate = None if f.rate is None else round(f.rate * 100, 2)
    return {"numerator": f.numerator, "denominator": f.denominator, "rate": rate,
            "drill_numerator": drill(ask, f.metric, "numerator", period, narrow or {}),
            "drill_denominator": drill(ask, f.metric, "denominator", period, narrow or {})}


def totals(db: Session, ask: Ask) -> list[dict[str, Any]]:
    """Return every metric over the period with its formula and counts."""
    found = {f.metric: f for f in rollup.figures(db, ask.period, filters=ask.filters)}
    return [{**describe(code), **point(ask, found.get(code, Figure(code, (), 0, 0)))} for code in METRICS]


def breakdown(db: Session, ask: Ask, named: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """Return the chosen metric per value of the chosen dimension, largest denominator first."""
    rows = rollup.figures(db, ask.period, group_by=(ask.by,), filters=ask.filters, metrics=(ask.metric,))
    rows.sort(key=lambda f: (-f.denominator, f.group))
    return [{"code": f.group[0], "label": label(named, ask.by, f.group[0]), **point(ask, f, None, {ask.by: f.group[0]})}
            for f in rows]


def trend(db: Session, ask: Ask) -> dict[str, Any]:
    """Return each rate per day, week or month of the period (lines)."""
    rows = rollup.figures(db, ask.period, group_by=(ask.grain,), filters=ask.filters, metrics=RATES)
    keys = sorted({f.group[0] for f in rows})
    by_metric: dict[str, dict[str, Figure]] = defaultdict(dict)
    for f in rows:
        by_metric[f.metric][f.group[0]] = f
    series = [{**describe(code), "points": [point(ask, by_metric[code].get(k, Figure(code, (k,), 0, 0)),
                                                  bucket(k, ask.grain)) for k in keys]}
              for code in RATES if code in by_metric]
    return {"labels": keys, "series": series}


def volume(db: Session, ask: Ask, grain: str, dimension: str, named: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Return the cases received per day or week, split by channel or request type (stacked bars)."""
    rows = rollup.figures(db, ask.period, group_by=(grain, dimension), filters=ask.filters, metrics=("volume",))
    keys = sorted({f.group[0] for f in rows})
    split: dict[str, dict[str, Figure]] = defaultdict(dict)
    for f in rows:
        split[f.group[1]][f.group[0]] = f
    series = [{"code": code, "name": label(named, dimension, code),
               "points": [point(ask, found.get(k, Figure("volume", (k, code), 0, 0)), bucket(k, grain),
                                {dimension: code}) for k in keys]}
              for code, found in sorted(split.items())]
    return {"labels": keys, "series": series}


def place(db: Session, ask: Ask, unit: str) -> list[dict[str, Any]]:
    """Return the unit's rank among units per rate and a grade, without other units' figures (排名、分档)."""
    others = Filters(**{name: value for name, value in ask.filters.items() if name != "department"})
    rows = rollup.figures(db, ask.period, group_by=("department",), filters=others, metrics=RATES)
    out = []
    for code in RATES:
        rated = [(f.rate, f.group[0]) for f in rows if f.metric == code and f.rate is not None and f.group[0]]
        mine = next((r for r, g in rated if g == unit), None)
        if mine is None:
            continue
        better = sum(1 for r, _ in rated if (r < mine if code in LOWER_IS_BETTER else r > mine))
        rank, total = better + 1, len(rated)
        grade = GRADES[min(len(GRADES) - 1, (rank - 1) * len(GRADES) // total)]
        out.append({**describe(code), "rank": rank, "units": total, "grade": gettext(grade)})
    return out


def behind_total(db: Session, ask: Ask, part: str, reading: MetricSettings, moment: datetime) -> tuple[int, str | None]:
    """Return how many items a drill-down lists, and when it was counted (None: counted now, from the cases).

    Counting a quarter's cases for every list page took seconds at a million cases; the figure the list came from
    is the rollup's, so the rollup gives the count when it holds the period under the same reading. A count "each
    time" (退单, 重办 under that reading) is not a count of cases: those are counted from the cases.
    """
    run = rollup.covers(db, ask.period, reading)
    if run is None or (reading.repeats == "each" and ask.metric in ("returned", "rehandled")):
        return count_behind(db, ask.metric, part, ask.period, filters=ask.filters, settings=reading, now=moment), None
    total = sum(f.numerator if part == "numerator" else f.denominator for f in by_day(db, ask, reading))
    return total, local_time(run.finished_at)


DAYS: cache.Codec[list[Figure]] = cache.Codec(
    lambda found: [[f.metric, list(f.group), f.numerator, f.denominator] for f in found],
    lambda rows: [Figure(str(m), tuple(str(v) for v in g), int(n), int(d)) for m, g, n, d in rows])


def by_day(db: Session, ask: Ask, reading: MetricSettings) -> list[Figure]:
    """Return the asked metric per day from the rollup, kept per run: a drill-down's count and where its pages lie."""
    question = ("days", ask.period, ask.filters, ask.metric)  # filters already narrowed to the viewer's scope
    return cache.answer(db, reading, question, lambda: rollup.figures(
        db, ask.period, group_by=("day",), filters=ask.filters, metrics=(ask.metric,)), DAYS)


def prime_drills(db: Session, ask: Ask, reading: MetricSettings) -> None:
    """Keep the per-day counts behind the page's totals and breakdown, so its drill-downs find them (two queries).

    A drill-down is opened from a figure of the page; asking the rollup per list cost 13-120 ms for three or four
    filters at a million cases, paid by the first to open each list after every refresh.
    """

    def counted() -> dict[Hashable, list[Figure]]:
        days: dict[Hashable, list[Figure]] = {("days", ask.period, ask.filters, code): [] for code in METRICS}
        for f in rollup.figures(db, ask.period, group_by=("day",), filters=ask.filters):
            days[("days", ask.period, ask.filters, f.metric)].append(f)
        if getattr(ask.filters, ask.by) is not None:
            return days  # the breakdown of a filtered dimension is its one value: the totals above
        split = rollup.figures(db, ask.period, group_by=("day", ask.by), filters=ask.filters, metrics=(ask.metric,))
        sizes: dict[str, int] = defaultdict(int)
        for f in split:
            sizes[f.group[1]] += f.denominator
        largest = set(sorted(sizes, key=lambda value: -sizes[value])[:PRIMED_ROWS])
        for f in (f for f in split if f.group[1] in largest):
            narrow = replace(ask.filters, **{ask.by: f.group[1]})
            days.setdefault(("days", ask.period, narrow, ask.metric), []).append(Figure(f.metric, f.group[:1],
                                                                                        f.numerator, f.denominator))
        return days

    cache.keep(db, reading, counted, DAYS)


def lines_behind(db: Session, ask: Ask, part: str, reading: MetricSettings, moment: datetime, page: int,
                 size: int) -> list[CaseLine]:
    """List one page of a drill-down, reading first only the newest days the rollup says hold it (kept per run).

    With three or four filters the database gathered a month's or a quarter's items to sort out 50 (0.1-0.2 s at a
    million cases); the rollup's counts per day say from which day on the page lies. The guess only narrows: a
    page that comes back short (the cases changed since the rollup, another reading) is read again over the period.
    """
    since = rollup.newest_of(by_day(db, ask, reading), part, page * size)

    def read(first: date | None) -> list[CaseLine]:
        return cases_behind(db, ask.metric, part, ask.period, filters=ask.filters, settings=reading, now=moment,
                            limit=size, offset=(page - 1) * size, since=first)

    if since is not None and since > ask.period.start:
        lines = read(since)
        if len(lines) == size:
            return lines
    return read(None)
