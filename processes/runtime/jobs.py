"""Time-driven work (定时任务): claim due timer and retry jobs with a lease, run each once, wake on new work.

Any number of scheduler processes on any number of machines run the same loop. PostgreSQL claims rows with
`FOR UPDATE SKIP LOCKED`; SQLite has one writer at a time, so the same code path is safe there too. A runner that
dies leaves its claim to expire; whoever takes the job over runs it under the instance lock, and the runner that lost
its lease finds out inside its own transaction and rolls back, so a timer never fires twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from processes.engine import runtime as wfops
from processes.errors import Conflict
from processes.errors import InvalidState
from processes.errors import NotFound
from processes.runtime.context import CommandContext
from processes.runtime.core import Runtime
from processes.runtime.models import ProcessInstance
from processes.runtime.models import TimerJob

TIMER_ACTOR = "system:timer"
RETRY_ACTOR = "system:retry"
NOTIFY_CHANNEL = "hotline_jobs"


@dataclass(frozen=True)
class ClaimedJob:
    """A job this runner holds a lease on."""

    id: int
    instance_id: str
    kind: str
    bpmn_id: str
    due_at: datetime


def _due_condition(now: datetime) -> sa.ColumnElement[bool]:
    # Strict '<' like the engine's own test, so a job is never claimed a moment before it can fire.
    timers = sa.and_(TimerJob.kind == "timer", ProcessInstance.status.in_(("running", "waiting")))
    retries = sa.and_(TimerJob.kind == "retry", ProcessInstance.status == "error")
    due = sa.or_(sa.and_(TimerJob.kind == "timer", TimerJob.due_at < now),
                 sa.and_(TimerJob.kind == "retry", TimerJob.due_at <= now))
    return sa.and_(sa.or_(timers, retries), sa.or_(
        sa.and_(TimerJob.status == "pending", due),
        sa.and_(TimerJob.status == "claimed", TimerJob.lease_until < now)))


def claim_due(rt: Runtime, owner: str, *, lease: timedelta, limit: int = 50) -> list[ClaimedJob]:
    """Claim up to `limit` due jobs (and jobs whose runner's lease expired) for `owner`."""
    now = rt.clock()
    with rt.write() as session, session.begin():
        query = (sa.select(TimerJob.id, TimerJob.instance_id, TimerJob.kind, TimerJob.bpmn_id, TimerJob.due_at)
                 .join(ProcessInstance, ProcessInstance.id == TimerJob.instance_id)
                 .where(_due_condition(now)).order_by(TimerJob.due_at).limit(limit))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=TimerJob)
        rows = session.execute(query).all()
        if rows:
            session.execute(sa.update(TimerJob).where(TimerJob.id.in_([r.id for r in rows])).values(
                status="claimed", lease_owner=owner, lease_until=now + lease, updated_at=now))
    return [ClaimedJob(r.id, r.instance_id, r.kind, r.bpmn_id, r.due_at) for r in rows]


def run_job(rt: Runtime, job: ClaimedJob, owner: str) -> str:
    """Run one claimed job under its instance lock; return 'done', 'lost' or 'skipped'."""

    def mutate(ctx: CommandContext) -> None:
        held = ctx.session.execute(sa.select(TimerJob.status, TimerJob.lease_owner).where(
            TimerJob.id == job.id)).one_or_none()
        if held is None or tuple(held) != ("claimed", owner):
            raise Conflict("lease lost to another runner")  # rolls back: the other runner owns this job
        if job.kind == "retry":
            ctx.record("retried")
            wfops.retry_errors(ctx.workflow)
        else:
            wfops.fire_timers(ctx.workflow)
        ctx.after_save.append(lambda session: release(session, job.id, owner))

    allowed = ("error",) if job.kind == "retry" else ("running", "waiting")
    actor = RETRY_ACTOR if job.kind == "retry" else TIMER_ACTOR
    try:
        rt.command(job.instance_id, actor, mutate, allowed=allowed)
    except Conflict:
        return "lost"
    except (InvalidState, NotFound):
        with rt.write() as session, session.begin():
            release(session, job.id, owner)  # suspended or finished meanwhile: leave the job for later
        return "skipped"
    return "done"


def release(session: Session | Connection, job_id: int, owner: str) -> None:
    """Give a job back if this runner still holds it (the timer did not fire, e.g. its due time moved)."""
    session.execute(sa.update(TimerJob).where(
        TimerJob.id == job_id, TimerJob.status == "claimed", TimerJob.lease_owner == owner).values(
        status="pending", lease_owner=None, lease_until=None))


def run_due(rt: Runtime, owner: str, *, lease: timedelta, limit: int = 50) -> dict[str, int]:
    """Claim and run one batch of due jobs; return counts by outcome."""
    counts = {"done": 0, "lost": 0, "skipped": 0}
    for job in claim_due(rt, owner, lease=lease, limit=limit):
        counts[run_job(rt, job, owner)] += 1
    return counts


def seconds_until_next(rt: Runtime, *, cap: float) -> float:
    """Seconds until the earliest pending job or expiring lease, at most `cap` (the fallback wake-up)."""
    far = rt.clock() + timedelta(days=3650)
    with rt.read() as session:
        # The same filter as claiming, so jobs of suspended or failed instances never wake a scheduler in vain.
        soonest = session.scalar(sa.select(sa.func.min(sa.case(
            (TimerJob.status == "pending", TimerJob.due_at), else_=sa.func.coalesce(TimerJob.lease_until, far))))
            .join(ProcessInstance, ProcessInstance.id == TimerJob.instance_id)
            .where(_due_condition(far)))
    if soonest is None:
        return cap
    if soonest.tzinfo is None:  # SQLite returns the aggregate as a naive UTC datetime
        soonest = soonest.replace(tzinfo=UTC)
    # +2 ms: the engine fires a timer only once its due time is strictly in the past.
    wait = (soonest - rt.clock()).total_seconds() + 0.002
    return float(max(0.0, min(cap, wait)))


def wake_schedulers(rt: Runtime) -> None:
    """Make sleeping schedulers look again now (the demo clock moved): NOTIFY on PostgreSQL; SQLite ones poll."""
    if rt.db.dialect.name == "postgresql":
        with rt.db.begin() as conn:
            conn.execute(sa.select(sa.func.pg_notify(NOTIFY_CHANNEL, "")))


def incidents(rt: Runtime) -> Sequence[TimerJob]:
    """Return retry jobs that gave up (事件/故障): a supervisor looks at them and retries the instance."""
    with rt.read() as session:
        return list(session.scalars(sa.select(TimerJob).where(
            TimerJob.kind == "retry", TimerJob.status == "failed").order_by(TimerJob.updated_at)))


def purge_finished(rt: Runtime, *, older_than: timedelta) -> int:
    """Delete done and cancelled job rows older than the retention period (operational logs only)."""
    cutoff = rt.clock() - older_than
    with rt.write() as session, session.begin():
        result = session.execute(sa.delete(TimerJob).where(
            TimerJob.status.in_(("done", "cancelled")), TimerJob.updated_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


def heartbeat(rt: Runtime, owner: str, *, started_at: datetime, jobs_done: int) -> None:
    """Record that a scheduler process is alive and how much it has done (health)."""
    from processes.runtime.models import SchedulerHeartbeat

    now = rt.clock()
    with rt.write() as session, session.begin():
        row = session.get(SchedulerHeartbeat, owner)
        if row is None:
            session.add(SchedulerHeartbeat(owner=owner, started_at=started_at, last_seen=now, jobs_done=jobs_done))
        else:
            row.last_seen, row.jobs_done = now, jobs_done
