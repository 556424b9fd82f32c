"""The `setting` table read once per transaction (系统参数缓存): one SELECT instead of one per `get_setting`.

A registration reads office hours, emergency mode and the yellow-light shares several times over (duty
assignment, deadlines); the rows are kept in the session's `info` and dropped when its transaction ends (commit,
rollback, close), when a rollback undoes a savepoint, and when the session writes a setting (a flush of `Setting`
rows, or an INSERT/UPDATE/DELETE on the table through the session), so a change made earlier in the same
transaction is seen.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session
from sqlalchemy.orm import SessionTransaction
from sqlalchemy.orm import UOWTransaction

from processes.reference.models import Setting

KEY = "hotline.settings"
_ALL = sa.select(Setting.name, Setting.value)
_TABLE = Setting.__tablename__


def stored_settings(session: Session) -> dict[str, str]:
    """Return the stored settings by name, read from the database once per transaction of this session."""
    if _writes_pending(session):
        if not session.autoflush:  # inside no_autoflush: what the database holds now, not kept
            return {name: value for name, value in session.execute(_ALL)}
        session.flush()  # as the autoflush of a SELECT would; the flush drops the old rows
    cached: dict[str, str] | None = session.info.get(KEY)
    if cached is None:
        cached = {name: value for name, value in session.execute(_ALL)}
        session.info[KEY] = cached
    return cached


def forget(session: Session) -> None:
    """Drop the cached settings of a session (the next read goes to the database)."""
    session.info.pop(KEY, None)


def _writes_pending(session: Session) -> bool:
    """Return whether the session holds unflushed Setting changes."""
    return any(isinstance(obj, Setting) for obj in (*session.new, *session.dirty, *session.deleted))


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    """Forget at the end of the session's own transaction (a savepoint's release keeps what was read)."""
    if transaction.parent is None:
        forget(session)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous: SessionTransaction) -> None:
    """Forget on any rollback, a savepoint's too: it may have undone a setting written in it."""
    forget(session)


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, flush: UOWTransaction) -> None:
    """Forget when the flush wrote Setting rows."""
    if _writes_pending(session):
        forget(session)


@event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    """Forget before an INSERT, UPDATE or DELETE on the setting table through the session."""
    table = getattr(state.statement, "table", None)  # ORM statements carry an annotated copy of the Table
    if not state.is_select and getattr(table, "name", None) == _TABLE:
        forget(state.session)

