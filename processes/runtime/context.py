"""One command while its transaction is open (`CommandContext`), and what it tells its caller afterwards
(`CommandOutcome`) and, inside the transaction, the caller's own writes (`CommandSummary`, `Also`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any
from typing import Generic
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from processes.runtime.projections import Projection
from processes.runtime.statements import Writes

T = TypeVar("T")


@dataclass(frozen=True)
class CommandOutcome(Generic[T]):
    """What a command returned, and the instance's status and version after it."""

    value: T | None
    status: str
    version: int


@dataclass(frozen=True)
class CommandSummary:
    """What a caller's `also` writer learns of the command whose transaction it writes into."""

    instance_id: str
    case_id: str | None
    status: str  # the instance's status after the command
    case_number: str | None = None  # set by the commands that open or start on a case (open_case, start)


# The caller's own writes (its audit row), run last in a command's transaction, just before it commits (REL-02).
Also = Callable[[Connection, CommandSummary], object]


@dataclass
class CommandContext:
    """State of one command while its transaction is open."""

    conn: Connection
    row: Any
    workflow: Any
    actor: str
    now: datetime
    projection: Projection
    history: list[dict[str, Any]] = field(default_factory=list)
    completed_by_actor: set[str] = field(default_factory=set)
    status: str | None = None  # set by suspend / terminate / resume
    failed: str | None = None
    after_save: list[Callable[[Connection], object]] = field(default_factory=list)  # the body's own later writes
    also: Also | None = None  # the caller's writes, after everything else (`Runtime.save`)
    case_number: str | None = None  # the case's number, for the summary `also` receives
    saved_status: str | None = None
    new: bool = False  # a start: the instance row is inserted, not updated
    writes: Writes = field(default_factory=Writes)  # sent together when the history is written
    guard_all: bool = False  # every handler in a savepoint, read-only ones too (service_calls)
    unguarded_db_error: bool = False  # a handler without a savepoint hit a database error
    _session: Session | None = None

    @property
    def session(self) -> Session:
        """An ORM session on the command's connection and transaction, made only when something needs one."""
        if self._session is None:
            self._session = Session(bind=self.conn, expire_on_commit=False)
        return self._session

    def close(self) -> None:
        """Flush and close the ORM session, if one was made (the transaction stays the command's)."""
        if self._session is not None:
            # Joined to our connection's transaction, commit() only flushes: the command commits at the end.
            self._session.commit()
            self._session.close()

    def record(self, kind: str, **detail: Any) -> None:
        """Append a history event (names of changed fields, never their values)."""
        fields = detail.pop("fields", [])
        task_id, bpmn_id = detail.pop("task_id", None), detail.pop("bpmn_id", None)
        dedupe_key = detail.pop("dedupe_key", None)
        self.history.append({"kind": kind, "fields": fields, "task_id": task_id, "bpmn_id": bpmn_id,
                             "detail": detail, "dedupe_key": dedupe_key})
