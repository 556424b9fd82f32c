"""Case numbers (工单编号): DT, the day and a running number (DT20261125-0001), from a per-day counter row.

Registration increments the day's `case_number_counter` row in the case's own transaction: a rolled-back
registration gives its number back, and two registrations at once are ordered by the row's lock (PostgreSQL) or
the database's write lock (SQLite), so numbers are distinct and consecutive. A day without a row starts after the
highest number its cases already hold (cases written without the counter: an older database, `hotline seed-load`).
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from processes.cases.models import Case
from processes.cases.models import CaseNumberCounter
from processes.clock import office_date_text

PREFIX = "DT"
_COUNTER = CaseNumberCounter
_BUMP = (sa.update(_COUNTER).where(_COUNTER.day == sa.bindparam("d"))
         .values(last_number=_COUNTER.last_number + 1).returning(_COUNTER.last_number))


def day_of(now: datetime) -> str:
    """Return the day part of a number given at `now` (20261125): the office's day, Beijing time, not UTC's."""
    return office_date_text(now)


def format_number(day: str, running: int) -> str:
    """Return the case number of a day's running number (DT20261125-0001)."""
    return f"{PREFIX}{day}-{running:04d}"


def next_number(session: Session, now: datetime) -> str:
    """Take the day's next case number in the session's transaction (the counter row stays locked until it ends)."""
    day = day_of(now)
    running = session.execute(_BUMP, {"d": day}).scalar()
    if running is None:  # the day's first number here: start after what its cases hold
        start = highest_used(session.connection(), day) + 1
        running = session.execute(_upsert(session.connection(), {day: start}, bump=True)).scalar()
    return format_number(day, int(running or 0))


def running_part(number: str, day: str) -> int | None:
    """Return the running number of a well-formed number of `day` (DT20261125-0042 -> 42), else None."""
    head = f"{PREFIX}{day}-"
    tail = number[len(head):]
    if not number.startswith(head) or not tail.isascii() or not tail.isdigit() or len(tail) > 9:
        return None
    return int(tail)


def highest_used(conn: sa.Connection, day: str) -> int:
    """Return the highest running number the day's cases hold (0 when none)."""
    numbers = conn.scalars(sa.select(Case.number).where(Case.number.like(f"{PREFIX}{day}-%")))
    return max((n for n in (running_part(str(v), day) for v in numbers) if n is not None), default=0)


def catch_up(conn: sa.Connection, days: Iterable[str]) -> None:
    """Move the days' counters up to the highest number their cases hold (after a collision or a bulk load)."""
    used = {day: highest_used(conn, day) for day in set(days)}
    record_used(conn, {day: last for day, last in used.items() if last > 0})


def record_used(conn: sa.Connection, last_by_day: Mapping[str, int]) -> None:
    """Raise each day's counter to at least the given last number (rows written outside registration)."""
    if last_by_day:
        conn.execute(_upsert(conn, last_by_day, bump=False))


def _upsert(conn: sa.Connection, values: Mapping[str, int], *, bump: bool) -> sa.Executable:
    """INSERT the days' counters; on an existing row add one (`bump`, RETURNING it) or keep the larger value."""
    insert = (postgresql.insert(_COUNTER) if conn.dialect.name == "postgresql" else sqlite.insert(_COUNTER)).values(
        [{"day": day, "last_number": last} for day, last in values.items()])
    current = _COUNTER.last_number
    if bump:
        return insert.on_conflict_do_update(index_elements=["day"], set_={"last_number": current + 1}).returning(
            _COUNTER.last_number)
    larger = sa.case((insert.excluded.last_number > current, insert.excluded.last_number), else_=current)
    return insert.on_conflict_do_update(index_elements=["day"], set_={"last_number": larger})
