"""Lifecycle benchmark (issue 2): 8-user-task cases per second, raw SpiffWorkflow vs the persisted runtime.

Run `python -m bench.lifecycle --json`; the JSON object is the last line on stdout, logs go to stderr.
PostgreSQL comes from HOTLINE_DATABASE_URL: the benchmark creates its own database there and drops it after.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import multiprocessing
import os
import platform
import pstats
import statistics
import sys
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.dbsetup import own_database

MODEL = Path(__file__).parent / "models" / "eight_tasks.bpmn"
PROCESS_ID, PROCESS_KEY = "eight_tasks", "bench_eight"
PG_ENV = "HOTLINE_DATABASE_URL"
START_DATA, FORM = {"urgency": "normal"}, {"ok": True}
WARMUP_CASES = 3
MAX_STEPS = 20  # a case needs 8; more means the model or the runtime is broken
SETUP_TIMEOUT_S = 120.0
log = logging.getLogger("bench.lifecycle")

Runner = Callable[[list[float]], None]  # runs one case, appends each command's latency in ms


@dataclass(frozen=True)
class Phase:
    """One measured backend: what each worker runs (url None = raw engine) and for how long at most."""

    backend: str
    url: str | None
    cases: int
    seconds: float


@dataclass(frozen=True)
class PhaseResult:
    """Completed cases, wall time of the parallel phase, worker CPU time and command latencies."""

    cases: int
    wall_s: float
    cpu_s: float
    latencies_ms: list[float]


def raw_runner() -> Runner:
    """Parse the model once and return a runner of in-memory cases on the default engine."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.spiff.parser import SpiffBpmnParser
    from SpiffWorkflow.util.task import TaskState

    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(MODEL))
    spec, subprocess_specs = parser.get_spec(PROCESS_ID), parser.get_subprocess_specs(PROCESS_ID)

    def run_case(_latencies: list[float]) -> None:
        wf = BpmnWorkflow(spec, subprocess_specs)
        wf.do_engine_steps()
        for _ in range(MAX_STEPS):
            if wf.is_completed():
                return
            for task in wf.get_tasks(state=TaskState.READY, manual=True):
                task.data.update(FORM)
                task.run()
                wf.do_engine_steps()
        raise RuntimeError("raw case did not complete")

    return run_case


def persisted_runner(url: str) -> Runner:
    """Build this worker's own runtime and return a runner of cases through the product commands."""
    from handlers import REGISTRY
    from processes.db.engines import create_db_engine
    from processes.runtime import commands
    from processes.runtime.core import Runtime
    from processes.runtime.queries import open_task_ids

    rt = Runtime(create_db_engine(url), REGISTRY)

    def first_open_task(instance_id: str) -> str:
        with rt.reader.connect() as conn:  # what a worklist does: one indexed SELECT on the projection
            return open_task_ids(conn, instance_id)[0]

    def run_case(latencies: list[float]) -> None:
        begin = time.perf_counter()
        started = commands.start(rt, PROCESS_KEY, START_DATA, actor="bench")
        latencies.append((time.perf_counter() - begin) * 1000)
        status = started.status
        for _ in range(MAX_STEPS):
            if status == "completed":
                return
            task_id = first_open_task(started.instance_id)
            begin = time.perf_counter()
            status = commands.complete_task(rt, started.instance_id, task_id, FORM, actor="bench")
            latencies.append((time.perf_counter() - begin) * 1000)
        raise RuntimeError(f"persisted case ended as {status}")

    return run_case


def worker(phase: Phase, barrier: Any, results: Any) -> None:
    """Warm up, wait for every worker, then run cases until the count or the time budget is reached."""
    try:
        run_case = raw_runner() if phase.url is None else persisted_runner(phase.url)
        for _ in range(WARMUP_CASES):
            run_case([])
    except BaseException as exc:
        barrier.abort()
        results.put({"error": f"{type(exc).__name__}: {exc}"})
        raise
    barrier.wait()
    latencies: list[float] = []
    done, deadline, cpu = 0, time.perf_counter() + phase.seconds, time.process_time()
    try:
        while done < phase.cases and time.perf_counter() < deadline:
            run_case(latencies)
            done += 1
    except Exception as exc:
        results.put({"error": f"{type(exc).__name__}: {exc}"})
        raise
    results.put({"cases": done, "cpu_s": time.process_time() - cpu, "latencies_ms": latencies})


