"""The rollup (metric_rollup) answers what counting the cases answers, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.orm import Session

from processes.metrics import Filters
from processes.metrics import MetricSettings
from processes.metrics import Period
from processes.metrics import figures
from processes.metrics import rollup
from processes.metrics.models import MetricRollup
from tests.lifecycle_support import at
from tests.metrics_support import NOVEMBER
from tests.metrics_support import NOW
from tests.metrics_support import add_case
from tests.metrics_support import seed_month
from tests.metrics_support import session_for
from webapp.cli import cli

NOV = Period(date(2026, 11, 1), date(2026, 11, 30))
AUTUMN = Period(date(2026, 10, 1), date(2026, 11, 30))
GROUPINGS = [(), ("department",), ("category", "township"), ("channel", "request_type", "week"), ("day",),
             ("month", "department")]


@pytest.fixture
def month(db_url: str) -> Iterator[Session]:
    """The November office with its rollup counted."""
    engine, session = session_for(db_url)
    seed_month(session)
    rollup.refresh(session, date(2026, 10, 1), date(2026, 11, 30), now=NOW)
    session.commit()
    yield session
    session.close()
    engine.dispose()


@pytest.mark.parametrize("group_by", GROUPINGS)
def test_rollup_equals_direct_counting(month: Session, group_by: tuple[str, ...]) -> None:
    assert rollup.figures(month, AUTUMN, group_by=group_by) == figures(month, AUTUMN, group_by=group_by, now=NOW)


@pytest.mark.parametrize("filters", [Filters(department="D1"), Filters(category="noise", township="beiao"),
                                     Filters(channel="platform"), Filters(department="", request_type="consult")])
def test_rollup_equals_direct_counting_filtered(month: Session, filters: Filters) -> None:
    for period in (NOV, Period.week(date(2026, 11, 4)), Period.day(date(2026, 11, 1))):
        got = rollup.figures(month, period, group_by=("department",), filters=filters)
        assert got == figures(month, period, group_by=("department",), filters=filters, now=NOW)


def test_rollup_totals_and_last_run(month: Session) -> None:
    assert {f.metric: (f.numerator, f.denominator) for f in rollup.figures(month, NOV)} == NOVEMBER
    run = rollup.last_run(month)
    assert run is not None and run.reading == MetricSettings().key() and run.rows > 0


def test_refresh_recounts_only_its_days(month: Session) -> None:
    before = month.scalar(sa.select(sa.func.count()).select_from(MetricRollup))
    rollup.refresh(month, date(2026, 11, 1), date(2026, 11, 30), now=NOW)  # again: same rows, nothing doubled
    assert month.scalar(sa.select(sa.func.count()).select_from(MetricRollup)) == before
    add_case(month, "K", "2026-11-25T08:00:00")  # today
    month.flush()
    run = rollup.refresh_recent(month, now=NOW)
    assert (run.first_day, run.last_day, run.kind) == (date(2026, 11, 24), date(2026, 11, 25), "day")
    volume = {f.group: f.numerator for f in rollup.figures(month, NOV, group_by=("day",), metrics=("volume",))}
    assert volume[("2026-11-25",)] == 1 and sum(volume.values()) == 10


def test_full_refresh_under_another_reading(month: Session) -> None:
    strict = MetricSettings(basic_satisfied=False, repeats="each")
    run = rollup.refresh_full(month, now=at("2026-11-30T23:00:00"), days=61, settings=strict)
    assert (run.first_day, run.kind, run.reading) == (date(2026, 10, 1), "full", strict.key())
    got = {f.metric: (f.numerator, f.denominator) for f in rollup.figures(month, NOV)}
    assert got["satisfied"] == (1, 3) and got["returned"] == (2, 8)


def test_rollup_command(db_url: str) -> None:
    engine, session = session_for(db_url)
    seed_month(session)
    session.commit()
    runner = CliRunner(env={"HOTLINE_DATABASE_URL": db_url})
    one = runner.invoke(cli, ["metrics", "rollup", "--day", "2026-11-02"])
    assert one.exit_code == 0, one.output
    assert one.output.startswith("day 2026-11-02..2026-11-02: ")
    assert {f.metric: f.numerator for f in rollup.figures(session, Period.day(date(2026, 11, 2)))}["volume"] == 2
    full = runner.invoke(cli, ["metrics", "rollup", "--full", "--days", "3"])
    assert full.exit_code == 0 and full.output.startswith("full "), full.output
    both = runner.invoke(cli, ["metrics", "rollup", "--full", "--day", "2026-11-02"])
    assert both.exit_code == 2 and "not both" in both.output
    session.close()
    engine.dispose()
