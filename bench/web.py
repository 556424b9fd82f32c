"""Web benchmark (issue 6): gunicorn on PostgreSQL under simulated operators, against the raw in-memory engine.

Run `python -m bench.web --json`; the JSON object is the last line on stdout, progress goes to stderr. It creates
its own database on the server named by HOTLINE_DATABASE_URL (default: the local test server), prepares an office
with operator accounts, open sessions and assigned triage tasks, starts gunicorn and, in another process, the
open-loop load (bench/web_load.py): first the nominal 200 operators, then rising loads until p95 passes 50 ms.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from bench import web_load
from bench import web_setup
from bench.dbsetup import own_database
from bench.lifecycle import raw_runner

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGET_P95_MS = 50.0
RAW_TASKS_PER_CASE = 8  # the raw model's user tasks
log = logging.getLogger("bench.web")


def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def raw_task_ms(cases: int = 300) -> float:
    """Return the raw in-memory engine's time per user task (SpiffWorkflow, no database), in ms."""
    run_case = raw_runner()
    for _ in range(20):
        run_case([])
    start = time.perf_counter()
    for _ in range(cases):
        run_case([])
    return (time.perf_counter() - start) * 1000 / (cases * RAW_TASKS_PER_CASE)


def free_port() -> int:
    """Return a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(url: str, port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    """Start gunicorn on the app and wait until it answers."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
               "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "webapp:create_app()"]
    server = subprocess.Popen(command, env={**os.environ, **web_setup.server_environment(url)})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/auth/login", timeout=2):  # loopback
                return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise RuntimeError("gunicorn did not answer within 60 s")


def warm_up(base_url: str, operators: list[web_setup.Operator], rounds: int) -> None:
    """Open the worklist and a task form a few times so every worker has loaded specs and templates (not timed)."""
    for operator in operators[:rounds]:
        headers = {"Cookie": f"{web_load.COOKIE}={operator.cookie}"}
        paths = [web_load.WORKLIST_PATH] + [web_load.TASK_PATH.format(task_id=t) for t in operator.tasks[-1:]]
        for path in paths:  # opening a form does not use the task up
            request = urllib.request.Request(base_url + path, headers=headers)  # noqa: S310  # loopback
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310  # loopback
                answer.read()


def task_events(count: int, seconds: float, seed: int) -> Counter[int]:
    """Return how many task forms each operator will open in a phase (the load's own schedule)."""
    plan = web_load.schedule(count, seconds, random.Random(seed))
    return Counter(index for _, index, action in plan if action == "task")


def phase_specs(operators: list[web_setup.Operator], count: int, seconds: float, seed: int) -> list[dict[str, Any]]:
    """Give the first `count` operators exactly the tasks (of their own) their schedule opens in this phase."""
    needs = task_events(count, seconds, seed)
    specs = []
    for index, operator in enumerate(operators[:count]):
        tasks = [operator.tasks.pop() for _ in range(needs[index])]
        specs.append({"cookie": operator.cookie, "tasks": tasks})
    return specs


def run_phase(base_url: str, specs: list[dict[str, Any]], seconds: float, seed: int) -> dict[str, Any]:
    """Run the load in its own process and summarise the samples."""
    results: Any = multiprocessing.Queue()
    process = multiprocessing.Process(target=web_load.load_process, args=(base_url, specs, seconds, seed, results))
    process.start()
    samples = results.get(timeout=seconds + 120)
    process.join()
    timed = [latency for kind, latency, status in samples if kind != "no_task" and 0 < status < 598]
    errors = Counter(f"{kind}:{status}" for kind, _, status in samples if status >= 400 or status == 0)
    by_kind = {kind: round(percentile([lat for k, lat, _ in samples if k == kind], 95), 1)
               for kind in ("worklist", "task_open", "task_submit") if any(k == kind for k, _, _ in samples)}
    return {"operators": len(specs), "seconds": seconds, "requests": len(timed),
            "requests_per_s": round(len(timed) / seconds, 1),
            "p50_ms": round(percentile(timed, 50), 1), "p95_ms": round(percentile(timed, 95), 1),
            "p99_ms": round(percentile(timed, 99), 1), "mean_ms": round(statistics.fmean(timed), 1),
            "p95_by_kind_ms": by_kind, "errors": dict(errors)}


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Prepare, serve, load; return the report."""
    report: dict[str, Any] = {"benchmark": "web", "cpus": os.cpu_count(), "gunicorn_workers": args.workers,
                              "gunicorn_threads": args.threads, "target_p95_ms": TARGET_P95_MS}
    report["raw_task_ms"] = round(raw_task_ms(), 3)
    ramp = [n for n in args.ramp if n > args.operators]
    with own_database(os.environ.get("HOTLINE_DATABASE_URL", DEFAULT_SERVER)) as url:
        started = time.perf_counter()
        app = web_setup.bench_app(url)
        web_setup.deploy_office(app)
        operators = web_setup.add_operators(app, max([args.operators, *ramp]))
        needs = task_events(args.operators, args.seconds, args.seed)
        for count in ramp:
            needs.update(task_events(count, args.stage_seconds, args.seed + count))
        needed = web_setup.open_cases(app, operators, needs)
        web_setup.analyze(app)
        report["setup_s"] = round(time.perf_counter() - started, 1)
        log.info("office ready: %d operators, %d cases in %.1f s", len(operators), needed, report["setup_s"])
        port = free_port()
        server = start_server(url, port, args.workers, args.threads)
        base = f"http://127.0.0.1:{port}"
        try:
            warm_up(base, operators, rounds=4 * args.workers * args.threads)
            nominal = run_phase(base, phase_specs(operators, args.operators, args.seconds, args.seed),
                                args.seconds, args.seed)
            log.info("nominal: %s", nominal)
            report.update({k: nominal[k] for k in ("p50_ms", "p95_ms", "p99_ms", "requests_per_s", "errors")})
            report["nominal"] = nominal
            report["p50_ratio_to_raw_task"] = round(nominal["p50_ms"] / report["raw_task_ms"], 1)
            best = args.operators if nominal["p95_ms"] <= TARGET_P95_MS else 0
            report["ramp"] = []
            for count in ramp:
                stage = run_phase(base, phase_specs(operators, count, args.stage_seconds, args.seed + count),
                                  args.stage_seconds, args.seed + count)
                log.info("ramp %d: p95 %.1f ms", count, stage["p95_ms"])
                report["ramp"].append({k: stage[k] for k in ("operators", "requests_per_s", "p50_ms", "p95_ms",
                                                              "p99_ms", "errors")})
                if stage["p95_ms"] > TARGET_P95_MS:
                    break
                best = count
            report["max_operators_p95_50ms"] = best
        finally:
            server.terminate()
            server.wait(timeout=30)
            runtime_engine = app.extensions["hotline.runtime"].db
            runtime_engine.dispose()
    return report


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the report as JSON on the last line")
    parser.add_argument("--operators", type=int, default=200, help="nominal simulated operators")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the nominal phase")
    parser.add_argument("--ramp", type=lambda s: [int(n) for n in s.split(",")], default=[400, 700, 1000, 1400],
                        help="comma-separated operator counts tried after the nominal phase")
    parser.add_argument("--stage-seconds", type=float, default=15.0, help="length of each ramp stage")
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
