"""Stored reports (报表存档): generate a report in both formats, keep it, list and fetch it within a user's reach."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from processes.metrics import Period
from processes.reports import content
from processes.reports.content import Names
from processes.reports.models import ReportFile
from processes.reports.pdf import pdf_bytes
from processes.reports.workbook import workbook_bytes
from processes.runtime.core import Runtime

SYSTEM_ACTOR = "system:reports"
FORMATS = ("pdf", "xlsx")


@dataclass(frozen=True)
class Listed:
    """A stored report as lists show it (no content)."""

    id: str
    kind: str
    period: str
    scope: str
    file_format: str
    size: int
    generated_by: str
    generated_at: datetime


def render(session: Session, kind: str, period: Period, scope: str, names: Names, font: tuple[str, int],
           now: datetime) -> dict[str, bytes]:
    """Count a report and write it as PDF and Excel."""
    report = content.build(session, kind, period, scope=scope, names=names, now=now)
    return {"pdf": pdf_bytes(report, names, font), "xlsx": workbook_bytes(report, names)}


def save(session: Session, kind: str, key: str, scope: str, files: dict[str, bytes], *, by: str,
         now: datetime) -> list[str]:
    """Store the files of a report in the caller's transaction, replacing an earlier run of the same one."""
    session.execute(sa.delete(ReportFile).where(ReportFile.kind == kind, ReportFile.period == key,
                                                ReportFile.scope == scope))
    rows = [ReportFile(kind=kind, period=key, scope=scope, file_format=fmt, content=data, size=len(data),
                       sha256=hashlib.sha256(data).hexdigest(), generated_by=by, generated_at=now)
            for fmt, data in sorted(files.items())]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def exists(session: Session, kind: str, key: str, scope: str) -> bool:
    """Return whether this report is stored already (the scheduler makes each one once)."""
    return session.scalar(sa.select(sa.func.count()).select_from(ReportFile).where(
        ReportFile.kind == kind, ReportFile.period == key, ReportFile.scope == scope)) != 0


def scheduled(rt: Runtime, kind: str, period: Period, names: Names, font: tuple[str, int]) -> bool:
    """Make the office's report of a period unless stored already; return whether this call made it.

    Several schedulers may run this at the same minute: the unique key lets one insert win, the others roll back.
    """
    key = content.period_key(kind, period)
    with rt.read() as session:
        if exists(session, kind, key, content.OFFICE):
            return False
        files = render(session, kind, period, content.OFFICE, names, font, rt.clock())
    try:
        with rt.write() as session, session.begin():
            if exists(session, kind, key, content.OFFICE):
                return False
            save(session, kind, key, content.OFFICE, files, by=SYSTEM_ACTOR, now=rt.clock())
    except IntegrityError:
        return False
    return True


def listing(session: Session, scopes: Collection[str] | None) -> list[Listed]:
    """Return stored reports newest period first; `scopes` None means every scope (the office's readers)."""
    query = sa.select(ReportFile.id, ReportFile.kind, ReportFile.period, ReportFile.scope, ReportFile.file_format,
                      ReportFile.size, ReportFile.generated_by, ReportFile.generated_at)
    if scopes is not None:
        query = query.where(ReportFile.scope.in_(list(scopes)))
    query = query.order_by(ReportFile.period.desc(), ReportFile.kind, ReportFile.scope, ReportFile.file_format)
    return [Listed(*row) for row in session.execute(query.limit(500))]


def fetch(session: Session, report_id: str, scopes: Collection[str] | None) -> ReportFile | None:
    """Return a stored report if it is in the user's reach, else None (404)."""
    query = sa.select(ReportFile).where(ReportFile.id == report_id)
    if scopes is not None:
        query = query.where(ReportFile.scope.in_(list(scopes)))
    return session.scalar(query)
