"""A drill-down page read from the newest days the rollup names equals the page read over the whole period.

The November office of tests/test_metrics_dashboard.py with pages of two lines, so the rollup's days narrow the
read; then the cases change behind the rollup's back and the page is still right (SQLite and PostgreSQL).
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from processes.cases.models import Case
from processes.metrics import METRICS
from processes.metrics import Filters
from processes.metrics import MetricSettings
from processes.metrics import Period
from processes.metrics import cases_behind
from processes.metrics import rollup
from processes.metrics.periods import office_day
from tests.lifecycle_support import at
from tests.metrics_support import NOW
from tests.metrics_support import add_case
from tests.test_metrics_dashboard import board  # noqa: F401  # the fixture
from tests.workspace_support import Workspace
from webapp.dashboard import figures
from webapp.dashboard.criteria import Ask

NOV = Period(date(2026, 11, 1), date(2026, 11, 30))
SIZE = 2


def _pages(ws: Workspace, ask: Ask, part: str) -> tuple[list[list[str]], list[list[str]]]:
    """Return every page through lines_behind and straight from the cases, as case numbers."""
    reading = MetricSettings()
    narrowed, whole = [], []
    with ws.app.test_request_context(), ws.office.rt.read() as db:
        for page in range(1, 7):
            narrowed.append([line.number for line in figures.lines_behind(db, ask, part, reading, NOW, page, SIZE)])
            whole.append([line.number for line in cases_behind(db, ask.metric, part, ask.period,
                                                              filters=ask.filters, now=NOW, limit=SIZE,
                                                              offset=(page - 1) * SIZE)])
    return narrowed, whole


def test_newest_days_name_where_the_first_items_lie(board: Workspace) -> None:  # noqa: F811
    with board.office.rt.read() as db:
        for metric in METRICS:
            items = cases_behind(db, metric, "denominator", NOV, now=NOW, limit=50)
            days = [office_day(line.dated) for line in items if line.dated is not None]
            for needed in range(1, len(items) + 1):
                day = rollup.newest_days(db, metric, "denominator", NOV, Filters(), needed)
                assert day is not None and sum(d >= day for d in days) >= needed > sum(d > day for d in days)
            assert rollup.newest_days(db, metric, "denominator", NOV, Filters(), len(items) + 1) is None


def test_every_page_equals_the_page_over_the_period(board: Workspace) -> None:  # noqa: F811
    for metric in METRICS:
        for part in ("numerator", "denominator"):
            for filters in (Filters(), Filters(department="zjj"), Filters(category="城市管理", township="beiao")):
                narrowed, whole = _pages(board, Ask(NOV, filters, metric), part)
                assert narrowed == whole, (metric, part, filters)


def test_a_page_is_right_when_the_cases_changed_after_the_rollup(board: Workspace) -> None:  # noqa: F811
    ask = Ask(NOV, Filters(), "volume")
    before, _ = _pages(board, ask, "numerator")  # the rollup's days are kept for this run
    with board.office.rt.write() as db, db.begin():
        add_case(db, "NEW", "2026-11-29T10:00:00")  # newer than the page: in it
        db.execute(sa.update(Case).where(Case.number.in_(before[0])).values(  # the page's cases left: read again
            created_at=at("2026-10-15T10:00:00")))
    narrowed, whole = _pages(board, ask, "numerator")
    assert narrowed == whole and narrowed[0][0] == "MNEW" and not set(before[0]) & {n for p in narrowed for n in p}
    with board.office.rt.write() as db, db.begin():
        db.execute(sa.update(Case).values(created_at=at("2026-11-01T09:00:00")))  # every case on the first day
    narrowed, whole = _pages(board, ask, "numerator")
    assert narrowed == whole and sum(len(p) for p in narrowed) > SIZE
