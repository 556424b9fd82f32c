"""The dashboard's answers kept per rollup run: kept until a refresh or another reading, never across scopes.

The November office of tests/test_metrics_dashboard.py; the rollup's rows are changed behind the cache's back to
show which answers come from it (SQLite and PostgreSQL).
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from processes.metrics import MetricSettings
from processes.metrics import Period
from processes.metrics import rollup
from processes.metrics.models import MetricMarginal
from processes.metrics.models import MetricRollup
from processes.metrics.settings import save_settings
from processes.reference.models import Department
from tests.metrics_support import NOW
from tests.test_metrics_dashboard import NOV
from tests.test_metrics_dashboard import board  # noqa: F401  # the fixture
from tests.test_metrics_dashboard import data
from tests.test_metrics_dashboard import totals
from tests.workspace_support import Workspace
from webapp.dashboard import cache

ONTIME = f"/dashboard/cases?{NOV}&metric=ontime&part=denominator&format=json"


def _double_rollup(ws: Workspace) -> None:
    """Double every count in the rollup without a refresh (no new run): only an uncached answer sees it."""
    with ws.office.rt.write() as db, db.begin():
        for table in (MetricRollup, MetricMarginal):
            db.execute(sa.update(table).values(numerator=table.numerator * 2, denominator=table.denominator * 2))


def test_an_answer_is_kept_until_the_rollup_is_refreshed(board: Workspace) -> None:  # noqa: F811
    client = board.user("ana", "analyst")
    first = data(client)
    _double_rollup(board)
    assert data(client) == first  # the same run: the kept answer
    doubled = tuple(2 * n for n in totals(first)["ontime"])
    assert totals(data(client, NOV + "&by=township"))["ontime"] == doubled  # another question counts afresh
    with board.office.rt.write() as db, db.begin():
        rollup.refresh(db, date(2026, 10, 1), date(2026, 11, 30), now=NOW)  # a new run: recounted from the cases
    assert totals(data(client)) == totals(first)
    assert data(client)["rollup"]["at"] is not None


def test_another_reading_asks_again(board: Workspace) -> None:  # noqa: F811
    client = board.user("ana", "analyst")
    assert data(client)["reading"][0]["value"] == "满意 + 基本满意"
    _double_rollup(board)
    with board.office.rt.write() as db, db.begin():
        save_settings(db, MetricSettings(basic_satisfied=False))
    payload = data(client)
    assert payload["reading"][0]["value"] == "仅“满意”"  # shown at once, before the rollup is recounted
    assert totals(payload)["ontime"] == (8, 12)  # the rollup's rows as they are now (doubled), not the kept answer


def test_a_renamed_unit_is_shown_at_once(board: Workspace) -> None:  # noqa: F811
    client = board.user("ana", "analyst")
    assert data(client)["breakdown"][0]["label"] == "区住建局"
    with board.office.rt.write() as db, db.begin():
        db.execute(sa.update(Department).where(Department.code == "zjj").values(name="区住房和城乡建设局"))
    assert data(client)["breakdown"][0]["label"] == "区住房和城乡建设局"


def test_scopes_never_share_an_answer(board: Workspace) -> None:  # noqa: F811
    office = board.user("sup", "supervisor")
    zjj = board.user("h1", "handler", department="zjj")
    zhzf = board.user("h2", "handler", department="zhzf")
    town = board.user("town", "township_reporter", department="beiao")
    for_office = data(office, NOV + "&department=zjj")  # kept first, with the same filters as the unit's own
    mine = data(zjj)
    assert mine["scope"] == "unit" and mine["place"] and for_office["place"] == []
    assert totals(mine) == totals(for_office)
    theirs = data(zhzf)
    assert totals(theirs)["ontime"] == (1, 2) and [r["code"] for r in theirs["breakdown"]] == ["zhzf"]
    assert zhzf.get(f"/dashboard/data?{NOV}&department=zjj").status_code == 404  # the kept zjj answer is not served
    assert totals(data(town))["volume"] == (1, 1)
    assert totals(data(office))["volume"] == (10, 10)


def test_a_drill_down_count_is_kept_per_run_and_the_list_is_live(board: Workspace) -> None:  # noqa: F811
    client = board.user("ana", "analyst")
    with board.office.rt.write() as db, db.begin():
        rollup.refresh_full(db, now=NOW)
    first = client.get(ONTIME).get_json()
    assert first["total"] == 6 and first["counted_at"] is not None
    _double_rollup(board)
    assert client.get(ONTIME).get_json() == first  # the rollup's count for this run; the lines read the cases
    with board.office.rt.write() as db, db.begin():
        rollup.refresh_recent(db, now=NOW)
    with board.office.rt.read() as db:  # the next run: the rollup's figure now (older days still doubled)
        figure = rollup.figures(db, Period(date(2026, 11, 1), date(2026, 11, 30)), metrics=("ontime",))[0]
    assert figure.denominator > 6 and client.get(ONTIME).get_json()["total"] == figure.denominator


def test_the_cache_keeps_the_most_recently_used() -> None:
    kept = cache.AnswerCache(size=2)
    kept.put("a", 1)
    kept.put("b", 2)
    assert kept.get("a") == (True, 1)
    kept.put("c", 3)  # b was used least recently
    assert kept.get("b") == (False, None) and kept.get("a") == (True, 1) and kept.get("c") == (True, 3)
