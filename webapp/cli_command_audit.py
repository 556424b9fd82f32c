"""The audit row of a CLI case command, written inside the command's own transaction (REL-02, AUD-01).

`audited` (webapp.cli_support) writes a failure row on its own when the command raises; on success the row is
written here, last in the command's transaction, so the change and its row commit together or not at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from processes.cases.models import Case
from processes.runtime.command_hooks import CommandSummary
from processes.runtime.command_hooks import before_commit
from processes.runtime.models import HistoryEvent
from webapp.cli_support import AuditNote

After = Callable[[Connection, CommandSummary], dict[str, Any]]


def in_command(note: AuditNote, after: After | None = None) -> AbstractContextManager[None]:
    """Write the note's success row in the transaction of the command run in this block, just before it commits.

    `after(conn, summary)` gives the after-summary (status, case number) from inside that transaction. The note
    itself is left as it was, so a failure row written later holds nothing of a rolled-back attempt.
    """

    def write(conn: Connection, summary: CommandSummary) -> None:
        row = dataclasses.replace(note, object_id=note.object_id or summary.instance_id,
                                  after=after(conn, summary) if after is not None else note.after)
        row.write(conn)
        note.written = True

    return before_commit(write)


def also(note: AuditNote) -> Callable[[Connection], None]:
    """Return an `also` writer (commands that take one) putting the note's success row in their transaction."""

    def write(conn: Connection) -> None:
        note.write(conn)

    return write


def status_after(_conn: Connection, summary: CommandSummary) -> dict[str, Any]:
    """Return the instance's status after the command."""
    return {"status": summary.status}


def opened(conn: Connection, summary: CommandSummary) -> dict[str, Any]:
    """Return the status of a started instance and its case number, read inside the command's transaction."""
    number = conn.scalar(sa.select(Case.number).where(Case.id == summary.case_id)) if summary.case_id else None
    return {"status": summary.status, "case_number": number}


def rescheduled(conn: Connection, summary: CommandSummary) -> dict[str, Any]:
    """Return how many timers the command moved (its history event was written earlier in the transaction)."""
    detail = conn.scalar(sa.select(HistoryEvent.detail).where(
        HistoryEvent.instance_id == summary.instance_id, HistoryEvent.kind == "timers_rescheduled")
        .order_by(HistoryEvent.id.desc()).limit(1))
    return {"rescheduled": len((detail or {}).get("timers", [])), "status": summary.status}
