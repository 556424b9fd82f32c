"""`python -m bench.monitor` end to end on a tiny seeded office: every view answered, one JSON line with its figures."""

from __future__ import annotations

import json
import random
from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from bench import monitor
from bench import monitor_load
from bench.seed_load import seed
from bench.seed_rows import TABLES
from processes.db.engines import create_db_engine
from tests.intake_support import office_url

TINY = ["--json", "--cases", "300", "--open-tasks", "60", "--supervisors", "2", "--operators", "2", "--seconds", "4",
        "--click-every", "0.4", "--poll-every", "1", "--workers", "1", "--threads", "4"]


def test_schedule_turns_every_supervisor_through_every_view() -> None:
    """Each supervisor polls the counts and clicks through board, drill-down, instance list and instance page."""
    plan = monitor_load.schedule(3, 130.0, 1.0, random.Random(1))
    for index in range(3):
        views = [view for _, who, view in plan if who == index]
        assert set(views) == set(monitor_load.VIEWS)
        assert views.count("counts") in (2, 3)  # every 60 s
    assert [at for at, _, _ in plan] == sorted(at for at, _, _ in plan)
    only = monitor_load.schedule(1, 10.0, 1.0, random.Random(1), clicks=("board",))
    assert {view for _, _, view in only} == {"board", "counts"}


def test_monitor_benchmark_runs_on_a_tiny_sqlite_office(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Seed 300 cases, serve them, load them: the report counts the office and times every view, without errors."""
    monkeypatch.delenv("HOTLINE_DATABASE_URL", raising=False)
    monitor.main(TINY)
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["benchmark"] == "monitor"
    assert report["backend"] == "sqlite"
    assert report["cases"] >= 300  # the seeded ones and the operators' own
    assert report["open_tasks"] >= 60
    assert report["errors"] == {}
    assert report["operators_summary"]["errors"] == {}
    views = set(report["p95_by_view_ms"])
    assert {"board", "counts", "drilldown"} <= views
    assert views == set(report["paths_by_view"])  # the instance views too, once the console has them
    assert all(report["p95_by_view_ms"][view] > 0 for view in views)
    assert report["p95_ms"] >= report["p50_ms"] > 0
    assert report["paths_by_view"]["drilldown"] > 3  # links read from the boards: lights, units, stages
    assert report["p95_ratio_to_raw_task"] == pytest.approx(report["p95_ms"] / report["raw_task_ms"], rel=0.05)


def indexes(engine: sa.Engine) -> dict[str, list[str]]:
    """The index names of the seeded tables."""
    found = sa.inspect(engine)
    return {table: sorted(str(index["name"]) for index in found.get_indexes(table)) for table in TABLES}


def test_seed_load_leaves_every_index_it_rebuilds(db_url: str, office_template: Path, tmp_path: Path) -> None:
    """On PostgreSQL the load drops the secondary indexes and builds them again: the same indexes, usable."""
    engine = sa.create_engine(office_url(db_url, office_template, tmp_path))
    try:
        before = indexes(engine)
        done = seed(engine, cases=40, open_tasks=8, now=datetime(2026, 11, 25, 2, tzinfo=UTC), batch=7)
        assert indexes(engine) == before
        assert "ix_human_task_status_due" in before["human_task"]
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM human_task WHERE status = 'open'")) >= 8
        assert done.rows > 40 * 3
    finally:
        engine.dispose()


def test_postgres_connections_run_without_jit(pg_url: str) -> None:
    """JIT compiling cost the console's counts ~1 s a query at 1,000,000 cases: the app's connections turn it off."""
    engine = create_db_engine(pg_url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SHOW jit")) == "off"
    finally:
        engine.dispose()
