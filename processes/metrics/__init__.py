"""Metrics (统计指标): the office's standard rates, counted from case columns and the task projection.

The rates of domain.md §7 are `definitions.METRICS` (code → `Metric` with Chinese and English name, formula,
numerator and denominator text): volume 来件量, direct 直办率, signed 及时签收率, ontime 按时办结率, closure 办结率,
overdue 超期率, returned 回退率, rehandled 重办率, callback 回访率, satisfied 满意率, solved 解决率.

Counting straight from the cases (tests, drill-downs, reports over a few cases)::

    from processes.metrics import Filters, MetricSettings, Period, figures, cases_behind, count_behind, read_settings
    reading = read_settings(session)                       # 统计口径 from the `setting` table; show reading.lines()
    month = Period.month(date(2026, 11, 1))                 # or Period(start, end), Period.day(d), Period.week(d)
    rows = figures(session, month, group_by=("department",), filters=Filters(category="噪音"),
                   metrics=("ontime", "satisfied"), settings=reading, now=clock.now())
    for f in rows:                                          # Figure(metric, group, numerator, denominator), f.rate
        ...
    lines = cases_behind(session, "ontime", "denominator", month, filters=Filters(department="城管局"),
                         settings=reading, now=clock.now(), limit=50, offset=0)   # CaseLine: number, status, …
    total = count_behind(session, "ontime", "numerator", month, ..., now=clock.now())

`group_by` takes any of the dimensions department (主办单位; 签收 by the task's unit), category (诉求分类), township,
channel, request_type, and at most one grain day / week (Monday's date) / month ('YYYY-MM'); '' in a group is
"none". `now` decides what is already due (an open case past its deadline is overdue). A figure with a zero
denominator has rate None: no data is not 0 %.

Counting from the rollup (the dashboard, reports over months; fast at a million cases): `rollup.figures(session,
period, group_by=…, filters=…, metrics=…)` answers the same `Figure`s from the `metric_rollup` table, which
`rollup.refresh(session, first_day, last_day, now=…)` rebuilds (the scheduler: today and yesterday every few
minutes, the last days nightly; `hotline metrics rollup`). `rollup.last_run(session)` says when and under which
reading it was counted.
"""

from __future__ import annotations

from processes.metrics.compute import CaseLine
from processes.metrics.compute import Figure
from processes.metrics.compute import cases_behind
from processes.metrics.compute import count_behind
from processes.metrics.compute import figures
from processes.metrics.definitions import METRICS
from processes.metrics.definitions import RATES
from processes.metrics.definitions import Metric
from processes.metrics.periods import DIMENSIONS
from processes.metrics.periods import GRAINS
from processes.metrics.periods import Filters
from processes.metrics.periods import Period
from processes.metrics.settings import MetricSettings
from processes.metrics.settings import read_settings

__all__ = ["DIMENSIONS", "GRAINS", "METRICS", "RATES", "CaseLine", "Figure", "Filters", "Metric",
           "MetricSettings", "Period", "cases_behind", "count_behind", "figures", "read_settings"]
