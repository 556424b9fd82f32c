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
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any
from unittest import mock

import sqlalchemy as sa
from sqlalchemy.engine import make_url

MODEL = Path(__file__).parent / "models" / "eight_tasks.bpmn"
PROCESS_ID = "eight_tasks"
PROCESS_KEY = "bench_eight"
PG_ENV = "HOTLINE_DATABASE_URL"
START_DATA = {"urgency": "normal"}
FORM = {"ok": True}
WARMUP_CASES = 3
MAX_STEPS = 20  # a case needs 8; more means the model or the runtime is broken
SETUP_TIMEOUT_S = 120.0
log = logging.getLogger("bench.lifecycle")

Runner = Callable[[list[float]], None]  # runs one case, appends each command's latency in ms
Sources = Callable[[Any], Iterable[tuple[str, str]]]


@dataclass(frozen=True)
class Phase:
    """One measured backend: what each worker runs and for how long at most."""

    backend: str  # raw / sqlite / postgres
    url: str | None
    cases: int
    seconds: float


@dataclass(frozen=True)
class PhaseResult:
    """Throughput and command latency of one phase."""

    cases: int
    wall_s: float
    latencies_ms: list[float]

    @property
    def cases_per_s(self) -> float:
        """Completed cases per second of wall time over all workers."""
        return self.cases / self.wall_s


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
    from processes import commands
    from processes.db import create_db_engine
    from processes.models import HumanTask
    from processes.runtime import Runtime

    rt = Runtime(create_db_engine(url), REGISTRY)

    def first_open_task(instance_id: str) -> str:
        with rt.read() as session:  # what a worklist does: one indexed SELECT on the projection
            ids = session.scalars(sa.select(HumanTask.id).where(
                HumanTask.instance_id == instance_id, HumanTask.status == "open")).all()
        return str(ids[0])

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


def build_runner(phase: Phase) -> Runner:
    """Return the runner of a phase."""
    return raw_runner() if phase.url is None else persisted_runner(phase.url)


def worker(phase: Phase, barrier: Any, results: Any) -> None:
    """Warm up, wait for every worker, then run cases until the count or the time budget is reached."""
    try:
        run_case = build_runner(phase)
        for _ in range(WARMUP_CASES):
            run_case([])
    except BaseException as exc:
        barrier.abort()
        results.put({"error": f"{type(exc).__name__}: {exc}"})
        raise
    barrier.wait()
    latencies: list[float] = []
    done, deadline = 0, time.perf_counter() + phase.seconds
    try:
        while done < phase.cases and time.perf_counter() < deadline:
            run_case(latencies)
            done += 1
    except Exception as exc:
        results.put({"error": f"{type(exc).__name__}: {exc}"})
        raise
    results.put({"cases": done, "latencies_ms": latencies})


def run_phase(phase: Phase, workers: int) -> PhaseResult:
    """Start the workers (spawned, each with its own engine), release them together and time the phase."""
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
    latencies = [x for o in outcomes for x in o["latencies_ms"]]
    return PhaseResult(sum(o["cases"] for o in outcomes), wall, latencies)


def _unwrapped_sources(original: Sources) -> Sources:
    def sources(task_spec: Any) -> Iterable[tuple[str, str]]:
        for source, mode in original(task_spec):
            yield str(getattr(source, "args", (source,))[0]), mode

    return sources


def deploy(url: str) -> bool:
    """Deploy and publish the model; return True if the deploy lint needed the condition shim."""
    from handlers import REGISTRY
    from processes import definitions
    from processes.db import create_db_engine
    from processes.engine import bundle
    from processes.runtime import Runtime

    rt = Runtime(create_db_engine(url), REGISTRY)
    files = {MODEL.name: MODEL.read_text(encoding="utf-8")}

    def publish() -> None:
        with rt.write() as session, session.begin():
            definitions.deploy(session, PROCESS_KEY, files, actor="bench", now=rt.clock(), operators=REGISTRY,
                               publish=True)

    try:
        publish()
        return False
    except TypeError:
        # The lint hands SpiffWorkflow's _BpmnCondition objects (not strings) to the sandbox check; unwrap
        # them for this deploy only. Remove once processes/engine/bundle.py:_sources yields condition.args[0].
        log.warning("deploy lint failed on a gateway condition; deploying with the bench's condition shim")
        with mock.patch.object(bundle, "_sources", _unwrapped_sources(bundle._sources)):
            publish()
        return True
    finally:
        rt.db.dispose()


