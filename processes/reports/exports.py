"""Background exports (后台导出): a job row per long case-list export, run once by whichever scheduler claims it.

Why rows in our database and not a thread in the web worker: a row survives a restart and every app node sees it.
A scheduler claims a pending job (or one whose runner's lease ran out) with `FOR UPDATE SKIP LOCKED`, renews the
lease at every batch and gives up as soon as another runner holds it; a job taken over starts again from its first
row, so a crash costs time, never a wrong file. The file is kept in the row for a limited time and only the person
who asked may download it (the web layer checks `requested_by`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.reports.models import ExportJob
from processes.runtime.core import Runtime

FORMATS = ("csv", "xlsx")
MAX_ATTEMPTS = 3  # a job that crashed its runner three times is failed, not retried forever
OPEN = ("pending", "running")


class LeaseLost(Exception):
    """Another runner took this job over (our lease ran out): stop without writing anything."""


Progress = Callable[[int, int], None]  # (rows done, rows total): renews the lease, raises LeaseLost
Builder = Callable[[ExportJob, Progress], tuple[bytes, str]]  # the file's bytes and its name


# The job table `claim`, `progress` and `fail` work on: any table with the export job's status and lease columns
# (id, status, attempts, rows_done, rows_total, lease_owner, lease_until, error, created_at, finished_at).
EXPORTS = cast(sa.Table, ExportJob.__table__)


def request(session: Session, *, requested_by: str, file_format: str, criteria: dict[str, Any], rows_total: int,
            now: datetime) -> ExportJob:
    """Add a pending export job to the caller's transaction (the caller audits the request in the same one)."""
    if file_format not in FORMATS:
        raise ValueError(f"unknown export format {file_format!r}")
    job = ExportJob(requested_by=requested_by, file_format=file_format, criteria=criteria, status="pending",
                    rows_total=rows_total, rows_done=0, attempts=0, file_name="", created_at=now)
    session.add(job)
    session.flush()
    return job


def _claimable(now: datetime, table: sa.Table) -> sa.ColumnElement[bool]:
    return sa.or_(table.c.status == "pending", sa.and_(table.c.status == "running", table.c.lease_until < now))


def claim(rt: Runtime, owner: str, *, lease: timedelta, table: sa.Table = EXPORTS) -> str | None:
    """Claim the oldest claimable job for `owner`; return its id, or None when nothing waits."""
    now = rt.clock()
    with rt.write() as session, session.begin():
        query = sa.select(table.c.id, table.c.attempts).where(_claimable(now, table)) \
            .order_by(table.c.created_at).limit(1)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = session.execute(query).one_or_none()
        if row is None:
            return None
        if row.attempts >= MAX_ATTEMPTS:  # its runners kept dying: say so instead of trying again
            session.execute(sa.update(table).where(table.c.id == row.id).values(
                status="failed", error="stopped after repeated interruptions", lease_owner=None,
                lease_until=None, finished_at=now))
            return None
        session.execute(sa.update(table).where(table.c.id == row.id).values(
            status="running", lease_owner=owner, lease_until=now + lease, attempts=row.attempts + 1, rows_done=0))
    return str(row.id)


def _held(job_id: str, owner: str, table: sa.Table = EXPORTS) -> sa.ColumnElement[bool]:
    return sa.and_(table.c.id == job_id, table.c.status == "running", table.c.lease_owner == owner)


def progress(rt: Runtime, job_id: str, owner: str, *, done: int, total: int, lease: timedelta,
             table: sa.Table = EXPORTS, **more: Any) -> None:
    """Record how far the job is (and `more` columns) and renew the lease; raise LeaseLost if another holds it."""
    with rt.write() as session, session.begin():
        changed = session.execute(sa.update(table).where(_held(job_id, owner, table)).values(**more,
            rows_done=done, rows_total=total, lease_until=rt.clock() + lease))
    if not getattr(changed, "rowcount", 0):
        raise LeaseLost(job_id)


def finish(rt: Runtime, job_id: str, owner: str, content: bytes, file_name: str, *, keep: timedelta) -> bool:
    """Store the file and mark the job done if this runner still holds it; return whether it did."""
    now = rt.clock()
    with rt.write() as session, session.begin():
        changed = session.execute(sa.update(ExportJob).where(_held(job_id, owner)).values(
            status="done", content=content, file_name=file_name, lease_owner=None, lease_until=None,
            finished_at=now, expires_at=now + keep))
    return bool(getattr(changed, "rowcount", 0))


def fail(rt: Runtime, job_id: str, owner: str, error: str, *, table: sa.Table = EXPORTS) -> None:
    """Mark a job this runner holds as failed, with a short reason for the page."""
    with rt.write() as session, session.begin():
        session.execute(sa.update(table).where(_held(job_id, owner, table)).values(
            status="failed", error=error[:500], lease_owner=None, lease_until=None, finished_at=rt.clock()))


def run_one(rt: Runtime, owner: str, build: Builder, *, lease: timedelta, keep: timedelta) -> str | None:
    """Claim one job and build its file; return the job id, or None when nothing was waiting."""
    job_id = claim(rt, owner, lease=lease)
    if job_id is None:
        return None
    with rt.read() as session:
        job = session.get(ExportJob, job_id)
        assert job is not None  # noqa: S101  (claimed just now; rows are deleted only once expired)
        session.expunge(job)

    def report(done: int, total: int) -> None:
        progress(rt, job_id, owner, done=done, total=total, lease=lease)

    try:
        content, name = build(job, report)
    except LeaseLost:
        return job_id
    except PermissionError as exc:  # the requester lost the right to export meanwhile
        fail(rt, job_id, owner, str(exc))
        return job_id
    finish(rt, job_id, owner, content, name, keep=keep)
    return job_id


def for_requester(session: Session, job_id: str, username: str) -> ExportJob | None:
    """Return the job if this user asked for it, else None (someone else's job answers 404)."""
    return session.scalar(sa.select(ExportJob).where(ExportJob.id == job_id, ExportJob.requested_by == username))


def expire(rt: Runtime) -> int:
    """Drop the files of jobs past their keeping time (the row stays as 'expired'); return how many."""
    now = rt.clock()
    with rt.write() as session, session.begin():
        result = session.execute(sa.update(ExportJob).where(
            ExportJob.status == "done", ExportJob.expires_at < now).values(status="expired", content=None))
    return int(getattr(result, "rowcount", 0) or 0)
