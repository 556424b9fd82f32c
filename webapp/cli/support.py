"""Helpers shared by the `hotline` command modules: friendly errors, audit rows (AUD-01) and time parsing.

`audited` writes a failure row on its own when a command raises; on success a case command's row is written by the
`also` writer of `in_command`, last in the command's own transaction, so the change and its row commit together or
not at all (REL-02).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any
from typing import TypeVar
from typing import cast

import click
import sqlalchemy as sa
from flask import current_app
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from processes.audit import record as audit
from processes.engine.validation.engine_errors import from_exception
from processes.errors import DefinitionInvalid
from processes.errors import RuntimeErrorBase
from processes.runtime.context import Also
from processes.runtime.context import CommandSummary
from processes.runtime.models import HistoryEvent
from webapp import runtime_of

F = TypeVar("F", bound=Callable[..., Any])
After = Callable[[Connection, CommandSummary], dict[str, Any]]


def friendly_errors(fn: F) -> F:
    """Turn runtime errors into a one-line message and exit status 1, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DefinitionInvalid as exc:  # a diagram's problem in words, as `hotline validate` says it
            raise click.ClickException(from_exception(exc, {}).one_line()) from exc
        except RuntimeErrorBase as exc:
            raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc

    return cast(F, wrapper)


@dataclass
class AuditNote:
    """The audit row of one command: written in the change's transaction (`write`), else right after it."""

    action: str
    actor: str
    object_type: str | None = None
    object_id: str | None = None
    after: dict[str, Any] | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # the cause to record when the command fails (default: the exception's type)
    written: bool = False

    def write(self, conn: Connection | Session, result: str = "success") -> None:
        """Insert the row in the caller's transaction."""
        audit.record(conn, action=self.action, actor=self.actor, result=result, at=runtime_of(current_app).clock(),
                     object_type=self.object_type, object_id=self.object_id, after=self.after,
                     detail={"via": "cli", **self.detail} | ({"error": self.error} if self.error else {}))
        self.written = True

    def write_alone(self, result: str) -> None:
        """Insert the row in a transaction of its own (the command ran its own, or failed)."""
        try:
            with runtime_of(current_app).write() as session, session.begin():
                self.write(session, result)
        except audit.AuditRefused:
            # The command already ran (or failed), so its row must exist: drop the summaries that were refused.
            self.after, self.detail = None, {"summary": "refused: held personal data"}
            with runtime_of(current_app).write() as session, session.begin():
                self.write(session, result)


@contextmanager
def audited(action: str, *, actor: str, object_type: str | None = None, object_id: str | None = None,
            skip: bool = False, **detail: Any) -> Iterator[AuditNote]:
    """Audit one CLI command: success after it (unless the body wrote the row itself), failure when it raises.

    Failures record the error's type, never its message, which may quote input. `skip` audits nothing (dry runs).
    """
    note = AuditNote(action, actor, object_type, object_id, detail=dict(detail), written=skip)
    try:
        yield note
    except Exception as exc:
        note.error = note.error or type(exc).__name__
        if not skip:
            note.write_alone("failure")
        raise
    if not note.written:
        note.write_alone("success")


def parse_when(text: str, *, end: bool = False, dates: bool = False) -> datetime:
    """Parse an ISO time with a zone; with `dates`, also a bare date (a whole UTC day; with `end`, the day after)."""
    try:
        if dates and len(text) == 10:
            start = datetime.combine(date.fromisoformat(text), time(), UTC)
            return start + timedelta(days=1) if end else start
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO {'date or ' if dates else ''}time: {text}") from exc
    if value.tzinfo is None:
        raise click.BadParameter("give a time zone, e.g. 2026-12-01T17:00:00+08:00")
    return value


def in_command(note: AuditNote, after: After | None = None) -> Also:
    """Return an `also` writer putting the note's success row last in the command's transaction.

    `after(conn, summary)` gives the after-summary (status, case number) from inside that transaction. The note
    itself is left as it was, so a failure row written later holds nothing of a rolled-back attempt.
    """

    def write(conn: Connection, done: CommandSummary) -> None:
        row = dataclasses.replace(note, object_id=note.object_id or done.instance_id,
                                  after=after(conn, done) if after is not None else note.after)
        row.write(conn)
        note.written = True

    return write


def status_after(_conn: Connection, done: CommandSummary) -> dict[str, Any]:
    """Return the instance's status after the command."""
    return {"status": done.status}


def opened(_conn: Connection, done: CommandSummary) -> dict[str, Any]:
    """Return the status of a started instance and its case number."""
    return {"status": done.status, "case_number": done.case_number}


def rescheduled(conn: Connection, done: CommandSummary) -> dict[str, Any]:
    """Return how many timers the command moved (its history event was written earlier in the transaction)."""
    detail = conn.scalar(sa.select(HistoryEvent.detail).where(
        HistoryEvent.instance_id == done.instance_id, HistoryEvent.kind == "timers_rescheduled")
        .order_by(HistoryEvent.id.desc()).limit(1))
    return {"rescheduled": len((detail or {}).get("timers", [])), "status": done.status}
