"""Job claiming, leases, retries, incidents and catch-up, driven with a frozen clock (no sleeping)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from processes.clock import FrozenClock
from processes.runtime import commands
from processes.runtime import control
from processes.runtime import jobs
from processes.runtime.core import Runtime
from processes.runtime.models import HistoryEvent
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessInstance
from processes.runtime.models import TimerJob
from tests.support import FlakyHandler
from tests.support import deploy
from tests.support import make_runtime
from tests.support import test_registry

LEASE = timedelta(seconds=30)



def count(rt: Runtime, query: sa.Select[tuple[int]]) -> int:
    """Run a count query."""
    with rt.read() as session:
        return int(session.scalar(query) or 0)


def fires(rt: Runtime) -> int:
    """How many timer firings history holds."""
    return count(rt, sa.select(sa.func.count()).select_from(HistoryEvent).where(HistoryEvent.kind == "timer_fired"))


def test_due_timers_fire_once_and_not_before_their_time(runtime: Runtime, clock: FrozenClock) -> None:
    deploy(runtime, "simple", "simple.bpmn")
    ids = [commands.start(runtime, "simple", {"lead_department": "区交通运输局"}, actor="op").instance_id
           for _ in range(5)]
    assert jobs.run_due(runtime, "a", lease=LEASE)["done"] == 0  # nothing due yet
    clock.advance(minutes=59, seconds=59)
    assert jobs.run_due(runtime, "a", lease=LEASE)["done"] == 0
    clock.advance(seconds=2)
    assert jobs.run_due(runtime, "a", lease=LEASE)["done"] == 5
    assert jobs.run_due(runtime, "b", lease=LEASE)["done"] == 0
    assert fires(runtime) == 5
    with runtime.read() as session:
        assert set(session.scalars(sa.select(TimerJob.status))) == {"done"}
        assert all(session.get(ProcessInstance, i).next_due_at is None for i in ids)  # type: ignore[union-attr]


def test_expired_lease_is_taken_over_and_the_old_runner_cannot_fire_again(runtime: Runtime,
                                                                          clock: FrozenClock) -> None:
    deploy(runtime, "simple", "simple.bpmn")
    commands.start(runtime, "simple", {"lead_department": "x"}, actor="op")
    clock.advance(hours=2)
    [held] = jobs.claim_due(runtime, "dead-runner", lease=LEASE)  # claims, then "dies"
    assert jobs.claim_due(runtime, "other", lease=LEASE) == []  # the lease still holds
    clock.advance(seconds=31)
    [taken] = jobs.claim_due(runtime, "other", lease=LEASE)
    assert taken.id == held.id
    assert jobs.run_job(runtime, taken, "other") == "done"
    assert jobs.run_job(runtime, held, "dead-runner") == "lost"  # wakes up late: rolls back
    assert fires(runtime) == 1


def test_failing_handler_backs_off_then_becomes_an_incident_and_manual_retry_completes(
        db_url: str, clock: FrozenClock) -> None:
    flaky = FlakyHandler()
    rt = make_runtime(db_url, clock, registry=test_registry(flaky), retry_backoff=[60, 300])
    deploy(rt, "flaky", "flaky_service.bpmn")
    started = commands.start(rt, "flaky", {"lead_department": "x"}, actor="op")
    with rt.read() as session:
        task_id = session.scalar(sa.select(HumanTask.id).where(HumanTask.status == "open"))
    assert commands.complete_task(rt, started.instance_id, str(task_id), {"ok": True}, actor="h1") == "error"
    with rt.read() as session:
        instance = session.get(ProcessInstance, started.instance_id)
        assert instance is not None and "upstream platform unreachable" in (instance.error or "")
        job = session.scalar(sa.select(TimerJob).where(TimerJob.kind == "retry"))
        assert job is not None
        assert (job.status, job.attempts, job.due_at) == ("pending", 1, clock() + timedelta(seconds=60))
        assert session.scalar(sa.select(HumanTask.status).where(HumanTask.id == task_id)) == "completed"
    clock.advance(seconds=61)
    assert jobs.run_due(rt, "s", lease=LEASE)["done"] == 1
    assert flaky.calls == 2
    with rt.read() as session:
        job = session.scalar(sa.select(TimerJob).where(TimerJob.kind == "retry"))
        assert job is not None and (job.status, job.attempts) == ("pending", 2)
    clock.advance(seconds=301)
    jobs.run_due(rt, "s", lease=LEASE)
    [incident] = jobs.incidents(rt)
    assert incident.attempts == 3 and "unreachable" in (incident.last_error or "")
    clock.advance(days=1)
    assert jobs.run_due(rt, "s", lease=LEASE)["done"] == 0  # incidents are not retried automatically
    flaky.broken = False
    assert control.retry_instance(rt, started.instance_id, actor="supervisor1") in ("running", "completed")
    assert jobs.incidents(rt) == []
    with rt.read() as session:
        assert session.scalar(sa.select(TimerJob.status).where(TimerJob.kind == "retry")) == "done"
    rt.db.dispose()


def test_cycle_timer_after_downtime_fires_once(runtime: Runtime, clock: FrozenClock) -> None:
    deploy(runtime, "cycle", "cycle_reminder.bpmn")
    started = commands.start(runtime, "cycle", {}, actor="op")
    clock.advance(hours=3, minutes=30)  # three occurrences missed while no scheduler ran
    jobs.run_due(runtime, "s", lease=LEASE)
    assert fires(runtime) == 1
    with runtime.read() as session:
        due = session.scalar(sa.select(TimerJob.due_at).where(TimerJob.status == "pending"))
        instance = session.get(ProcessInstance, started.instance_id)
    assert due == clock() + timedelta(minutes=30)  # the next one is on the original hourly grid
    assert instance is not None and instance.status == "running"
    clock.advance(hours=1)
    jobs.run_due(runtime, "s", lease=LEASE)
    assert fires(runtime) == 2


def test_suspended_instance_timers_wait_until_resumed(runtime: Runtime, clock: FrozenClock) -> None:
    deploy(runtime, "simple", "simple.bpmn")
    started = commands.start(runtime, "simple", {"lead_department": "x"}, actor="op")
    control.suspend(runtime, started.instance_id, actor="sup", reason="等待上级批示")
    clock.advance(hours=2)
    assert jobs.run_due(runtime, "s", lease=LEASE)["done"] == 0
    control.resume(runtime, started.instance_id, actor="sup", reason="批示已到")
    assert fires(runtime) == 1
