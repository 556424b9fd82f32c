"""Timer benchmark (issue 4): lateness of timers under light load, and a storm of timers due at once.

Run `python -m bench.timers --json [--storm 5000]`; the JSON object is the last line on stdout, logs on stderr.
HOTLINE_DATABASE_URL names a PostgreSQL server (the run creates its own database and drops it); without it the
benchmark runs on a temporary SQLite file. Scheduler processes are the real `hotline scheduler`, one per core.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.dbsetup import own_database

MODEL = Path(__file__).parent / "models" / "timer_wait.bpmn"
KEY = "bench_timer"
SCHEDULER = [sys.executable, "-c", "from webapp.cli import cli; cli()", "scheduler"]
log = logging.getLogger("bench.timers")


def _runtime(url: str) -> Any:
    from handlers import REGISTRY
    from processes.db.engines import create_db_engine
    from processes.runtime.core import Runtime

    return Runtime(create_db_engine(url), REGISTRY)


def deploy(url: str) -> None:
    """Deploy the benchmark model."""
    from processes.runtime import definitions

    rt = _runtime(url)
    with rt.write() as session, session.begin():
        definitions.deploy(session, KEY, {"timer_wait.bpmn": MODEL.read_text(encoding="utf-8")}, actor="bench",
                           now=rt.clock(), operators=rt.handlers, publish=True)
    rt.db.dispose()


def _seed(args: tuple[str, list[str]]) -> None:
    """Start one case per due time (a worker of the seeding pool)."""
    from processes.runtime import commands

    url, dues = args
    rt = _runtime(url)
    for due in dues:
        commands.start(rt, KEY, {"due_at": due}, actor="bench")
    rt.db.dispose()


def seed(url: str, dues: list[str], workers: int) -> None:
    """Start cases in parallel, one per due time."""
    chunks = [dues[i::workers] for i in range(workers)]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pool.map(_seed, [(url, chunk) for chunk in chunks])


def start_schedulers(url: str, count: int) -> list[subprocess.Popen[str]]:
    """Start real scheduler processes on the database."""
    env = {**os.environ, "HOTLINE_DATABASE_URL": url}
    return [subprocess.Popen([*SCHEDULER, "--owner", f"bench{i}"], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, text=True) for i in range(count)]


def stop(procs: list[subprocess.Popen[str]]) -> None:
    """Stop scheduler processes gracefully."""
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        proc.wait(timeout=60)


def fires(url: str) -> list[tuple[str, datetime, datetime]]:
    """Return (timer task id, due, fired at) of every recorded timer firing."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT task_id, detail, at FROM history_event WHERE kind = 'timer_fired'")).all()
    engine.dispose()
    out = []
    for task_id, detail, at in rows:
        detail = json.loads(detail) if isinstance(detail, str) else detail
        fired = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
        fired = fired if fired.tzinfo else fired.replace(tzinfo=UTC)
        out.append((task_id, datetime.fromisoformat(detail["due"]), fired))
    return out


def wait_for(url: str, count: int, timeout: float) -> float:
    """Wait until `count` timers have fired; return the seconds waited."""
    began = time.monotonic()
    while len(fires(url)) < count and time.monotonic() - began < timeout:
        time.sleep(0.2)
    return time.monotonic() - began


def lateness_phase(url: str, timers: int, spread: float, schedulers: int) -> dict[str, Any]:
    """Timers spread over time while schedulers sleep between them: how late does each fire?"""
    procs = start_schedulers(url, schedulers)
    time.sleep(2.0)  # let the schedulers start and go to sleep
    base = datetime.now(UTC) + timedelta(seconds=3)
    dues = sorted(base + timedelta(seconds=random.uniform(0, spread)) for _ in range(timers))
    seed(url, [d.isoformat() for d in dues], workers=1)
    wait_for(url, timers, timeout=spread + 60)
    stop(procs)
    lateness = sorted((fired - due).total_seconds() for _, due, fired in fires(url))
    return {"lateness_timers": timers, "lateness_p50_s": round(statistics.median(lateness), 4),
            "lateness_p99_s": round(lateness[min(len(lateness) - 1, int(len(lateness) * 0.99))], 4),
            "lateness_max_s": round(lateness[-1], 4)}


def storm_phase(url: str, storm: int, schedulers: int) -> dict[str, Any]:
    """N timers all due while no scheduler runs; then start the schedulers and time the catch-up."""
    before = len(fires(url))
    workers = max(1, os.cpu_count() or 1)
    pilot = time.monotonic()
    seed(url, [(datetime.now(UTC) + timedelta(days=1)).isoformat()] * 40, workers=1)
    per_case = (time.monotonic() - pilot) / 40
    # All N come due at one instant after seeding ends (a timer already due at start fires during start).
    due = datetime.now(UTC) + timedelta(seconds=5 + 1.5 * storm * per_case / workers)
    seed(url, [due.isoformat()] * storm, workers=workers)
    pause = (due - datetime.now(UTC)).total_seconds()
    if pause < 0:
        raise SystemExit("seeding took longer than planned; the storm timers fired during start")
    time.sleep(pause + 0.01)
    began = time.monotonic()
    procs = start_schedulers(url, schedulers)
    wait_for(url, before + storm, timeout=3600)
    seconds = time.monotonic() - began
    stop(procs)
    recorded = fires(url)[before:]
    distinct = len({task_id for task_id, _, _ in recorded})
    return {"storm": storm, "storm_seconds": round(seconds, 2), "storm_fires_per_s": round(storm / seconds, 1),
            "duplicates": len(recorded) - distinct, "lost": storm - distinct}


def raw_fires_per_s(n: int = 500) -> float:
    """Fire the same timer in memory with the raw engine (no persistence), for the ratio."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.spiff.parser import SpiffBpmnParser

    parser = SpiffBpmnParser()
    parser.add_bpmn_str(MODEL.read_bytes(), "timer_wait.bpmn")
    spec = parser.get_spec("timer_wait")
    due = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    workflows = []
    for _ in range(n):
        wf = BpmnWorkflow(spec)
        wf.get_next_task(spec_name="Start").data["due_at"] = due
        workflows.append(wf)
    for wf in workflows:
        wf.do_engine_steps()  # start: the timer is already due
    began = time.perf_counter()
    for wf in workflows:
        wf.refresh_timers()
        wf.do_engine_steps()
    return n / (time.perf_counter() - began)


def main() -> None:
    """Run both phases and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print only the JSON object on stdout")
    parser.add_argument("--storm", type=int, default=5000)
    parser.add_argument("--timers", type=int, default=200, help="timers in the lateness phase")
    parser.add_argument("--spread", type=float, default=20.0, help="seconds the lateness timers spread over")
    parser.add_argument("--schedulers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    server = os.environ.get("HOTLINE_DATABASE_URL")
    raw = raw_fires_per_s()
    with own_database(server) as url:
        deploy(url)
        result: dict[str, Any] = {"backend": "postgresql" if url.startswith("postgresql") else "sqlite",
                                  "schedulers": args.schedulers, "cpus": os.cpu_count(),
                                  "python": platform.python_version()}
        result.update(lateness_phase(url, args.timers, args.spread, args.schedulers))
        log.info("lateness: %s", result)
        result.update(storm_phase(url, args.storm, args.schedulers))
    result["raw_fires_per_s"] = round(raw, 1)
    result["storm_ratio_to_raw"] = round(result["storm_fires_per_s"] / raw, 4)
    if not args.json:
        for key, value in result.items():
            log.info("%-22s %s", key, value)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
