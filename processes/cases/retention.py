"""Retention of personal data of closed cases (个人信息保存期限, PIPL arts. 19 and 47): de-identify after N days.

Once a case has been closed (办结 and the other finished statuses) for the office's number of days (setting
`pii_retention_days`; 0 keeps everything), its requester loses name, phone, ID number, address and the phone's
blind index and last four digits; the requester's name and address, and every phone and ID number in any spelling
(processes.cases.numbers), are removed from the case's free text (title, content, location, and the texts its
tasks recorded), the drafts of its tasks are deleted, and so are its attachments (附件: photos, documents and
recordings of the citizen cannot be de-identified, so their rows and files go; the files are removed before the
transaction commits, so a crash never leaves a file whose row is gone, only a row whose file is, which the next
run deletes; given no attachment folder, attachments are left alone). The case row, its routing columns, history,
deadlines, callback result and figures stay, so the dashboard and reports count it as before. The case is marked in
`flags["deidentified"]` (the day), which is also how a run knows what is done. Each batch is one transaction with
one audit row holding the counts; nothing personal is in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import fields
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.audit import record as audit
from processes.cases.attachments import path_of
from processes.cases.models import FINISHED_STATUSES
from processes.cases.models import Attachment
from processes.cases.models import Case
from processes.cases.models import CaseText
from processes.cases.models import Requester
from processes.cases.models import TaskDraft
from processes.cases.numbers import find_numbers
from processes.cases.numbers import scrub_numbers
from processes.cases.personal import read_requester
from processes.runtime.core import Runtime
from processes.runtime.models import HumanTask

SETTING = "pii_retention_days"
MARK = "deidentified"  # flags key: the (UTC) day the case was de-identified
REMOVED = "（已去标识化）"
MIN_SCRUBBED = 2  # a one-character name would blank that character everywhere in the text
BATCH = 200
PERSONAL_COLUMNS = ("name", "phone", "id_number", "address", "phone_index", "phone_last4")


@dataclass
class Counts:
    """What a run found (dry run) or changed: cases, requesters cleared, texts rewritten, numbers removed."""

    cases: int = 0
    requesters: int = 0
    texts: int = 0
    numbers: int = 0
    drafts: int = 0
    attachments: int = 0

    def add(self, other: Counts) -> None:
        """Add another batch's counts to these."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, int]:
        """Return the counts by name (for the audit row and the command line)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def cutoff(now: datetime, days: int) -> datetime:
    """Return the closing time before which a case is due for de-identification."""
    return now - timedelta(days=days)


def _due(now: datetime, days: int) -> list[sa.ColumnElement[bool]]:
    """Closed past the retention period and not yet de-identified."""
    return [Case.closed_at.is_not(None), Case.closed_at <= cutoff(now, days), Case.status.in_(FINISHED_STATUSES),
            Case.flags[MARK].as_string().is_(None)]


def due_cases(session: Session, *, now: datetime, days: int, limit: int = BATCH) -> list[Case]:
    """Return closed cases past the retention period not yet de-identified, oldest closure first."""
    if days <= 0:
        return []
    query = sa.select(Case).where(*_due(now, days)).order_by(Case.closed_at, Case.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Case, skip_locked=True)  # two schedulers take different cases
    return list(session.scalars(query))


def _scrub(text: str | None, secrets: list[str]) -> tuple[str | None, int]:
    """Return text without the requester's name and address and without numbers, and how many numbers it held."""
    if not text:
        return text, 0
    numbers = len(find_numbers(text))
    out = scrub_numbers(text, REMOVED)
    for secret in secrets:
        out = out.replace(secret, REMOVED)
    return out, numbers


def _attachments(session: Session, case: Case, *, folder: Path, apply: bool) -> int:
    """Delete (or count) a case's attachments: the rows first (locking them against a key rotation), then files."""
    ids = list(session.scalars(sa.select(Attachment.id).where(Attachment.case_id == case.id)))
    if apply and ids:
        session.execute(sa.delete(Attachment).where(Attachment.id.in_(ids)))
        for attachment_id in ids:
            path_of(folder, attachment_id).unlink(missing_ok=True)
    return len(ids)


def _deidentify(session: Session, case: Case, *, now: datetime, apply: bool, folder: Path | None = None) -> Counts:
    """De-identify one case (or, with apply False, count what would change)."""
    counts = Counts(cases=1)
    if folder is not None:
        counts.attachments = _attachments(session, case, folder=folder, apply=apply)
    requester = session.get(Requester, case.requester_id) if case.requester_id else None
    plain = read_requester(requester) if requester is not None else {}
    secrets = sorted({v.strip() for k, v in plain.items() if k in ("name", "address") and v
                      and len(v.strip()) >= MIN_SCRUBBED}, key=len, reverse=True)
    if requester is not None and any(getattr(requester, c) is not None for c in PERSONAL_COLUMNS):
        counts.requesters = 1
        if apply:
            session.execute(sa.update(Requester).where(Requester.id == requester.id)
                            .values(dict.fromkeys(PERSONAL_COLUMNS)))
    columns = {}
    for name in ("title", "content", "location"):
        value, numbers = _scrub(getattr(case, name), secrets)
        if value != getattr(case, name):
            columns[name], counts.texts, counts.numbers = value, counts.texts + 1, counts.numbers + numbers
    for text in session.scalars(sa.select(CaseText).where(CaseText.case_id == case.id)):
        value, numbers = _scrub(text.value, secrets)
        if value != text.value:
            counts.texts, counts.numbers = counts.texts + 1, counts.numbers + numbers
            if apply:
                session.execute(sa.update(CaseText).where(CaseText.id == text.id).values(value=value))
    tasks = sa.select(HumanTask.id).where(HumanTask.case_id == case.id)
    counts.drafts = session.scalar(sa.select(sa.func.count()).select_from(TaskDraft)
                                   .where(TaskDraft.task_id.in_(tasks))) or 0
    if apply:
        session.execute(sa.delete(TaskDraft).where(TaskDraft.task_id.in_(tasks)))
        session.execute(sa.update(Case).where(Case.id == case.id).values(
            **columns, flags={**(case.flags or {}), MARK: now.date().isoformat()}))
    return counts


def run_batch(session: Session, *, now: datetime, days: int, actor: str, apply: bool,
              limit: int = BATCH, attachments: Path | None = None) -> Counts:
    """De-identify (or count) one batch of due cases in the caller's transaction; audit it when applied."""
    total = Counts()
    for case in due_cases(session, now=now, days=days, limit=limit):
        total.add(_deidentify(session, case, now=now, apply=apply, folder=attachments))
    if apply and total.cases:
        audit.record(session, action="pii.retention", actor=actor, at=now, object_type="hotline_case",
                     detail={"days": days, **total.as_dict()})
    return total


def count_due(session: Session, *, now: datetime, days: int, attachments: Path | None = None) -> Counts:
    """Return what a run would change now, over every due case (the dry run)."""
    total = Counts()
    if days <= 0:
        return total
    for case in session.scalars(sa.select(Case).where(*_due(now, days)).order_by(Case.closed_at, Case.id)):
        total.add(_deidentify(session, case, now=now, apply=False, folder=attachments))
    return total


def apply_all(rt: Runtime, *, days: int, actor: str, batch: int = BATCH, attachments: Path | None = None) -> Counts:
    """De-identify every due case, one audited transaction per batch; return the totals."""
    total = Counts()
    while True:
        with rt.write() as session, session.begin():
            done = run_batch(session, now=rt.clock(), days=days, actor=actor, apply=True, limit=batch,
                             attachments=attachments)
        total.add(done)
        if done.cases < batch:
            return total