def run_phase(phase: Phase, workers: int) -> PhaseResult:
    """Spawn the workers (each builds its own engine), release them together and time the phase."""
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(workers + 1), ctx.Queue()
    procs = [ctx.Process(target=worker, args=(phase, barrier, results), daemon=True) for _ in range(workers)]
    for proc in procs:
        proc.start()
    try:
        barrier.wait(timeout=SETUP_TIMEOUT_S)
    except threading.BrokenBarrierError as exc:
        raise RuntimeError(f"{phase.backend} worker failed to start: {results.get(timeout=10)}") from exc
    begin = time.perf_counter()
    outcomes = [results.get(timeout=phase.seconds + SETUP_TIMEOUT_S) for _ in procs]
    wall = time.perf_counter() - begin
    for proc in procs:
        proc.join(timeout=30)
    errors = [o["error"] for o in outcomes if "error" in o]
    if errors:
        raise RuntimeError(f"{phase.backend} worker failed: {errors[0]}")
    return PhaseResult(sum(o["cases"] for o in outcomes), wall, sum(o["cpu_s"] for o in outcomes),
                       [x for o in outcomes for x in o["latencies_ms"]])


def deploy(url: str) -> None:
    """Deploy and publish the model (once, before the workers start)."""
    from handlers import REGISTRY
    from processes.db.engines import create_db_engine
    from processes.runtime import definitions
    from processes.runtime.core import Runtime

    rt = Runtime(create_db_engine(url), REGISTRY)
    with rt.write() as session, session.begin():
        definitions.deploy(session, PROCESS_KEY, {MODEL.name: MODEL.read_text(encoding="utf-8")}, actor="bench",
                           now=rt.clock(), operators=REGISTRY, publish=True)
    rt.db.dispose()


def postgres_server(report: dict[str, Any]) -> str | None:
    """Return the server URL if one is configured and answers; note its version or why not in the report."""
    url = os.environ.get(PG_ENV)
    if not url:
        report["postgres_note"] = f"{PG_ENV} is not set"
        return None
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            report["postgres_version"] = conn.execute(sa.text("SHOW server_version")).scalar()
            report["postgres_synchronous_commit"] = conn.execute(sa.text("SHOW synchronous_commit")).scalar()
        engine.dispose()
    except sa.exc.SQLAlchemyError as exc:
        report["postgres_note"] = str(exc).splitlines()[0]
        return None
    return url


def commit_probe_ms(url: str, rounds: int = 50) -> float:
    """Return the median latency of a one-row durable UPDATE + COMMIT (the server's fsync floor)."""
    engine, timings = sa.create_engine(url), []
    with engine.begin() as conn:  # a table in the benchmark's own database, dropped with it
        conn.execute(sa.text("CREATE TABLE bench_commit_probe AS SELECT 1 AS id, 0 AS n"))
    for _ in range(rounds):
        begin = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE bench_commit_probe SET n = n + 1"))
        timings.append((time.perf_counter() - begin) * 1000)
    engine.dispose()
    return round(statistics.median(timings), 2)


@contextmanager
def backend_database(backend: str, server: str | None) -> Iterator[str]:
    """Yield a migrated database of the backend, with the model deployed."""
    with own_database(server if backend == "postgres" else None) as url:
        deploy(url)
        yield url


