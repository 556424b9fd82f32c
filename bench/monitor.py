"""Monitor benchmark (issue 13): supervisors on the console of a seeded office beside bench.web's nominal operators.

Run `python -m bench.monitor --json [--template DB]`; the JSON object is the last line on stdout, progress goes to
stderr. On the PostgreSQL server named by HOTLINE_DATABASE_URL it copies the template database (filled once by
`hotline seed-load --cases 1000000 --open-tasks 50000`) or seeds a database of its own; without a server, a
temporary SQLite file. gunicorn serves the app; in two other processes the operators of bench.web work their
worklists and tasks (bench/web_load.py) while the supervisors poll the board, drill down, list instances and open
instance pages (bench/monitor_load.py). The raw in-memory engine is measured in the same run for the ratio.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from typing import Any

from bench import monitor_load
from bench import monitor_setup
from bench import web_load
from bench import web_setup
from bench.web import free_port
from bench.web import percentile
from bench.web import phase_specs
from bench.web import raw_task_ms
from bench.web import start_server
from bench.web import task_events
from bench.web import warm_up

TARGET_P95_MS = 100.0
log = logging.getLogger("bench.monitor")


def summarise(samples: list[tuple[str, float, int]], views: tuple[str, ...]) -> dict[str, Any]:
    """Return latency figures overall and by view; failed requests count as errors, not latencies."""
    timed = [(view, ms) for view, ms, status in samples if status < 400]
    errors = Counter(f"{view}:{status}" for view, _, status in samples if status >= 400)
    latencies = [ms for _, ms in timed] or [0.0]
    by_view = {view: [ms for v, ms in timed if v == view] for view in views}
    return {"requests": len(samples), "p50_ms": round(percentile(latencies, 50), 1),
            "p95_ms": round(percentile(latencies, 95), 1), "p99_ms": round(percentile(latencies, 99), 1),
            "p95_by_view_ms": {v: round(percentile(ms, 95), 1) for v, ms in by_view.items() if ms},
            "p50_by_view_ms": {v: round(percentile(ms, 50), 1) for v, ms in by_view.items() if ms},
            "requests_by_view": {v: len(ms) for v, ms in by_view.items()}, "errors": dict(errors)}


def supervisor_paths(app: Any, base_url: str, cookie: str) -> dict[str, list[str]]:
    """Return the addresses of every view the supervisors open (drill links read from the boards themselves)."""
    boards = monitor_setup.board_filters(app)
    paths = {"board": boards, "counts": [b.replace("/monitor", "/monitor/counts", 1) for b in boards],
             "drilldown": monitor_setup.drill_links(base_url, cookie, boards),
             **monitor_setup.instance_paths(app, base_url, cookie)}
    return {view: found for view, found in paths.items() if found}


def warm_supervisors(base_url: str, cookie: str, paths: dict[str, list[str]], rounds: int) -> None:
    """Open each view a few times so every worker has its templates and statements ready (not timed)."""
    for view, found in paths.items():
        for path in (found * rounds)[:rounds]:
            request = urllib.request.Request(base_url + path,  # noqa: S310  # loopback
                                             headers={"Cookie": f"{monitor_load.COOKIE}={cookie}"})
            try:
                with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310  # loopback
                    answer.read()
            except OSError as exc:  # an error page now shows as errors in the run; say which view it was
                log.warning("warm-up %s %s: %s", view, path, exc)


def run_loads(base_url: str, plan: monitor_load.Plan, specs: list[dict[str, Any]], seconds: float,
              seed: int) -> tuple[list[tuple[str, float, int]], list[tuple[str, float, int]]]:
    """Run the supervisors and the operators side by side, each in its own process; return both samples."""
    supervised: Any = multiprocessing.Queue()
    worked: Any = multiprocessing.Queue()
    processes = [multiprocessing.Process(target=monitor_load.load_process,
                                         args=(base_url, plan, seconds, seed, supervised))]
    if specs:
        processes.append(multiprocessing.Process(target=web_load.load_process,
                                                 args=(base_url, specs, seconds, seed, worked)))
    for process in processes:
        process.start()
    supervisors = supervised.get(timeout=seconds + 180)
    operators = worked.get(timeout=seconds + 180) if specs else []
    for process in processes:
        process.join()
    return supervisors, operators


def measure(args: argparse.Namespace, url: str, report: dict[str, Any]) -> None:
    """Prepare accounts on the seeded database, serve it and run the loads; add the figures to the report."""
    started = time.perf_counter()
    app = web_setup.bench_app(url)
    report["cases"], report["open_tasks"] = monitor_setup.size(app)
    cookies = monitor_setup.add_supervisors(app, args.supervisors)
    operators = web_setup.add_operators(app, args.operators)
    web_setup.open_cases(app, operators, task_events(args.operators, args.seconds, args.seed))
    web_setup.analyze(app)
    report["setup_s"] = round(time.perf_counter() - started, 1)
    port = free_port()
    server = start_server(url, port, args.workers, args.threads)
    base = f"http://127.0.0.1:{port}"
    try:
        paths = supervisor_paths(app, base, cookies[0])
        report["paths_by_view"] = {view: len(found) for view, found in paths.items()}
        warm_up(base, operators, rounds=min(len(operators), 2 * args.workers * args.threads))
        warm_supervisors(base, cookies[0], paths, rounds=args.workers)
        plan = monitor_load.Plan(cookies, paths, args.click_every, args.poll_every)
        specs = phase_specs(operators, args.operators, args.seconds, args.seed)
        supervised, worked = run_loads(base, plan, specs, args.seconds, args.seed)
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:  # workers still inside slow requests: the figures are taken already
            server.kill()
            server.wait(timeout=30)
        runtime = app.extensions["hotline.runtime"]
        runtime.db.dispose()
    report.update(summarise(supervised, monitor_load.VIEWS))
    timed = [(kind, ms, status) for kind, ms, status in worked if kind != "no_task"]
    report["operators_summary"] = summarise(timed, ("worklist", "task_open", "task_submit"))


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Measure the raw engine, then the console on a seeded office; return the report."""
    report: dict[str, Any] = {"benchmark": "monitor", "cpus": os.cpu_count(), "supervisors": args.supervisors,
                              "operators": args.operators, "seconds": args.seconds,
                              "gunicorn_workers": args.workers, "gunicorn_threads": args.threads,
                              "target_p95_ms": TARGET_P95_MS, "load_avg_1m_start": round(os.getloadavg()[0], 2)}
    report["raw_task_ms"] = round(raw_task_ms(), 3)
    return monitor_setup.measure_on_seeded_office(args, report, measure)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the report as JSON on the last line")
    parser.add_argument("--template", help="PostgreSQL database filled by `hotline seed-load`, copied for the run")
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases to seed when there is no template")
    parser.add_argument("--open-tasks", type=int, default=50_000, help="open tasks to seed when there is no template")
    parser.add_argument("--supervisors", type=int, default=10, help="simulated supervisors")
    parser.add_argument("--operators", type=int, default=200, help="bench.web's operators working beside them")
    parser.add_argument("--seconds", type=float, default=120.0, help="length of the measured phase")
    parser.add_argument("--click-every", type=float, default=10.0, help="seconds between a supervisor's clicks")
    parser.add_argument("--poll-every", type=float, default=monitor_load.POLL_EVERY_S,
                        help="seconds between a supervisor's background refreshes of the counts")
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
