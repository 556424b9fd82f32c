"""The drill-down's keyset pages (按时限翻页): open cases by effective deadline, read from ix_hotline_case_open_due.

A list by deadline (sort=deadline over open cases) is ordered as the index is: effective_due (有效时限, none last),
then the newest first. Its page reads the numbers alone, which are in the index's key, so PostgreSQL walks the
index without the table (an index-only scan, whatever it guesses about a stage or light: selecting whole rows it
sorted all 7,500 cases of a stage), then loads those 20 cases. The next page starts after the last case shown (a
cursor), not after skipping the pages before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.cases.models import Case
from processes.parsing import whole_number

SEPARATOR = "~"
MAX_PAGE = 10_000


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after this case (its deadline, creation time and number); `page` is its number."""

    page: int
    due: datetime | None
    created: datetime
    number: str


def token(page: int, case: Case) -> str:
    """The cursor of the page after `case` (the last one shown), as the 下一页 button sends it."""
    due = case.effective_due.isoformat() if case.effective_due else ""
    return SEPARATOR.join((str(page), due, case.created_at.isoformat(), case.number))


def read(text: str | None) -> Cursor | None:
    """A cursor from the address, or None for anything else (then the page number counts)."""
    parts = (text or "").split(SEPARATOR)
    if len(parts) != 4:
        return None
    page = whole_number(parts[0], low=2, high=MAX_PAGE)
    try:
        due = datetime.fromisoformat(parts[1]) if parts[1] else None
        created = datetime.fromisoformat(parts[2])
    except ValueError:
        return None
    if page is None or not parts[3] or any(t is not None and t.tzinfo is None for t in (due, created)):
        return None
    return Cursor(page, due, created, parts[3])


def cases(db: Session, where: Sequence[sa.ColumnElement[bool]], *, limit: int, offset: int = 0,
          after: Cursor | None = None) -> list[Case]:
    """One page of open cases by deadline: after the cursor if given, else after `offset` cases."""
    numbers = _numbers(db, where, limit, offset, after)
    found = {case.number: case for case in db.scalars(sa.select(Case).where(Case.number.in_(numbers)))}
    return [found[number] for number in numbers if number in found]


def _numbers(db: Session, where: Sequence[sa.ColumnElement[bool]], limit: int, offset: int,
             after: Cursor | None) -> list[str]:
    """The page's case numbers in the index's order (deadline, none last; then newest first)."""
    due, newest = Case.effective_due, (Case.created_at.desc(), Case.number.desc())
    if after is None:
        query = sa.select(Case.number).where(*where).order_by(due.asc().nulls_last(), *newest)
        return list(db.scalars(query.limit(limit).offset(offset)))
    tie = sa.tuple_(Case.created_at, Case.number) < sa.tuple_(sa.literal(after.created, Case.created_at.type),
                                                                 sa.literal(after.number))
    found: list[str] = []
    if after.due is not None:  # the rest of the dated cases, from the cursor's deadline on (an index range)
        dated = sa.and_(due >= after.due, sa.or_(due > after.due, tie))
        found = list(db.scalars(sa.select(Case.number).where(*where, dated).order_by(due.asc(), *newest)
                                .limit(limit)))
    if len(found) < limit:  # then the cases without a deadline, last
        undated = [due.is_(None)] + ([tie] if after.due is None else [])
        found += db.scalars(sa.select(Case.number).where(*where, *undated).order_by(*newest)
                            .limit(limit - len(found)))
    return found
