"""Writes a caller adds to the transaction of the commands it runs (REL-02): the CLI's audit row commits with
the change it records, or rolls back with it.

`Runtime.save` calls the hook last, after the command's own writes and just before its commit; commands that
write without `save` (claim, release, assign) call `run_before_commit` themselves. The hook lives in a context
variable, so concurrent requests, threads and scheduler jobs never see one another's.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy import Connection


@dataclass(frozen=True)
class CommandSummary:
    """What a hook learns of the command whose transaction it writes into."""

    instance_id: str
    case_id: str | None
    status: str


BeforeCommit = Callable[[Connection, CommandSummary], object]
_HOOK: ContextVar[BeforeCommit | None] = ContextVar("hotline_before_commit", default=None)


@contextmanager
def before_commit(write: BeforeCommit) -> Iterator[None]:
    """Call `write` inside the transaction of each command run in this block, just before it commits."""
    token = _HOOK.set(write)
    try:
        yield
    finally:
        _HOOK.reset(token)


def run_before_commit(conn: Connection, summary: CommandSummary) -> None:
    """Call the hook set by `before_commit`, if any, on the command's connection."""
    hook = _HOOK.get()
    if hook is not None:
        hook(conn, summary)
