"""Dashboard benchmark (issue 15): the rollup's refresh and analysts on /dashboard of a seeded office.

Run `python -m bench.dashboard --json [--template DB]`; the JSON object is the last line on stdout, progress goes to
stderr. On the PostgreSQL server named by HOTLINE_DATABASE_URL it copies the template database (filled once by
`hotline seed-load --cases 1000000 --open-tasks 50000`) or seeds a database of its own; without a server, a
temporary SQLite file. It times the rollup's full rebuild (`FULL_DAYS` days, the nightly job) and one day's
refresh, serves the app with gunicorn and lets analysts open the dashboard with combined filters, its numbers as
JSON and the drill-down lists behind its figures (bench/dashboard_load.py). The raw in-memory engine is measured in
the same run for the ratio.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import random
import secrets
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask

from bench import dashboard_load
from bench import monitor_setup
from bench import web_setup
from bench.monitor import summarise
from bench.monitor_load import COOKIE
from bench.web import free_port
from bench.web import percentile
from bench.web import raw_task_ms
from bench.web import start_server
from processes.accounts import sessions
from processes.accounts.passwords import policy_from_config
from processes.accounts.users import create_user
from processes.cases.models import Case
from processes.metrics import rollup
from processes.metrics.models import MetricRollup
from processes.metrics.periods import office_day
from processes.reference.models import Department
from webapp import runtime_of

TARGET_P95_MS = 100.0
TARGET_DAY_S = 5.0
TARGET_FULL_S = 300.0
DRILLS = 80  # drill-down addresses the analysts pick from
log = logging.getLogger("bench.dashboard")


def time_rollups(app: Flask, repeat: int = 3) -> dict[str, float]:
    """Rebuild the rollup in full (the nightly job), then refresh one day and the last two; return seconds."""
    rt = runtime_of(app)
    now = rt.clock()
    today = office_day(now)

    def timed(work: Any) -> float:
        started = time.perf_counter()
        with rt.write() as db, db.begin():
            work(db)
        return time.perf_counter() - started

    full = timed(lambda db: rollup.refresh_full(db, now=now))
    yesterday = today - timedelta(days=1)
    day = [timed(lambda db: rollup.refresh(db, yesterday, yesterday, now=now)) for _ in range(repeat)]
    recent = [timed(lambda db: rollup.refresh_recent(db, now=now)) for _ in range(repeat)]
    with rt.read() as db:
        rows = int(db.scalar(sa.select(sa.func.count()).select_from(MetricRollup)) or 0)
    return {"rollup_full_s": round(full, 2), "rollup_day_s": round(statistics.median(day), 3),
            "rollup_recent_s": round(statistics.median(recent), 3), "rollup_rows": rows}


def add_analysts(app: Flask, count: int) -> list[str]:
    """Create `count` analyst (统计分析) accounts with an open session each; return their session cookies."""
    rt = runtime_of(app)
    now, cookies = rt.clock(), []
    with rt.write() as db, db.begin():
        for n in range(count):
            user = create_user(db, username=f"benchana{n:02d}", password=secrets.token_urlsafe(18) + "-Aa1",
                               roles=("analyst",), real_name=f"分析员{n}", policy=policy_from_config(app.config),
                               now=now, actor="bench", must_change_password=False)
            token = sessions.new_token()
            sessions.open_session(db, user, token, now=now, source_ip="127.0.0.1")
            cookies.append(web_setup._cookie(app, user.id, user.session_epoch, token, now.timestamp()))
    return cookies


def questions(app: Flask) -> list[str]:
    """Return the query strings the analysts ask: periods of a month to a year with filters combined."""
    rt = runtime_of(app)
    today = office_day(rt.clock())
    with rt.read() as db:
        units = {str(kind): str(code) for kind, code in db.execute(
            sa.select(Department.kind, sa.func.min(Department.code)).where(Department.active.is_(True))
            .group_by(Department.kind))}
        category = db.scalar(sa.select(Case.category).where(Case.category.is_not(None)).limit(1)) or ""
    unit, town = units.get("department", ""), units.get("township", "")
    quarter, year = (today - timedelta(days=89)).isoformat(), (today - timedelta(days=364)).isoformat()
    asks = [{}, {"department": unit, "category": category},
            {"township": town, "channel": "phone", "request_type": "complaint", "metric": "satisfied",
             "by": "category"},
            {"start": quarter, "grain": "day", "metric": "returned", "by": "township", "category": category},
            {"start": year, "grain": "month", "department": unit, "metric": "signed", "by": "channel"},
            {"channel": "platform", "by": "request_type", "metric": "closure", "grain": "day", "township": town},
            {"start": quarter, "department": unit, "request_type": "complaint", "metric": "ontime",
             "by": "township"}]
    return ["?" + urllib.parse.urlencode({k: v for k, v in ask.items() if v}) if ask else "" for ask in asks]


def _json(base_url: str, cookie: str, path: str) -> Any:
    """Return one JSON answer as an analyst sees it."""
    request = urllib.request.Request(base_url + path, headers={"Cookie": f"{COOKIE}={cookie}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=300) as answer:  # noqa: S310  # loopback
        return json.loads(answer.read())


def drill_links(base_url: str, cookie: str, asks: list[str], seed: int) -> list[str]:
    """Return drill-down addresses read from the dashboard's own numbers: every total and breakdown figure."""
    links: set[str] = set()
    for ask in asks:
        data = _json(base_url, cookie, "/dashboard/data" + ask)
        for figure in [*data["totals"], *data["breakdown"][:5]]:
            if figure["denominator"]:
                links.update((figure["drill_numerator"], figure["drill_denominator"]))
    ordered = sorted(links)
    return random.Random(seed).sample(ordered, min(DRILLS, len(ordered)))


