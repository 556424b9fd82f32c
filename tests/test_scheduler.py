"""Scheduler processes: catch-up after downtime, kill -9 in the middle of firing, many schedulers on one database."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
import sqlalchemy as sa

from processes.clock import FrozenClock
from processes.runtime import commands
from processes.runtime import definitions
from processes.runtime.core import Runtime
from processes.runtime.models import HistoryEvent
from processes.runtime.models import TimerJob
from tests.support import make_runtime
from tests.support import read_bundle

SCHEDULER = [sys.executable, "-c", "from webapp.cli import cli; cli()", "scheduler"]


def seed_overdue_cases(url: str, n: int) -> Runtime:
    """Start n cases whose sign-for warning timer fell due an hour ago (as if no scheduler ran)."""
    rt = make_runtime(url, FrozenClock(datetime.now(UTC) - timedelta(hours=2)))
    with rt.write() as session, session.begin():
        definitions.deploy(session, "simple", read_bundle("simple.bpmn"), actor="analyst", now=rt.clock(),
                           operators=rt.handlers, publish=True)
    for _ in range(n):
        commands.start(rt, "simple", {"lead_department": "区住建局"}, actor="op")
    return rt


def scheduler_env(url: str) -> dict[str, str]:
    """Environment of a scheduler subprocess: the test database and a short lease so takeovers are quick."""
    return {**os.environ, "HOTLINE_DATABASE_URL": url, "HOTLINE_SCHEDULER_LEASE_SECONDS": "0.5",
            "HOTLINE_SCHEDULER_FALLBACK_WAKEUP_SECONDS": "0.5", "HOTLINE_SCHEDULER_BATCH": "10"}


def fire_counts(rt: Runtime) -> tuple[int, int]:
    """Return (timer_fired history rows, distinct timers fired)."""
    with rt.read() as session:
        rows = session.execute(sa.select(sa.func.count(), sa.func.count(sa.distinct(HistoryEvent.task_id))).where(
            HistoryEvent.kind == "timer_fired")).one()
    return int(rows[0]), int(rows[1])


def unfinished_jobs(rt: Runtime) -> int:
    """Timer jobs not done (pending or claimed)."""
    with rt.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(TimerJob).where(
            TimerJob.status.in_(("pending", "claimed")))) or 0)


def run_once(url: str) -> str:
    """Run one scheduler to completion of what is due; return its stderr."""
    done = subprocess.run([*SCHEDULER, "--once"], env=scheduler_env(url), capture_output=True, text=True,
                          timeout=300, check=True)
    return done.stderr


def test_timers_due_while_no_scheduler_ran_fire_exactly_once_after_start(db_url: str) -> None:
    rt = seed_overdue_cases(db_url, 40)
    assert unfinished_jobs(rt) == 40
    assert "stopped after 40 job(s)" in run_once(db_url)
    assert fire_counts(rt) == (40, 40)
    assert "stopped after 0 job(s)" in run_once(db_url)
    assert fire_counts(rt) == (40, 40) and unfinished_jobs(rt) == 0
    rt.db.dispose()


def kill_mid_firing(url: str, rt: Runtime, repetitions: int) -> int:
    """SIGKILL a scheduler shortly after it starts firing, `repetitions` times; return kills that hit mid-work."""
    hits = 0
    for _ in range(repetitions):
        before = fire_counts(rt)[0]
        proc = subprocess.Popen(SCHEDULER, env=scheduler_env(url), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        target = before + random.randint(1, 15)
        deadline = time.monotonic() + 30
        while fire_counts(rt)[0] < target and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        hits += unfinished_jobs(rt) > 0
    return hits


def check_kill_nine(url: str, repetitions: int) -> None:
    """Seed enough overdue timers that every kill lands in the middle of firing, then verify none lost or doubled."""
    rt = seed_overdue_cases(url, repetitions * 25)
    hits = kill_mid_firing(url, rt, repetitions)
    assert hits >= repetitions * 0.9  # the kills really landed while work remained
    time.sleep(0.6)  # let the last victim's lease (0.5 s) expire so the survivor may take its jobs over
    run_once(url)
    total = repetitions * 25
    assert fire_counts(rt) == (total, total)  # none lost, none fired twice
    assert unfinished_jobs(rt) == 0
    rt.db.dispose()


def test_kill_nine_in_the_middle_of_firing_loses_and_doubles_nothing(db_url: str) -> None:
    check_kill_nine(db_url, 20)


@pytest.mark.slow
def test_kill_nine_hundred_times(db_url: str) -> None:
    check_kill_nine(db_url, 100)


def test_four_schedulers_share_two_thousand_timers_on_postgresql(pg_url: str) -> None:
    from tests.support import truncate_all

    truncate_all(pg_url)
    rt = seed_overdue_cases(pg_url, 2000)
    procs = [subprocess.Popen([*SCHEDULER, "--owner", f"node{i}"], env=scheduler_env(pg_url),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for i in range(4)]
    deadline = time.monotonic() + 240
    while unfinished_jobs(rt) and time.monotonic() < deadline:
        time.sleep(0.2)
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    done = []
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        done.append(int(err.rsplit("stopped after ", 1)[1].split(" ")[0]))
    assert fire_counts(rt) == (2000, 2000)
    assert sum(done) == 2000 and sum(1 for d in done if d > 0) >= 2  # shared, and each fired once
    rt.db.dispose()


def test_apscheduler_holds_only_the_fixed_periodic_jobs(sqlite_url: str) -> None:
    from processes.runtime.models import SchedulerHeartbeat
    from webapp import create_app
    from webapp import runtime_of
    from webapp.scheduler import SchedulerState
    from webapp.scheduler import _periodic_jobs

    seed_overdue_cases(sqlite_url, 3).db.dispose()  # BPMN timers exist, and must never reach APScheduler
    app = create_app({"DATABASE_URL": sqlite_url})
    state = SchedulerState("guard")
    periodic = _periodic_jobs(app, state)
    try:
        assert {job.id for job in periodic.get_jobs()} >= {"heartbeat", "outbox", "audit_seal", "retention",
                                                         "audit_anchor", "refusal_summaries"}
        deadline = time.monotonic() + 30
        rt = runtime_of(app)
        while time.monotonic() < deadline:
            with rt.read() as session:
                if session.get(SchedulerHeartbeat, "guard") is not None:
                    break
            time.sleep(0.05)
        with rt.read() as session:
            assert session.get(SchedulerHeartbeat, "guard") is not None
    finally:
        periodic.shutdown(wait=True)
        runtime_of(app).db.dispose()
