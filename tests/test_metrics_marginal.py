"""The marginal rollup rows (边际汇总) answer questions naming at most two dimensions, as counting the cases does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from itertools import combinations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.metrics import DIMENSIONS
from processes.metrics import Filters
from processes.metrics import Period
from processes.metrics import figures
from processes.metrics import marginal
from processes.metrics import rollup
from processes.metrics.models import MetricMarginal
from processes.metrics.models import MetricRollup
from tests.metrics_support import NOW
from tests.metrics_support import seed_month
from tests.metrics_support import session_for

AUTUMN = Period(date(2026, 10, 1), date(2026, 11, 30))
NOV = Period(date(2026, 11, 1), date(2026, 11, 30))


@pytest.fixture
def counted(db_url: str) -> Iterator[Session]:
    """The November office with its rollup (full and marginal rows) counted."""
    engine, session = session_for(db_url)
    seed_month(session)
    rollup.refresh(session, date(2026, 10, 1), date(2026, 11, 30), now=NOW)
    session.commit()
    yield session
    session.close()
    engine.dispose()


def test_every_grouping_of_two_or_fewer_dimensions_equals_counting(counted: Session) -> None:
    groupings = [(), *((d,) for d in DIMENSIONS), *combinations(DIMENSIONS, 2)]
    assert counted.scalar(sa.select(sa.func.count(sa.distinct(MetricMarginal.grouping)))) == len(groupings)
    expected = {g: figures(counted, AUTUMN, group_by=g, now=NOW) for g in groupings}
    filtered = figures(counted, NOV, group_by=("week",), filters=Filters(category="noise", township="beiao"), now=NOW)
    counted.execute(sa.delete(MetricRollup))  # from here on only the marginal rows can answer
    for grouping in groupings:
        assert rollup.figures(counted, AUTUMN, group_by=grouping) == expected[grouping], grouping
    assert rollup.figures(counted, NOV, group_by=("week",), filters=Filters(category="noise", township="beiao")) \
        == filtered
    assert rollup.figures(counted, NOV, group_by=("department",), filters=Filters(category="noise",
                                                                                  township="beiao")) == []


def test_a_refresh_of_some_days_replaces_only_their_marginal_rows(counted: Session) -> None:
    before = counted.scalar(sa.select(sa.func.count()).select_from(MetricMarginal))
    rollup.refresh(counted, date(2026, 11, 3), date(2026, 11, 4), now=NOW)
    assert counted.scalar(sa.select(sa.func.count()).select_from(MetricMarginal)) == before
    assert rollup.figures(counted, AUTUMN, group_by=("township",)) == figures(counted, AUTUMN,
                                                                              group_by=("township",), now=NOW)


def test_one_pass_writes_the_rows_of_one_sum_per_grouping(counted: Session) -> None:
    """PostgreSQL sums every grouping in one pass (GROUPING SETS, a month at a time); the rows are the same."""
    def rows() -> list[tuple[object, ...]]:
        return sorted(tuple(r) for r in counted.execute(sa.select(
            MetricMarginal.grouping, MetricMarginal.metric, MetricMarginal.day, MetricMarginal.first,
            MetricMarginal.second, MetricMarginal.numerator, MetricMarginal.denominator)))

    written = rows()  # by the refresh: one pass on PostgreSQL, one by one on SQLite
    counted.execute(sa.delete(MetricMarginal))
    marginal.one_by_one(counted, AUTUMN.start, AUTUMN.end)
    assert rows() == written and len({r[0] for r in written}) == 16
    if counted.get_bind().dialect.name == "postgresql":  # nine passes of a week, the last of five days
        counted.execute(sa.delete(MetricMarginal))
        marginal.one_pass(counted, AUTUMN.start, AUTUMN.end)
        assert rows() == written
