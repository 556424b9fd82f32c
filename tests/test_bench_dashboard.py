"""`python -m bench.dashboard` end to end on a tiny seeded office, and the seeded facts the metrics read."""

from __future__ import annotations

import json
import random
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from bench import dashboard
from bench import dashboard_load
from bench.seed_load import seed
from processes.metrics import Period
from processes.metrics import figures
from processes.metrics.periods import office_day
from tests.intake_support import office_url

TINY = ["--json", "--cases", "400", "--open-tasks", "40", "--analysts", "2", "--seconds", "3", "--click-every", "0.3",
        "--workers", "1", "--threads", "4"]
NOW = datetime(2026, 11, 25, 2, tzinfo=UTC)


def test_schedule_turns_every_analyst_through_every_view() -> None:
    """Each analyst opens the page, its data and a drill-down in turn, in time order."""
    plan = dashboard_load.schedule(2, 10.0, 1.0, random.Random(3))
    for index in range(2):
        views = [view for _, who, view in plan if who == index]
        assert set(views) == set(dashboard_load.VIEWS) and len(views) == 10
    assert [at for at, _, _ in plan] == sorted(at for at, _, _ in plan)


def test_dashboard_benchmark_runs_on_a_tiny_sqlite_office(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Seed, roll up, serve, load: one JSON line with every view timed, no errors, drill links read from the data."""
    monkeypatch.delenv("HOTLINE_DATABASE_URL", raising=False)
    dashboard.main(TINY)
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["benchmark"] == "dashboard" and report["backend"] == "sqlite"
    assert report["cases"] == 400 and report["open_tasks"] >= 40
    assert report["errors"] == {}
    assert set(report["p95_by_view_ms"]) == set(dashboard_load.VIEWS)
    assert report["p95_ms"] > 0 and report["drilldown_p95_ms"] > 0
    assert report["paths_by_view"]["page"] == 7 and report["paths_by_view"]["drilldown"] > 10
    assert report["rollup_rows"] > 100  # the full rebuild counted the seeded days
    assert report["rollup_day_s"] > 0 and report["rollup_full_s"] > 0
    for view in dashboard_load.VIEWS:  # the first opening of each warmed address, before its answer was kept
        assert report[f"first_max_{view}_ms"] >= report[f"first_p50_{view}_ms"] > 0
    assert report["p95_ratio_to_raw_task"] == pytest.approx(report["p95_ms"] / report["raw_task_ms"], rel=0.05)


def test_the_seeded_office_has_the_office_s_figures(db_url: str, office_template: Path, tmp_path: Path) -> None:
    """3,000 seeded cases over half a year: rates near the office's published ones, on both backends."""
    engine = sa.create_engine(office_url(db_url, office_template, tmp_path))
    try:
        seed(engine, cases=3000, open_tasks=150, now=NOW, batch=500)
        with Session(engine) as db:
            rates = {f.metric: f.rate for f in figures(db, Period(office_day(NOW) - timedelta(days=179),
                                                                  office_day(NOW)), now=NOW)}
    finally:
        engine.dispose()
    expected = {"signed": (0.97, 1.0), "ontime": (0.91, 0.98), "overdue": (0.02, 0.09), "returned": (0.015, 0.05),
                "rehandled": (0.005, 0.035), "callback": (0.96, 1.0), "satisfied": (0.86, 0.94),
                "solved": (0.84, 0.92), "direct": (0.15, 0.25), "closure": (0.9, 0.99)}
    for metric, (low, high) in expected.items():
        assert low <= (rates[metric] or 0) <= high, (metric, rates[metric])
