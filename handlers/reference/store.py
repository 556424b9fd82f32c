"""Load and export reference tables (参考数据导入导出): one validated file per call, all or nothing.

What an import does to each table:

- calendar: replaces one year (`--year`, `--notice`): the listed days, the rest Mon-Fri; the year becomes official.
- sla, catalogue: replace the whole table (the file is the complete rule set).
- departments, settings: insert or update by key; departments are never deleted (set active=false to retire).
- roster: replaces the rows of the days the file lists.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers.calendar_source import default_day
from handlers.calendar_source import write_year
from handlers.calendar_source import year_days
from handlers.reference.csvio import COLUMNS
from handlers.reference.csvio import ImportRejected
from handlers.reference.csvio import Known
from handlers.reference.csvio import check_calendar
from handlers.reference.csvio import check_rows
from handlers.reference.csvio import check_year
from handlers.reference.csvio import read_rows
from handlers.reference.settings import SETTINGS
from processes.reference.models import CalendarDay
from processes.reference.models import CalendarYear
from processes.reference.models import Department
from processes.reference.models import DispatchRule
from processes.reference.models import DutyRoster
from processes.reference.models import Setting
from processes.reference.models import SlaRule

# Kinds whose change can move deadlines of open cases (working days, limits, yellow-light settings).
DEADLINE_KINDS = frozenset({"calendar", "sla", "settings"})
MAX_NOTICE_CHARS = 200


@dataclass(frozen=True)
class Loaded:
    """What an import loaded (or, in a dry run, would load)."""

    kind: str
    rows: int
    summary: str


def known(session: Session) -> Known:
    """Return the department and township codes in the table."""
    rows = session.execute(sa.select(Department.code, Department.kind, Department.active)).all()
    return Known(frozenset(r.code for r in rows), frozenset(r.code for r in rows if r.active),
                 frozenset(r.code for r in rows if r.kind == "township"))


def load(session: Session, kind: str, text: str, *, actor: str, now: datetime, year: int | None = None,
         notice: str | None = None, dry_run: bool = False) -> Loaded:
    """Validate a CSV text of one kind and write it (unless dry_run); raise ImportRejected, writing nothing."""
    rows = read_rows(kind, text)
    if kind == "calendar":
        if year is None or not 2000 <= year <= 2100:
            raise ImportRejected(["a calendar import needs --year (2000-2100)"])
        if not notice or not notice.strip() or len(notice) > MAX_NOTICE_CHARS:
            raise ImportRejected([f"a calendar import needs --notice, the notice number (≤ {MAX_NOTICE_CHARS} chars)"])
        days = year_days(year, check_calendar(rows, year))
        check_year(days, year)
        if not dry_run:
            write_year(session, year, days, source="notice", notice=notice.strip(), actor=actor, now=now)
        workdays = sum(1 for w, _ in days.values() if w)
        return Loaded(kind, len(rows), f"{year}: {len(rows)} listed days, {workdays} working days ({notice.strip()})")
    values = check_rows(kind, rows, known(session))
    if not dry_run:
        WRITERS[kind](session, values)
        session.flush()
    return Loaded(kind, len(values), f"{len(values)} {kind} rows")


Writer = Callable[[Session, list[dict[str, Any]]], None]


def _replace(model: Any) -> Writer:
    """Return a writer that replaces the whole table."""
    def write(session: Session, values: list[dict[str, Any]]) -> None:
        session.execute(sa.delete(model))
        if values:
            session.execute(sa.insert(model), values)
    return write


def _upsert(model: Any, key: str) -> Writer:
    """Return a writer that inserts or updates rows by key."""
    def write(session: Session, values: list[dict[str, Any]]) -> None:
        for value in values:
            row = session.get(model, value[key])
            if row is None:
                session.add(model(**value))
            else:
                for name, item in value.items():
                    setattr(row, name, item)
    return write


def _write_roster(session: Session, values: list[dict[str, Any]]) -> None:
    """Replace the roster rows of the days the file lists."""
    days = sorted({v["day"] for v in values})
    if days:
        session.execute(sa.delete(DutyRoster).where(DutyRoster.day.in_(days)))
        session.execute(sa.insert(DutyRoster), values)


WRITERS: dict[str, Writer] = {
    "sla": _replace(SlaRule), "catalogue": _replace(DispatchRule), "roster": _write_roster,
    "departments": _upsert(Department, "code"), "settings": _upsert(Setting, "name"),
}


def is_empty(session: Session, kind: str) -> bool:
    """Return True when a table kind has no rows yet (seeding fills only empty tables)."""
    model = {"sla": SlaRule, "catalogue": DispatchRule, "roster": DutyRoster, "departments": Department,
             "settings": Setting, "calendar": CalendarYear}[kind]
    return not session.scalar(sa.select(sa.func.count()).select_from(model))


def export(session: Session, kind: str, year: int | None = None) -> str:
    """Return a table kind as CSV text in the import format (calendar: the days that differ from Mon-Fri)."""
    if kind not in COLUMNS:
        raise ImportRejected([f"unknown kind {kind!r}"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS[kind])
    writer.writerows(_export_rows(session, kind, year))
    return out.getvalue()


def _export_rows(session: Session, kind: str, year: int | None) -> list[list[Any]]:
    """Return the CSV rows of a table kind, in the import format."""
    if kind == "calendar":
        official = set(session.scalars(sa.select(CalendarYear.year)))
        query = sa.select(CalendarDay).order_by(CalendarDay.day)
        if year is not None:
            query = query.where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
        return [[d.day.isoformat(), "true" if d.is_workday else "false", d.reason] for d in session.scalars(query)
                if d.day.year in official and (d.is_workday, d.reason) != default_day(d.day)]
    if kind == "sla":
        rules = session.scalars(sa.select(SlaRule).order_by(SlaRule.stage, SlaRule.source, SlaRule.request_type,
                                                            SlaRule.urgency, SlaRule.complexity)).all()
        return [[r.source, r.request_type, r.urgency, r.complexity, r.stage, r.amount, r.unit, r.note] for r in rules]
    if kind == "catalogue":
        lines = session.scalars(sa.select(DispatchRule).order_by(DispatchRule.category, DispatchRule.township)).all()
        return [[r.category, r.township, r.lead, r.assisting, r.note] for r in lines]
    if kind == "departments":
        units = session.scalars(sa.select(Department).order_by(Department.kind, Department.code)).all()
        return [[d.code, d.name, d.kind, d.township or "", "true" if d.active else "false", d.sms_target or ""]
                for d in units]
    if kind == "roster":
        shifts = session.scalars(sa.select(DutyRoster).order_by(DutyRoster.day, DutyRoster.role,
                                                                DutyRoster.shift_start, DutyRoster.username)).all()
        return [[s.day.isoformat(), s.role, s.username, _clock(s.shift_start), _clock(s.shift_end)] for s in shifts]
    stored = {s.name: s for s in session.scalars(sa.select(Setting))}
    return [[name, stored[name].value if name in stored else spec.default,
             stored[name].note if name in stored and stored[name].note else spec.note]
            for name, spec in sorted(SETTINGS.items())]


def _clock(value: time) -> str:
    """Format a time of day as HH:MM (HH:MM:SS when it has seconds)."""
    return value.isoformat("minutes" if value.second == 0 else "seconds")


def notice_of(session: Session, year: int) -> str | None:
    """Return the notice number a year was loaded from, or None when the year is not official."""
    return session.scalar(sa.select(CalendarYear.notice).where(CalendarYear.year == year))