@contextmanager
def sqlite_database() -> Iterator[str]:
    """Yield a migrated SQLite file in a temporary folder, deleted afterwards."""
    from processes.migrate import upgrade

    folder = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    try:
        url = f"sqlite:///{folder / 'bench.sqlite'}"
        upgrade(url)
        yield url
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """Create a randomly named, migrated database on the server; drop it afterwards."""
    from processes.migrate import upgrade

    name = f"hotline_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


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


@contextmanager
def backend_database(backend: str, server: str | None) -> Iterator[str]:
    """Yield a migrated database of the backend."""
    with postgres_database(server) if backend == "postgres" and server else sqlite_database() as url:
        yield url


def summarize(report: dict[str, Any], backend: str, result: PhaseResult, workers: int) -> None:
    """Add one phase's figures to the report."""
    report[f"{backend}_cases"] = result.cases
    report[f"{backend}_cases_per_s"] = round(result.cases_per_s, 1)
    report[f"{backend}_ms_per_case"] = round(1000 * workers / result.cases_per_s, 2)  # per core
    if result.latencies_ms:
        ordered = sorted(result.latencies_ms)
        report[f"{backend}_ms_per_command"] = round(statistics.mean(ordered), 2)
        report[f"{backend}_p50_ms_per_command"] = round(statistics.median(ordered), 2)
        report[f"{backend}_p95_ms_per_command"] = round(ordered[int(0.95 * (len(ordered) - 1))], 2)
    if backend != "raw" and report.get("raw_cases_per_s"):
        report[f"{backend}_ratio"] = round(result.cases_per_s / report["raw_cases_per_s"], 3)
    log.info("%-8s %6d cases in %5.1f s: %7.1f cases/s", backend, result.cases, result.wall_s,
             result.cases_per_s)


def machine_info(args: argparse.Namespace) -> dict[str, Any]:
    """Describe the run: machine, versions, workers and case counts."""
    return {
        "benchmark": "lifecycle", "model": MODEL.name,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
        "spiffworkflow": version("SpiffWorkflow"), "sqlalchemy": version("SQLAlchemy"),
        "workers": args.workers, "cases_per_worker": args.cases, "raw_cases_per_worker": args.raw_cases,
        "seconds_per_phase": args.seconds, "commands_per_case": 9,
    }


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Measure raw, SQLite and PostgreSQL phases with the same number of workers."""
    report = machine_info(args)
    raw = run_phase(Phase("raw", None, args.raw_cases, args.seconds), args.workers)
    summarize(report, "raw", raw, args.workers)
    server = postgres_server(report)
    report.update(postgres_cases_per_s=None, postgres_ratio=None)
    for backend in ("sqlite", "postgres"):
        if backend == "postgres" and server is None:
            log.warning("PostgreSQL skipped: %s", report["postgres_note"])
            continue
        with backend_database(backend, server) as url:
            report["deploy_shim"] = deploy(url)
            result = run_phase(Phase(backend, url, args.cases, args.seconds), args.workers)
        summarize(report, backend, result, args.workers)
    return report


def profile(args: argparse.Namespace) -> dict[str, Any]:
    """Run cases in one process under cProfile (PostgreSQL if configured); print hot spots to stderr."""
    report = machine_info(args) | {"workers": 1, "profiled": True}
    server = postgres_server(report)
    backend = "postgres" if server else "sqlite"
    with backend_database(backend, server) as url:
        report["deploy_shim"] = deploy(url)
        run_case, latencies = persisted_runner(url), list[float]()
        for _ in range(WARMUP_CASES):
            run_case([])
        profiler, begin = cProfile.Profile(), time.perf_counter()
        profiler.runcall(lambda: [run_case(latencies) for _ in range(args.cases)])
        summarize(report, backend, PhaseResult(args.cases, time.perf_counter() - begin, latencies), 1)
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
    parser.add_argument("--seconds", type=float, default=25.0,
                        help="time budget per measured phase; workers stop when it runs out")
    parser.add_argument("--profile", action="store_true",
                        help="instead: run --cases cases in one process under cProfile, hot spots to stderr")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its figures."""
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parse_args(argv)
    report = profile(args) if args.profile else benchmark(args)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        width = max(map(len, report))
        print("\n".join(f"{key:<{width}}  {value}" for key, value in report.items()))


if __name__ == "__main__":
    main()
