"""The instance list (流程实例): search by process, version, status, case number and dates, paged by keyset.

Only the columns a row shows are selected: never the snapshot or the projection, so a page costs the same over a
hundred instances or a million. Paging goes by (created_at, id) after the last row shown, never by OFFSET.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from processes.cases.access import Viewer
from processes.cases.access import case_filter
from processes.cases.models import Case
from processes.parsing import whole_number
from processes.runtime.models import ProcessDefinition
from processes.runtime.models import ProcessInstance

OFFICE_TZ = ZoneInfo("Asia/Shanghai")
STATUSES = ("running", "waiting", "error", "suspended", "completed", "terminated")
PAGE_SIZE = 50
KEY_MAX = 64


class BadFilter(ValueError):
    """A filter value the list cannot use; `field` names it (the page answers 400)."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


@dataclass(frozen=True)
class Filters:
    """What the supervisor searches for; dates are office (Beijing) calendar days, both ends included."""

    key: str = ""
    version: int | None = None
    status: str = ""
    number: str = ""
    created_from: date | None = None
    created_to: date | None = None
    updated_from: date | None = None
    updated_to: date | None = None
    after: tuple[datetime, str] | None = None  # the keyset cursor: (created_at, id) of the last row shown


@dataclass(frozen=True)
class Row:
    """One instance as the list shows it."""

    id: str
    process_key: str
    version: int
    status: str
    case_id: str | None
    case_number: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Page:
    """One page of rows and the cursor of the next page (None on the last)."""

    rows: list[Row]
    next_after: str | None


def _date(args: dict[str, str], name: str) -> date | None:
    text = args.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadFilter(name) from None


def parse(args: dict[str, str]) -> Filters:
    """Read the filters from the address; raise BadFilter naming the first value that cannot be used."""
    key, status, number = (args.get(n, "").strip() for n in ("key", "status", "number"))
    if len(key) > KEY_MAX or not all(c.isalnum() or c in "_-." for c in key):
        raise BadFilter("key")
    if status and status not in STATUSES:
        raise BadFilter("status")
    if len(number) > 32:
        raise BadFilter("number")
    version_text = args.get("version", "").strip()
    version = whole_number(version_text, high=999_999)
    if version_text and version is None:
        raise BadFilter("version")
    dates = {name: _date(args, name) for name in ("created_from", "created_to", "updated_from", "updated_to")}
    for low, high in (("created_from", "created_to"), ("updated_from", "updated_to")):
        first, last = dates[low], dates[high]
        if first and last and first > last:
            raise BadFilter(high)
    return Filters(key, version, status, number, dates["created_from"],
                   dates["created_to"], dates["updated_from"], dates["updated_to"], _cursor(args.get("after", "")))


def _cursor(text: str) -> tuple[datetime, str] | None:
    """Read the keyset cursor `<ISO time>~<id>`; a forged or garbled one is a bad filter."""
    if not text:
        return None
    moment, _, instance_id = text.partition("~")
    try:
        at = datetime.fromisoformat(moment)
    except ValueError:
        raise BadFilter("after") from None
    if at.tzinfo is None or not instance_id or len(instance_id) > 36:
        raise BadFilter("after")
    return at.astimezone(UTC), instance_id


def cursor_of(row: Row) -> str:
    """Write the cursor that continues after this row."""
    return f"{row.created_at.astimezone(UTC).isoformat()}~{row.id}"


def _day_start(day: date) -> datetime:
    """The first instant of an office calendar day, in UTC."""
    return datetime.combine(day, time(), OFFICE_TZ).astimezone(UTC)


def _conditions(f: Filters, viewer: Viewer) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if f.key:
        where.append(ProcessInstance.process_key == f.key)
    if f.version is not None:
        where.append(ProcessDefinition.version == f.version)
    if f.status:
        where.append(ProcessInstance.status == f.status)
    if f.number:
        where.append(Case.number == f.number)
    for column, low, high in ((ProcessInstance.created_at, f.created_from, f.created_to),
                              (ProcessInstance.updated_at, f.updated_from, f.updated_to)):
        if low:
            where.append(column >= _day_start(low))
        if high:
            where.append(column < _day_start(high + timedelta(days=1)))
    if not viewer.office:  # a unit's handler: instances of the cases it may open, nothing without a case
        where += [ProcessInstance.case_id.is_not(None), case_filter(viewer)]
    return where


def search(db: Session, f: Filters, viewer: Viewer, *, size: int | None = None) -> Page:
    """Return one page of instances in the viewer's reach, newest first, after the cursor."""
    size = size or PAGE_SIZE
    query = (sa.select(ProcessInstance.id, ProcessInstance.process_key, ProcessDefinition.version,
                       ProcessInstance.status, ProcessInstance.case_id, Case.number, ProcessInstance.created_at,
                       ProcessInstance.updated_at)
             .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
             .outerjoin(Case, Case.id == ProcessInstance.case_id)
             .where(*_conditions(f, viewer)))
    if f.after is not None:
        at, last = f.after
        # a row-value comparison, so PostgreSQL starts the index range at the cursor instead of filtering up to it
        query = query.where(sa.tuple_(ProcessInstance.created_at, ProcessInstance.id)
                            < sa.tuple_(sa.literal(at, ProcessInstance.created_at.type), sa.literal(last)))
    query = query.order_by(ProcessInstance.created_at.desc(), ProcessInstance.id.desc()).limit(size + 1)
    rows = [Row(str(r.id), str(r.process_key), int(r.version), str(r.status), r.case_id, r.number, r.created_at,
                r.updated_at) for r in db.execute(query)]
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, cursor_of(rows[-1]) if more else None)


def process_keys(db: Session) -> list[tuple[str, list[int]]]:
    """Every deployed process key with its versions, for the search form's choices."""
    found: dict[str, list[int]] = {}
    for key, version in db.execute(sa.select(ProcessDefinition.key, ProcessDefinition.version)
                                   .order_by(ProcessDefinition.key, ProcessDefinition.version)):
        found.setdefault(str(key), []).append(int(version))
    return list(found.items())
