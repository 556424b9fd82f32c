"""Service tasks (服务任务) calling registered handlers inside a command, with a savepoint only where one is needed.

A handler that fails must leave none of its writes behind, so that the command can still save the instance in
error with a retry (an incident once retries run out). Two cases need no savepoint for that, and skip its two
round trips (SAVEPOINT, RELEASE):

- a start (`CommandContext.new`): a handler failing there fails the whole start, and its transaction rolls back
  (`commands._start` raises InvalidState), so nothing of the failing handler can stand;
- a handler declared `writes=False`: it has nothing to roll back. A database error inside it leaves a PostgreSQL
  transaction unusable, though; the command then fails, and `Runtime.run` runs it once more with every handler in
  a savepoint (`CommandContext.guard_all`), which ends as before: the instance in error with its retry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from processes import engine
from processes.runtime.context import CommandContext
from processes.runtime.handler_api import HandlerContext
from processes.runtime.handler_api import HandlerError
from processes.runtime.handler_api import HandlerSpec


class UnguardedReadFailed(Exception):
    """A handler without a savepoint hit a database error and the command failed: run it again, guarded."""


def needs_savepoint(ctx: CommandContext, spec: HandlerSpec) -> bool:
    """Return whether a handler's call must be wrapped in a savepoint of its own in this command."""
    return ctx.guard_all or (spec.writes and not ctx.new)


def call_handler(ctx: CommandContext, handlers: Mapping[str, HandlerSpec], name: str, params: dict[str, Any],
                 task: Any, now: Any) -> str:
    """Call the handler registered as `name` for a service task; return its JSON result."""
    spec = handlers.get(name)
    if spec is None:
        raise HandlerError(f"no handler registered as {name!r}")
    session = ctx.session
    events: list[tuple[str, dict[str, Any]]] = []
    context = HandlerContext(session, ctx.row.id, ctx.row.case_id, ctx.actor, now,
                             str(task.task_spec.bpmn_id or ""), str(task.id),
                             lambda kind, **detail: events.append((kind, detail)))
    if needs_savepoint(ctx, spec):
        with session.begin_nested():  # a failing handler leaves no partial writes behind
            result = engine.dumps_result(spec.fn(context, **params))
    else:
        try:
            result = engine.dumps_result(spec.fn(context, **params))
        except SQLAlchemyError:
            ctx.unguarded_db_error = True  # the transaction may be unusable: see UnguardedReadFailed
            raise
    for kind, detail in events:  # and no history either: recorded once its writes stand
        ctx.record(kind, **detail)
    return result
