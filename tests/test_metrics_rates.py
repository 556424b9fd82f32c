"""The standard rates (processes/metrics) against hand-computed fixtures, on SQLite and PostgreSQL.

The November office of tests/metrics_support.py: on time, late, extended (延期) and re-handled (重办) cases, one
returned twice (退单), a merged duplicate (并单), a direct answer, one still in registration, an open overdue case, a
case received on 31 October at 23:30 and closed on 1 November (period boundary), and 签收 tasks in and out of time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy.orm import Session

from processes.metrics import METRICS
from processes.metrics import Filters
from processes.metrics import MetricSettings
from processes.metrics import Period
from processes.metrics import cases_behind
from processes.metrics import count_behind
from processes.metrics import figures
from processes.metrics import read_settings
from processes.metrics.settings import save_settings
from tests.metrics_support import NOVEMBER
from tests.metrics_support import NOW
from tests.metrics_support import seed_month
from tests.metrics_support import session_for

NOV = Period(date(2026, 11, 1), date(2026, 11, 30))
OCT = Period.month(date(2026, 10, 5))


@pytest.fixture
def month(db_url: str) -> Iterator[Session]:
    """A database holding the November office."""
    engine, session = session_for(db_url)
    seed_month(session)
    session.commit()
    yield session
    session.close()
    engine.dispose()


def counts(session: Session, period: Period, **kwargs: object) -> dict[str, tuple[int, int]]:
    """Return metric → (numerator, denominator) of a period, ungrouped."""
    return {f.metric: (f.numerator, f.denominator) for f in figures(session, period, now=NOW, **kwargs)}  # type: ignore[arg-type]


def test_each_formula_by_hand(month: Session) -> None:
    assert counts(month, NOV) == NOVEMBER
    assert figures(month, NOV, metrics=("ontime",), now=NOW)[0].rate == pytest.approx(4 / 6)


def test_no_data_is_no_rate_not_zero(month: Session) -> None:
    empty = Period.month(date(2025, 3, 1))
    assert figures(month, empty, now=NOW) == []
    assert count_behind(month, "satisfied", "denominator", empty, now=NOW) == 0


def test_period_boundary_by_office_day(month: Session) -> None:
    # H came in at 23:30 on 31 October Beijing time (15:30 UTC): October's volume, November's deadline and closure
    october = counts(month, OCT)
    assert october["volume"] == (1, 1) and october["closure"] == (1, 1)
    assert "ontime" not in october
    first = counts(month, Period.day(date(2026, 11, 1)))
    assert first["ontime"] == (1, 1) and first["rehandled"] == (0, 1)
    # I came in at 23:59 on 30 November: still November
    assert counts(month, Period.day(date(2026, 11, 30)))["volume"] == (1, 1)


def test_grouped_by_department_and_week(month: Session) -> None:
    rows = figures(month, NOV, group_by=("department",), metrics=("ontime", "signed"), now=NOW)
    got = {(f.metric, f.group): (f.numerator, f.denominator) for f in rows}
    assert got == {("ontime", ("D1",)): (3, 4), ("ontime", ("D2",)): (1, 2),
                   ("signed", ("D1",)): (1, 2), ("signed", ("D2",)): (0, 1)}
    weeks = {f.group: f.denominator for f in figures(month, NOV, group_by=("week",), metrics=("volume",), now=NOW)}
    # 1 November 2026 is a Sunday; nothing came in that day, six cases the week after
    assert weeks == {("2026-11-02",): 6, ("2026-11-09",): 1, ("2026-11-16",): 1, ("2026-11-30",): 1}


def test_filters_narrow(month: Session) -> None:
    assert counts(month, NOV, filters=Filters(category="roads"))["ontime"] == (0, 1)
    assert counts(month, NOV, filters=Filters(channel="platform"))["rehandled"] == (1, 1)
    assert counts(month, NOV, filters=Filters(department=""), metrics=("direct",)) == {"direct": (1, 1)}
    assert counts(month, NOV, filters=Filters(township="dongping", department="D2"))["overdue"] == (1, 1)


def test_readings_change_the_counts(month: Session) -> None:
    strict = MetricSettings(basic_satisfied=False)
    assert counts(month, NOV, settings=strict)["satisfied"] == (1, 3)
    each = MetricSettings(repeats="each")
    got = counts(month, NOV, settings=each)
    assert got["returned"] == (2, 8) and got["rehandled"] == (1, 7)
    received = counts(month, NOV, settings=MetricSettings(period_date="received"))
    assert received["ontime"] == (3, 5) and received["signed"] == (1, 3)


def test_reading_stored_as_settings(month: Session) -> None:
    assert read_settings(month) == MetricSettings()
    save_settings(month, MetricSettings(basic_satisfied=False, repeats="each", period_date="received"))
    month.commit()
    assert read_settings(month).key() == "basic=0;repeats=each;date=received"


@pytest.mark.parametrize("metric", sorted(METRICS))
def test_drill_down_equals_the_figure(month: Session, metric: str) -> None:
    numerator, denominator = NOVEMBER[metric]
    assert count_behind(month, metric, "numerator", NOV, now=NOW) == numerator
    assert count_behind(month, metric, "denominator", NOV, now=NOW) == denominator
    lines = cases_behind(month, metric, "denominator", NOV, now=NOW)
    assert len(lines) == denominator


def test_drill_down_lists_the_cases(month: Session) -> None:
    on_time = {line.number for line in cases_behind(month, "ontime", "numerator", NOV, now=NOW)}
    assert on_time == {"MA", "MC", "MH", "MJ"}
    late = cases_behind(month, "overdue", "numerator", NOV, now=NOW)
    assert [line.number for line in late] == ["MD", "MB"]  # newest deadline first
    assert {line.number for line in cases_behind(month, "signed", "denominator", NOV, now=NOW,
                                                 filters=Filters(department="D1"))} == {"MA", "MB"}
    with pytest.raises(ValueError, match="numerator or denominator"):
        cases_behind(month, "ontime", "both", NOV, now=NOW)
