"""Background order imports (后台导入): one job row per uploaded file, run by whichever scheduler claims it.

The claim, lease and progress mechanics are the case-list exports' (`processes.reports.exports`), on this table.
The upload is sealed with the personal-data key while it waits (it holds names and phones) and dropped when the
import ends; the report keeps row numbers, order numbers, outcomes and reasons, never personal values. A job
taken over from a dead runner starts again at its first row: rows it had registered are found by their receipts
and reported as created by this import, so nothing is registered twice and the report stays complete.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.accounts import pii
from processes.exchange.models import PlatformImport
from processes.reports import exports as leases
from processes.runtime.core import Runtime

IMPORTS = cast(sa.Table, PlatformImport.__table__)
SEAL = "platform_import"  # the personal-data cipher's purpose label for sealed uploads
LeaseLost = leases.LeaseLost


def request(session: Session, *, requested_by: str, file_name: str, file_format: str, encoding: str,
            content: bytes, rows_total: int, notes: Sequence[str], now: datetime) -> PlatformImport:
    """Add a pending import with its sealed upload to the caller's transaction (the caller audits it there)."""
    job = PlatformImport(requested_by=requested_by, file_name=file_name[:200], file_format=file_format,
                         encoding=encoding, sealed=pii.cipher().encrypt(SEAL, base64.b64encode(content).decode()),
                         status="pending", rows_total=rows_total, rows_done=0, created=0, duplicates=0, refused=0,
                         report=[], notes=list(notes), attempts=0, created_at=now)
    session.add(job)
    session.flush()
    return job


def unseal(job: PlatformImport) -> bytes:
    """Return the uploaded file of a job (raises pii.PiiKeyError when the key was rotated away meanwhile)."""
    return base64.b64decode(pii.cipher().decrypt(SEAL, job.sealed) or "")


def claim(rt: Runtime, owner: str, *, lease: timedelta) -> PlatformImport | None:
    """Claim the oldest waiting import (or one whose runner died); return it detached, or None."""
    job_id = leases.claim(rt, owner, lease=lease, table=IMPORTS)
    if job_id is None:
        return None
    with rt.read() as session:
        job = session.get(PlatformImport, job_id)
        if job is not None:
            session.expunge(job)
        return job


def progress(rt: Runtime, job_id: str, owner: str, *, done: int, total: int, counts: dict[str, int],
             lease: timedelta) -> None:
    """Record rows done and outcome counts and renew the lease; raise LeaseLost when another runner holds it."""
    leases.progress(rt, job_id, owner, done=done, total=total, lease=lease, table=IMPORTS, **counts)


def finish(rt: Runtime, job_id: str, owner: str, *, report: list[Any], notes: list[str],
           counts: dict[str, int]) -> bool:
    """Store the report, drop the upload and mark the job done, if this runner still holds it."""
    with rt.write() as session, session.begin():
        changed = session.execute(sa.update(PlatformImport).where(
            PlatformImport.id == job_id, PlatformImport.status == "running",
            PlatformImport.lease_owner == owner).values(
            status="done", report=report, notes=notes, sealed=None, rows_done=len(report), lease_owner=None,
            lease_until=None, finished_at=rt.clock(), **counts))
    return bool(getattr(changed, "rowcount", 0))


def fail(rt: Runtime, job_id: str, owner: str, error: str) -> None:
    """Mark an import this runner holds as failed (the whole file unreadable), dropping the upload."""
    with rt.write() as session, session.begin():
        session.execute(sa.update(PlatformImport).where(PlatformImport.id == job_id,
                                                        PlatformImport.lease_owner == owner).values(sealed=None))
    leases.fail(rt, job_id, owner, error, table=IMPORTS)


def for_requester(session: Session, job_id: str, username: str) -> PlatformImport | None:
    """Return the import if this user uploaded it, else None (someone else's import answers 404)."""
    return session.scalar(sa.select(PlatformImport).where(PlatformImport.id == job_id,
                                                          PlatformImport.requested_by == username))


def recent(session: Session, username: str, limit: int = 10) -> list[PlatformImport]:
    """Return this user's latest imports, newest first (without their reports' rows loaded twice)."""
    return list(session.scalars(sa.select(PlatformImport).where(PlatformImport.requested_by == username)
                                .order_by(PlatformImport.created_at.desc()).limit(limit)))
