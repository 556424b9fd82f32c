"""A drill-down's count: the rollup's figure when the rollup holds the period under the reading, else the cases."""

from __future__ import annotations

from processes.metrics import MetricSettings
from processes.metrics import rollup
from processes.metrics.settings import save_settings
from tests.lifecycle_support import at
from tests.metrics_support import NOW
from tests.metrics_support import add_case
from tests.test_metrics_dashboard import NOV
from tests.test_metrics_dashboard import board  # noqa: F401  # the fixture
from tests.test_metrics_dashboard import data
from tests.workspace_support import Workspace
from tests.workspace_support import text

ONTIME = f"/dashboard/cases?{NOV}&metric=ontime&part=denominator"


def test_the_count_comes_from_the_rollup_once_it_holds_the_period(board: Workspace) -> None:  # noqa: F811
    client = board.user("ana", "analyst")
    before = client.get(ONTIME + "&format=json").get_json()
    assert before["counted_at"] is None and before["total"] == 6  # only a day refresh so far: counted from cases
    with board.office.rt.write() as db, db.begin():
        rollup.refresh_full(db, now=NOW)
    after = client.get(ONTIME + "&format=json").get_json()
    figure = next(t for t in data(client)["totals"] if t["code"] == "ontime")
    assert after["total"] == figure["denominator"] == 6 and after["counted_at"] is not None
    assert len(after["numbers"]) == 6
    assert "的汇总" in text(client.get(ONTIME))
    with board.office.rt.write() as db, db.begin():  # closed after the rollup ran: listed now, counted at its next run
        add_case(db, "LATE", "2026-11-20T10:00:00", lead_department="zjj", status="closed",
                 deadline=at("2026-11-24T17:00:00"), closed_at=at("2026-11-24T16:00:00"))
    listed = client.get(ONTIME + "&format=json").get_json()
    assert listed["total"] == 6 and "MLATE" in listed["numbers"]
    with board.office.rt.write() as db, db.begin():
        rollup.refresh_recent(db, now=NOW)  # yesterday and today: the case's deadline day (11-24)
    assert client.get(ONTIME + "&format=json").get_json()["total"] == 7


def test_another_reading_or_a_count_of_times_counts_the_cases(board: Workspace) -> None:  # noqa: F811
    client = board.user("ana", "analyst")
    with board.office.rt.write() as db, db.begin():
        rollup.refresh_full(db, now=NOW)
        save_settings(db, MetricSettings(repeats="each"))
    returned = client.get(f"/dashboard/cases?{NOV}&metric=returned&part=numerator&format=json").get_json()
    assert returned["counted_at"] is None and returned["total"] == 1  # one case, whatever its number of 退单
    ontime = client.get(ONTIME + "&format=json").get_json()
    assert ontime["counted_at"] is None and ontime["total"] == 6  # the rollup was counted under the old reading
