"""The case search (工单查询) as SQL, always inside the user's reach, and its result rows with the requester masked."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import replace
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
from webapp import deadlines
from webapp.search import keyset
from webapp.search.criteria import NO_DEPARTMENT
from webapp.search.criteria import SOURCE_CHANNELS
from webapp.search.criteria import Criteria
from webapp.timefmt import LOCAL
from webapp.timefmt import local_time
from webapp.workspace import RED_SECONDS
from webapp.workspace import YELLOW_SECONDS
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


Time = sa.ColumnElement[datetime | None]


def open_case() -> sa.ColumnElement[bool]:
    """An open case: its status not one of the finished ones, spelled as the partial index ix_hotline_case_open is.

    The list is written into the SQL (not bound), so PostgreSQL's planner can prove the index's predicate for any
    plan, generic or not.
    """
    return Case.status.not_in(sa.bindparam("finished", FINISHED, expanding=True, literal_execute=True,
                                                 unique=True))


def due_expr() -> Time:
    """An open case's deadline as its rows show it: the earliest of its own, its open tasks' and upstream's.

    That is the stored column effective_due (有效时限, migration 0028), which the database computes from the
    three whenever one changes, in the same statement: the drill-down sorts by it through an index.
    """
    return Case.effective_due.expression


def light_expr(now: datetime, due: Time | None = None,
               level: sa.ColumnElement[str] | None = None) -> sa.ColumnElement[str]:
    """An open case's light as webapp.workspace.countdown colours it: overdue, red, yellow, green, or none.

    The same rule as the countdown: overdue once the deadline has passed; red with at most two hours left or a red
    warning level; yellow with at most a day left or a yellow level; green otherwise; none without a deadline.
    `due` and `level` are the deadline and warning level already selected (the board's subquery), else the case's.
    """
    due = due_expr() if due is None else due
    level = sa.func.coalesce(Case.warning_level if level is None else level, "none")
    return sa.case(
        (due.is_(None), "none"),
        (due < now, "overdue"),
        (sa.or_(due <= now + timedelta(seconds=RED_SECONDS), level == "red"), "red"),
        (sa.or_(due <= now + timedelta(seconds=YELLOW_SECONDS), level == "yellow"), "yellow"),
        else_="green")


def light_condition(now: datetime, light: str) -> sa.ColumnElement[bool]:
    """The open cases of one light, as light_expr colours them, written as ranges of the deadline.

    The same rule as light_expr, but the planner sees `effective_due >= now` and the like, so it estimates the
    rows and walks ix_hotline_case_open_due from the right place instead of sorting every open case (0028).
    """
    due, level = due_expr(), sa.func.coalesce(Case.warning_level, "none")
    if light == "none":
        return due.is_(None)
    if light == "overdue":
        return due < now
    red = sa.or_(due <= now + timedelta(seconds=RED_SECONDS), level == "red")
    yellow = sa.or_(due <= now + timedelta(seconds=YELLOW_SECONDS), level == "yellow")
    colours = {"red": red, "yellow": sa.and_(sa.not_(red), yellow), "green": sa.and_(sa.not_(red), sa.not_(yellow))}
    if light not in colours:
        raise ValueError(f"no such light: {light!r}")
    return sa.and_(due >= now, colours[light])


def due_by(window: str, now: datetime) -> datetime:
    """The end of the Beijing day (today) or week (week: through Sunday) that `now` falls in."""
    day = now.astimezone(LOCAL).date() + timedelta(days=1)
    if window == "week":
        day += timedelta(days=6 - now.astimezone(LOCAL).weekday())
    return _start_of(day)


def open_stage(stage: str) -> sa.ColumnElement[bool]:
    """The cases with an open task of this BPMN id (签收 sign_for, 办理 reply, 审核 review …).

    One word of the case's open_stages, the column the board counts stages by (processes/runtime/case_due.py): the
    drill-down then lists exactly the board's cases, from ix_hotline_case_open_due alone (a join to the open tasks
    took 0.2 s per count and per page at 1,000,000 cases).
    """
    word, stages = escape_like(stage), Case.open_stages
    # spelled out (not one LIKE over a padded string) so the planner estimates it from the column's statistics
    return sa.or_(stages == stage, stages.like(f"{word} %", escape=ESCAPE), stages.like(f"% {word}", escape=ESCAPE),
                  stages.like(f"% {word} %", escape=ESCAPE))


def conditions(criteria: Criteria, viewer: Viewer, now: datetime | None = None) -> list[sa.ColumnElement[bool]]:
    """Return the WHERE conditions of a search; the first is always the user's reach (access.case_filter).

    A light (and a stage) means open cases only; the light needs the time it is judged at (`now`).
    """
    found: list[sa.ColumnElement[bool]] = [access.case_filter(viewer)]
    c = criteria
    if _open_only(c):  # once: PostgreSQL multiplies a repeated condition's selectivity (a stage's page: 24 rows
        found.append(open_case())  # estimated of 7,500, so it sorted them all instead of walking the index)
    if c.light:
        if now is None:
            raise ValueError("a light filter needs the time it is judged at")
        found.append(light_condition(now, c.light))
    if c.stage:
        found.append(open_stage(c.stage))
    if c.due:
        if now is None:
            raise ValueError("a due filter needs the time it is judged at")
        found += [due_expr() >= now, due_expr() < due_by(c.due, now)]
    if c.department == NO_DEPARTMENT:
        found.append(Case.lead_department.is_(None))
        c = replace(c, department="")
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
    if c.source:
        found.append(Case.channel.in_(SOURCE_CHANNELS[c.source]))
    if c.status == "finished":
        found.append(Case.status.in_(FINISHED))
    elif c.status and c.status != "open":  # open: the condition added first
        found.append(Case.status == c.status)
    for column, value in ((Case.channel, c.channel), (Case.township, c.township),
                          (Case.lead_department, c.department), (Case.request_type, c.request_type),
                          (Case.urgency, c.urgency)):
        if value:
            found.append(column == value)
    return found


def count(db: Session, criteria: Criteria, viewer: Viewer, now: datetime | None = None) -> int:
    """Return how many cases match."""
    return int(db.scalar(sa.select(sa.func.count()).select_from(Case).where(*conditions(criteria, viewer, now)))
               or 0)


def cases(db: Session, criteria: Criteria, viewer: Viewer, *, limit: int, offset: int = 0,
          now: datetime | None = None, after: keyset.Cursor | None = None) -> list[Case]:
    """Return matching cases, newest first, or by deadline (sort=deadline: soonest first, finished and none last).

    Open cases by deadline (the board's drill-down) are keyset pages of ix_hotline_case_open_due: `after` the
    cursor of the previous page's last case when given (webapp/search/keyset.py).
    """
    if keyset_paged(criteria):
        return keyset.cases(db, conditions(criteria, viewer, now), limit=limit, offset=offset, after=after)
    query = sa.select(Case).where(*conditions(criteria, viewer, now))
    if criteria.sort == "deadline":
        due = sa.case((Case.status.in_(FINISHED), None), else_=due_expr())
        query = query.order_by(due.is_(None), due)
    return list(db.scalars(query.order_by(Case.created_at.desc(), Case.number.desc()).limit(limit).offset(offset)))


def keyset_paged(criteria: Criteria) -> bool:
    """Whether the search pages by cursor: open cases by deadline, in the order of ix_hotline_case_open_due (0028)."""
    return criteria.sort == "deadline" and _open_only(criteria)


def _open_only(criteria: Criteria) -> bool:
    """Whether the criteria keep open cases only (status, light, stage or due window), whose deadline is their own."""
    return criteria.status == "open" or bool(criteria.light or criteria.stage or criteria.due)


def rows(db: Session, viewer: Viewer, found: list[Case], units: dict[str, str], now: datetime) -> list[Row]:
    """Return found cases as rows; the requester masked (138****5678), or hidden from units when confidential."""
    ids = [c.requester_id for c in found if c.requester_id]
    requesters = {r.id: r for r in db.scalars(sa.select(Requester).where(Requester.id.in_(ids)))} if ids else {}
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
            dues = [d for d in (case.deadline, case.open_task_due, case.upstream_deadline) if d is not None]
            due = min(dues) if dues else None
            shown = countdown(due, now, case.warning_level)
        out.append(Row(case.id, case.number, local_time(case.created_at), case.channel, case.category or "",
                       units.get(case.township or "", case.township or ""), case.status,
                       units.get(case.lead_department or "", case.lead_department or ""), shown, who, due))
    return out