def summarize(report: dict[str, Any], backend: str, result: PhaseResult, workers: int) -> None:
    """Add one phase's figures to the report."""
    per_s = result.cases / result.wall_s
    report[f"{backend}_cases"] = result.cases
    report[f"{backend}_cases_per_s"] = round(per_s, 1)
    if backend != "raw" and "raw_cases_per_s" in report:
        report[f"{backend}_ratio"] = round(per_s / report["raw_cases_per_s"], 3)
    report[f"{backend}_ms_per_case"] = round(1000 * workers / per_s, 2)  # wall time per case on one worker
    report[f"{backend}_cpu_ms_per_case"] = round(1000 * result.cpu_s / result.cases, 2)  # the worker's own CPU
    if result.latencies_ms:
        ordered = sorted(result.latencies_ms)
        report[f"{backend}_ms_per_command"] = round(statistics.mean(ordered), 2)
        report[f"{backend}_p50_ms_per_command"] = round(statistics.median(ordered), 2)
        report[f"{backend}_p95_ms_per_command"] = round(ordered[int(0.95 * (len(ordered) - 1))], 2)
    log.info("%-8s %5d cases in %5.1f s: %6.1f cases/s (load %.1f)", backend, result.cases, result.wall_s,
             per_s, os.getloadavg()[0])


def machine_info(args: argparse.Namespace) -> dict[str, Any]:
    """Describe the run: machine, versions, workers and case counts."""
    return {
        "benchmark": "lifecycle", "model": MODEL.name, "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
        "spiffworkflow": version("SpiffWorkflow"), "sqlalchemy": version("SQLAlchemy"),
        "load_avg_1m_start": round(os.getloadavg()[0], 2), "workers": args.workers,
        "cases_per_worker": args.cases, "raw_cases_per_worker": args.raw_cases,
        "seconds_per_phase": args.seconds, "commands_per_case": 9,
    }


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Measure raw, SQLite and PostgreSQL phases with the same number of workers."""
    report = machine_info(args)
    summarize(report, "raw", run_phase(Phase("raw", None, args.raw_cases, args.seconds), args.workers),
              args.workers)
    server = postgres_server(report)
    for backend in ("sqlite", "postgres"):
        if backend == "postgres" and server is None:
            log.warning("PostgreSQL skipped: %s", report["postgres_note"])
            report.update(postgres_cases_per_s=None, postgres_ratio=None)
            continue
        with backend_database(backend, server) as url:
            if backend == "postgres":
                report["postgres_commit_ms"] = commit_probe_ms(url)
            result = run_phase(Phase(backend, url, args.cases, args.seconds), args.workers)
        summarize(report, backend, result, args.workers)
    report["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    return report


def profile(args: argparse.Namespace) -> dict[str, Any]:
    """Run cases in one process under cProfile (PostgreSQL if configured); print hot spots to stderr."""
    report = machine_info(args) | {"workers": 1, "profiled": True}
    server = postgres_server(report)
    backend = "postgres" if server else "sqlite"
    with backend_database(backend, server) as url:
        run_case, latencies = persisted_runner(url), list[float]()
        for _ in range(WARMUP_CASES):
            run_case([])
        profiler, wall, cpu = cProfile.Profile(), time.perf_counter(), time.process_time()
        profiler.runcall(lambda: [run_case(latencies) for _ in range(args.cases)])
        result = PhaseResult(args.cases, time.perf_counter() - wall, time.process_time() - cpu, latencies)
    summarize(report, backend, result, 1)
    stats = pstats.Stats(profiler, stream=sys.stderr).strip_dirs()
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(30)
    return report


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.lifecycle", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON line (last on stdout)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes")
    parser.add_argument("--cases", type=int, default=200, help="persisted cases per worker")
    parser.add_argument("--raw-cases", type=int, default=1000, help="in-memory cases per worker")
    parser.add_argument("--seconds", type=float, default=15.0,
                        help="time budget per measured phase; workers stop when it runs out")
    parser.add_argument("--profile", action="store_true",
                        help="instead: run --cases cases in one process under cProfile, hot spots to stderr")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its figures."""
    handler = logging.StreamHandler(sys.stderr)  # our logger only: root INFO would log every engine step
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    args = parse_args(argv)
    report = profile(args) if args.profile else benchmark(args)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        width = max(map(len, report))
        print("\n".join(f"{key:<{width}}  {value}" for key, value in report.items()))


if __name__ == "__main__":
    main()
