"""The outbox log (消息): every message leaving the system, filtered and paged by id (keyset), newest first.

Reads outbox rows and the case number beside them, never a workflow. Content is the readable Chinese of
`outbox_text.render` with the personal values the payload points at, masked for the viewer as the case page masks
free text (`disclosure.text_masker`); errors are masked the same way, since a gateway may echo a number back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.cases import access
from processes.cases import disclosure
from processes.cases import numbers
from processes.cases.access import Viewer
from processes.cases.models import Case
from processes.runtime import outbox_personal
from processes.runtime import outbox_text
from processes.runtime.models import OutboxMessage

PAGE_SIZE = 50
STATUSES = ("pending", "claimed", "delivered", "failed")
CHANNELS = tuple(outbox_text.CHANNEL_NAMES)
ESCAPE = "/"


@dataclass(frozen=True)
class LogFilter:
    """What the log is asked for; values already checked by the caller."""

    channel: str = ""
    status: str = ""
    number: str = ""  # a case number or its first part
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before
    before: int | None = None  # keyset: only messages with a smaller id (the next page)


@dataclass(frozen=True)
class Entry:
    """One message as the log shows it: the row, its case, addressee and content, all masked for the viewer."""

    message: OutboxMessage
    case_id: str | None
    case_number: str | None
    target: str
    lines: list[str]
    error: str


def _conditions(viewer: Viewer, flt: LogFilter) -> list[sa.ColumnElement[bool]]:
    found: list[sa.ColumnElement[bool]] = []
    if not viewer.office:  # the page is the office's; a unit would only see messages of its own cases
        found.append(OutboxMessage.case_id.in_(sa.select(Case.id).where(access.case_filter(viewer))))
    for column, value in ((OutboxMessage.channel, flt.channel), (OutboxMessage.status, flt.status)):
        if value:
            found.append(column == value)
    if flt.number:
        prefix = "".join(ESCAPE + ch if ch in "/%_" else ch for ch in flt.number) + "%"
        found.append(OutboxMessage.case_id.in_(sa.select(Case.id).where(Case.number.like(prefix, escape=ESCAPE))))
    if flt.since is not None:
        found.append(OutboxMessage.created_at >= flt.since)
    if flt.until is not None:
        found.append(OutboxMessage.created_at < flt.until)
    if flt.before is not None:
        found.append(OutboxMessage.id < flt.before)
    return found


def page(session: Session, viewer: Viewer, flt: LogFilter, *,
         limit: int = PAGE_SIZE) -> tuple[list[Entry], int | None]:
    """Return one page of messages, newest first, and the id to continue before (None on the last page)."""
    rows = session.execute(
        sa.select(OutboxMessage, Case.number).outerjoin(Case, Case.id == OutboxMessage.case_id)
        .where(*_conditions(viewer, flt)).order_by(OutboxMessage.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    maskers: dict[str | None, Callable[[str | None], str]] = {}
    entries = [_entry(session, viewer, message, number, maskers) for message, number in rows]
    return entries, (entries[-1].message.id if more and entries else None)


def find(session: Session, viewer: Viewer, message_id: int) -> Entry | None:
    """Return one message the viewer may see, or None."""
    row = session.execute(
        sa.select(OutboxMessage, Case.number).outerjoin(Case, Case.id == OutboxMessage.case_id)
        .where(OutboxMessage.id == message_id, *_conditions(viewer, LogFilter()))).first()
    return None if row is None else _entry(session, viewer, row[0], row[1], {})


def failed_count(session: Session) -> int:
    """How many messages gave up after every retry (发送失败) and wait for a resend."""
    return int(session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.status == "failed")) or 0)


def _entry(session: Session, viewer: Viewer, message: OutboxMessage, number: str | None,
           maskers: dict[str | None, Callable[[str | None], str]]) -> Entry:
    case_id = message.case_id if number is not None else None
    if case_id not in maskers:
        case = session.get(Case, case_id) if case_id else None
        maskers[case_id] = disclosure.text_masker(session, viewer, case) if case is not None \
            else numbers.mask_numbers
    mask = maskers[case_id]
    lines = [mask(line) for line in _render(session, message)]
    return Entry(message, case_id, number, mask(_target(message.payload)), lines, mask(message.last_error))


def _render(session: Session, message: OutboxMessage) -> list[str]:
    """The message's Chinese lines with its personal values (masked by name and phone fields), as it was sent."""
    try:
        personal = outbox_personal.resolve(session, message.case_id, message.payload)
    except outbox_personal.PersonalDataMissing:
        personal = None  # the case or its text is gone: the lines say where the value would have been read
    return outbox_text.render(message.channel, message.kind, message.payload, personal)


def _target(payload: dict[str, Any]) -> str:
    """The addressee's readable name (new payloads), or the role or target of an old one."""
    to = payload.get("to")
    if isinstance(to, dict) and to.get("name"):
        return str(to["name"])
    return str(payload.get("target") or payload.get("to_role") or "")
