"""The dashboard's answers shared by a node's workers through files: per run and reading, never across scopes.

Two apps on one database and one cache folder stand for two gunicorn workers; the rollup's rows are changed behind
the cache's back to show which answers come from it (SQLite and PostgreSQL).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from processes.metrics import MetricSettings
from processes.metrics import rollup
from processes.metrics.models import MetricMarginal
from processes.metrics.models import MetricRollup
from processes.metrics.settings import save_settings
from tests.metrics_support import NOW
from tests.test_metrics_dashboard import NOV
from tests.test_metrics_dashboard import board  # noqa: F401  # the fixture
from tests.test_metrics_dashboard import data
from tests.test_metrics_dashboard import totals
from tests.web_support import login
from tests.web_support import web_app
from tests.workspace_support import Workspace
from webapp import runtime_of
from webapp.dashboard import cache

ONTIME = f"/dashboard/cases?{NOV}&metric=ontime&part=denominator&format=json"


@pytest.fixture
def second(board: Workspace, tmp_path: Path) -> Iterator[Flask]:  # noqa: F811
    """Give the workspace's app a cache folder and yield another app (worker) on the same database and folder."""
    folder = str(tmp_path / "dashboard-cache")
    board.app.config["DASHBOARD_CACHE_DIR"] = folder
    yield from web_app(board.app.config["DATABASE_URL"], runtime_of(board.app).clock, DASHBOARD_CACHE_DIR=folder)


def _client(app: Flask, username: str) -> FlaskClient:
    """Sign an existing user in on another app."""
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def _double_rollup(ws: Workspace) -> None:
    """Double every count in the rollup without a refresh (no new run): only an uncounted answer sees it."""
    with ws.office.rt.write() as db, db.begin():
        for table in (MetricRollup, MetricMarginal):
            db.execute(sa.update(table).values(numerator=table.numerator * 2, denominator=table.denominator * 2))


def test_another_worker_reads_the_answer_until_the_next_run(board: Workspace, second: Flask) -> None:  # noqa: F811
    with board.office.rt.write() as db, db.begin():
        rollup.refresh_full(db, now=NOW)
    first = data(board.user("ana", "analyst"))
    drill = board.clients["ana"].get(ONTIME).get_json()
    _double_rollup(board)
    other = _client(second, "ana")
    assert data(other) == first and other.get(ONTIME).get_json() == drill  # the first worker's files
    assert totals(data(other, NOV + "&by=township"))["ontime"] == tuple(2 * n for n in totals(first)["ontime"])
    with board.office.rt.write() as db, db.begin():
        rollup.refresh(db, date(2026, 10, 1), date(2026, 11, 30), now=NOW)  # a new run: recounted everywhere
    assert totals(data(other)) == totals(first) and other.get(ONTIME).get_json()["total"] == drill["total"]


def test_a_reading_change_asks_again_in_every_worker(board: Workspace, second: Flask) -> None:  # noqa: F811
    first = data(board.user("ana", "analyst"))
    _double_rollup(board)
    with board.office.rt.write() as db, db.begin():
        save_settings(db, MetricSettings(basic_satisfied=False))
    payload = data(_client(second, "ana"))
    assert payload["reading"][0]["value"] == "仅“满意”" and payload["reading"] != first["reading"]
    assert totals(payload)["ontime"] == tuple(2 * n for n in totals(first)["ontime"])


def test_the_page_keeps_its_drill_down_counts(board: Workspace, second: Flask) -> None:  # noqa: F811
    with board.office.rt.write() as db, db.begin():
        rollup.refresh_full(db, now=NOW)
    payload = data(board.user("ana", "analyst"), NOV + "&metric=ontime&by=department")
    _double_rollup(board)
    other = _client(second, "ana")
    ontime = next(t for t in payload["totals"] if t["code"] == "ontime")
    assert other.get(ontime["drill_denominator"] + "&format=json").get_json()["total"] == ontime["denominator"]
    for row in payload["breakdown"]:  # each unit's list, counted with the page, not from the doubled rollup
        assert other.get(row["drill_numerator"] + "&format=json").get_json()["total"] == row["numerator"]


def test_workers_never_share_across_scopes(board: Workspace, second: Flask) -> None:  # noqa: F811
    for_office = data(board.user("sup", "supervisor"), NOV + "&department=zjj")
    board.user("h1", "handler", department="zjj")
    board.user("h2", "handler", department="zhzf")
    mine = data(_client(second, "h1"))
    assert mine["scope"] == "unit" and mine["place"] and for_office["place"] == []
    assert totals(mine) == totals(for_office)
    theirs = _client(second, "h2")
    assert totals(data(theirs))["ontime"] == (1, 2) and [r["code"] for r in data(theirs)["breakdown"]] == ["zhzf"]
    assert theirs.get(f"/dashboard/data?{NOV}&department=zjj").status_code == 404


def test_a_broken_file_is_counted_again(board: Workspace, second: Flask) -> None:  # noqa: F811
    first = data(board.user("ana", "analyst"))
    folder = Path(second.config["DASHBOARD_CACHE_DIR"])
    for file in folder.glob("*.json"):
        file.write_text('{"key": "half', encoding="utf-8")
    _double_rollup(board)
    assert totals(data(_client(second, "ana")))["ontime"] == tuple(2 * n for n in totals(first)["ontime"])


def test_another_database_never_reads_the_files(tmp_path: Path) -> None:
    one = cache.AnswerCache(folder=tmp_path, salt="postgresql://one")
    one.write("q", {"n": 1}, cache.AS_IS)
    assert cache.AnswerCache(folder=tmp_path, salt="postgresql://one").read("q", cache.AS_IS) == (True, {"n": 1})
    assert cache.AnswerCache(folder=tmp_path, salt="postgresql://two").read("q", cache.AS_IS) == (False, None)


def test_old_files_are_swept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "MAX_FILES", 4)
    kept = cache.AnswerCache(folder=tmp_path, salt="db")
    names = [tmp_path / f"{n}.json" for n in range(5)]
    for n in range(4):  # four files: no sweep yet
        kept.write(("q", n), n, cache.AS_IS)
        names[n] = kept.path(("q", n)) or names[n]
        os.utime(names[n], (1_000_000 + n, 1_000_000 + n))  # written one second apart
    kept.write(("q", 4), 4, cache.AS_IS)  # five files: the three oldest go
    names[4] = kept.path(("q", 4)) or names[4]
    assert sorted(tmp_path.iterdir()) == sorted(names[3:])
    assert kept.read(("q", 3), cache.AS_IS) == (True, 3) and kept.read(("q", 0), cache.AS_IS) == (False, None)
