"""The case search (工单查询) as SQL, always inside the user's reach, and its result rows with the requester masked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers.casework import FINISHED
from processes.accounts import pii
from processes.cases import access
from processes.cases.access import Viewer
from processes.cases.models import Case
from processes.cases.models import Requester
from processes.cases.personal import read_requester
from processes.runtime.models import HumanTask
from webapp import deadlines
from webapp.search.criteria import Criteria
from webapp.timefmt import LOCAL
from webapp.timefmt import local_time
from webapp.workspace import Countdown
from webapp.workspace import countdown

PAGE_SIZE = 20
ESCAPE = "/"


@dataclass(frozen=True)
class Row:
    """One found case as lists and exports show it (no full phone, name or address)."""

    case_id: str
    number: str
    created: str
    channel: str
    category: str
    township: str
    status: str
    lead: str
    deadline: Countdown | None  # the live countdown of an open case, the verdict of a finished one
    requester: str
    due: datetime | None = None  # the deadline itself (exports write it as an ISO date-time)


def escape_like(text: str) -> str:
    """Return text for a LIKE pattern with % and _ taken literally (escape character /)."""
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def like(text: str) -> str:
    """Return a LIKE pattern matching the text anywhere."""
    return f"%{escape_like(text)}%"


def _start_of(day: date) -> datetime:
    """Midnight of a Beijing calendar day."""
    return datetime.combine(day, time(0), LOCAL)


def conditions(criteria: Criteria, viewer: Viewer) -> list[sa.ColumnElement[bool]]:
    """Return the WHERE conditions of a search; the first is always the user's reach (access.case_filter)."""
    found: list[sa.ColumnElement[bool]] = [access.case_filter(viewer)]
    c = criteria
    if c.number:
        found.append(Case.number.like(escape_like(c.number) + "%", escape=ESCAPE))  # the full number or its first part
    if c.phone_mode is not None:
        by = Requester.phone_index == pii.cipher().phone_index(c.phone) if c.phone_mode == "exact" \
            else Requester.phone_last4 == c.phone
        found.append(Case.requester_id.in_(sa.select(Requester.id).where(by)))
        if not viewer.office:  # a unit must not learn who reported a confidential case (举报人保密)
            found.append(sa.not_(sa.func.coalesce(Case.flags["confidential"].as_boolean(), sa.false())))
    if c.address:
        found.append(Case.location.ilike(like(c.address), escape=ESCAPE))
    if c.text:
        found.append(sa.or_(Case.title.ilike(like(c.text), escape=ESCAPE),
                            Case.content.ilike(like(c.text), escape=ESCAPE)))
    if c.date_from:
        found.append(Case.created_at >= _start_of(c.date_from))
    if c.date_to:
        found.append(Case.created_at < _start_of(c.date_to + timedelta(days=1)))
    if c.status == "open":
        found.append(Case.status.not_in(FINISHED))
    elif c.status == "finished":
        found.append(Case.status.in_(FINISHED))
    elif c.status:
        found.append(Case.status == c.status)
    for column, value in ((Case.channel, c.channel), (Case.township, c.township),
                          (Case.lead_department, c.department)):
        if value:
            found.append(column == value)
    return found


def count(db: Session, criteria: Criteria, viewer: Viewer) -> int:
    """Return how many cases match."""
    return int(db.scalar(sa.select(sa.func.count()).select_from(Case).where(*conditions(criteria, viewer))) or 0)


def cases(db: Session, criteria: Criteria, viewer: Viewer, *, limit: int, offset: int = 0) -> list[Case]:
    """Return matching cases, newest first."""
    query = sa.select(Case).where(*conditions(criteria, viewer))
    return list(db.scalars(query.order_by(Case.created_at.desc(), Case.number.desc()).limit(limit).offset(offset)))


def rows(db: Session, viewer: Viewer, found: list[Case], units: dict[str, str], now: datetime) -> list[Row]:
    """Return found cases as rows; the requester masked (138****5678), or hidden from units when confidential."""
    ids = [c.requester_id for c in found if c.requester_id]
    requesters = {r.id: r for r in db.scalars(sa.select(Requester).where(Requester.id.in_(ids)))} if ids else {}
    task_due = _task_deadlines(db, [c.id for c in found])
    stages = deadlines.stage_times(db, [c for c in found if c.status in FINISHED])
    out = []
    for case in found:
        requester = requesters.get(case.requester_id or "")
        if requester is None:
            who = ""
        elif access.shielded(viewer, case):
            who = access.CONFIDENTIAL_TEXT
        else:
            plain = read_requester(requester)
            who = " ".join(p for p in (pii.mask_name(plain["name"]), pii.mask_phone(plain["phone"])) if p)
        if case.status in FINISHED:  # its verdict (按时 / 超期 …), never a countdown still running
            due, shown = case.deadline, deadlines.case_deadline(case, stages.get(case.id, []), now)
        else:
            dues = [d for d in (case.deadline, task_due.get(case.id), case.upstream_deadline) if d is not None]
            due = min(dues) if dues else None
            shown = countdown(due, now, case.warning_level)
        out.append(Row(case.id, case.number, local_time(case.created_at), case.channel, case.category or "",
                       units.get(case.township or "", case.township or ""), case.status,
                       units.get(case.lead_department or "", case.lead_department or ""), shown, who, due))
    return out


def _task_deadlines(db: Session, case_ids: list[str]) -> dict[str, datetime]:
    """Return the earliest deadline of each case's open tasks (签收 before the handling deadline is set)."""
    if not case_ids:
        return {}
    rows = db.execute(sa.select(HumanTask.case_id, sa.func.min(HumanTask.due_at)).where(
        HumanTask.case_id.in_(case_ids), HumanTask.status == "open", HumanTask.due_at.is_not(None))
        .group_by(HumanTask.case_id))
    return {str(case_id): due for case_id, due in rows if due is not None}