def warm(base_url: str, cookie: str, paths: dict[str, list[str]], rounds: int) -> dict[str, float]:
    """Open each address a few times so every worker has its templates, statements and answers ready.

    Returns the slowest and median first opening of each address (ms, one request at a time): the page's answers
    are kept per rollup run (webapp/dashboard/cache.py), so this is what a question costs after each refresh.
    """
    first: dict[str, list[float]] = {view: [] for view in paths}
    for view, found in paths.items():
        for n, path in enumerate((found * rounds)[:rounds]):
            request = urllib.request.Request(base_url + path, headers={"Cookie": f"{COOKIE}={cookie}"})  # noqa: S310
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=300) as answer:  # noqa: S310  # loopback
                answer.read()
            if n < len(found):
                first[view].append((time.perf_counter() - started) * 1000)
    return {f"{name}_{view}_ms": round(pick(ms), 1) for view, ms in first.items() if ms
            for name, pick in (("first_max", max), ("first_p50", statistics.median))}


def load(base_url: str, cookies: list[str], paths: dict[str, list[str]], args: argparse.Namespace) -> list[Any]:
    """Run the analysts in their own process; return the samples."""
    results: Any = multiprocessing.Queue()
    process = multiprocessing.Process(target=dashboard_load.load_process, args=(
        base_url, cookies, paths, args.seconds, args.click_every, args.seed, results))
    process.start()
    samples: list[Any] = results.get(timeout=args.seconds + 180)
    process.join()
    return samples


def measure(args: argparse.Namespace, url: str, report: dict[str, Any]) -> None:
    """Time the rollup, then serve the office and run the analysts; add the figures to the report."""
    app = web_setup.bench_app(url)
    report["cases"], report["open_tasks"] = monitor_setup.size(app)
    web_setup.analyze(app)
    report.update(time_rollups(app))
    log.info("rollup: full %.1f s, one day %.2f s", report["rollup_full_s"], report["rollup_day_s"])
    web_setup.analyze(app)
    cookies = add_analysts(app, args.analysts)
    port = free_port()
    server = start_server(url, port, args.workers, args.threads)
    base = f"http://127.0.0.1:{port}"
    try:
        asks = questions(app)
        paths = {"page": [f"/dashboard/{a}" for a in asks], "data": [f"/dashboard/data{a}" for a in asks],
                 "drilldown": drill_links(base, cookies[0], asks, args.seed)}
        report["paths_by_view"] = {view: len(found) for view, found in paths.items()}
        report.update(warm(base, cookies[0], paths, rounds=2 * args.workers))
        samples = load(base, cookies, paths, args)
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)
        runtime_of(app).db.dispose()
    report.update(summarise(samples, dashboard_load.VIEWS))
    views = [ms for view, ms, status in samples if view != "drilldown" and status < 400] or [0.0]
    drills = [ms for view, ms, status in samples if view == "drilldown" and status < 400] or [0.0]
    report["p95_ms"] = round(percentile(views, 95), 1)  # the dashboard's views: page and data
    report["drilldown_p95_ms"] = round(percentile(drills, 95), 1)


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Measure the raw engine, then the rollup and the dashboard on a seeded office; return the report."""
    report: dict[str, Any] = {"benchmark": "dashboard", "cpus": os.cpu_count(), "analysts": args.analysts,
                              "seconds": args.seconds, "click_every_s": args.click_every,
                              "gunicorn_workers": args.workers, "gunicorn_threads": args.threads,
                              "target_p95_ms": TARGET_P95_MS, "target_day_s": TARGET_DAY_S,
                              "target_full_s": TARGET_FULL_S, "load_avg_1m_start": round(os.getloadavg()[0], 2)}
    report["raw_task_ms"] = round(raw_task_ms(), 3)
    return monitor_setup.measure_on_seeded_office(args, report, measure)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the report as JSON on the last line")
    parser.add_argument("--template", help="PostgreSQL database filled by `hotline seed-load`, copied for the run")
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases to seed when there is no template")
    parser.add_argument("--open-tasks", type=int, default=50_000, help="open tasks to seed when there is no template")
    parser.add_argument("--analysts", type=int, default=10, help="simulated analysts")
    parser.add_argument("--seconds", type=float, default=90.0, help="length of the measured phase")
    parser.add_argument("--click-every", type=float, default=3.0, help="seconds between an analyst's clicks")
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 2) * 2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--seed", type=int, default=12345)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the report."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(message)s")
    args = parse_args(argv)
    report = benchmark(args)
    print(json.dumps(report, ensure_ascii=False) if args.json else json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
