"""The worklist query (待办查询): tabs, filters, sort and paging over the `human_task` projection joined to cases.

Every filter value is checked against the known codes (渠道、类型、紧急程度、状态, townships and units from the
reference table); an unknown one is a 400 with a message, never an error page. Rows carry no personal data: the
case's category and title (with phone and ID numbers masked), never the requester.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from werkzeug.exceptions import BadRequest

from processes.cases import access
from processes.cases.access import Viewer
from processes.cases.models import Case
from processes.cases.numbers import mask_numbers
from processes.reference.models import Department
from processes.runtime.models import HumanTask
from webapp import labels
from webapp.messages import N_
from webapp.params import positive_int
from webapp.workspace import Countdown
from webapp.workspace import calendar_warning
from webapp.workspace import calendar_warnings
from webapp.workspace import countdown
from webapp.workspace import real_names
from webapp.workspace import unit_names

PAGE_SIZE = 20
MAX_PAGE = 10_000
TABS = {"mine": N_("我的待办"), "group": N_("待认领"), "unit": N_("本部门")}
SORTS = ("due", "created")
FILTERS = ("channel", "request_type", "urgency", "township", "department", "status")


@dataclass(frozen=True)
class Filters:
    """What the user asked the worklist for; all values checked."""

    tab: str = "mine"
    sort: str = "due"
    page: int = 1
    channel: str = ""
    request_type: str = ""
    urgency: str = ""
    township: str = ""
    department: str = ""
    status: str = ""

    def args(self, **change: object) -> dict[str, Any]:
        """Return the query arguments of these filters (with changes), leaving out empty ones and defaults."""
        values = asdict(replace(self, **change))  # type: ignore[arg-type]  # keyword changes of known fields
        return {k: str(v) for k, v in values.items() if v not in ("", None) and not (k == "page" and v == 1)}


@dataclass(frozen=True)
class Row:
    """One open task as the worklist shows it."""

    task: HumanTask
    case_id: str | None
    number: str
    channel: str
    request_type: str
    urgency: str
    township: str
    subject: str
    status: str
    countdown: Countdown
    holder: str


def tabs_for(who: Viewer) -> list[str]:
    """Return the tabs this user has: the unit tab only for a department's handlers."""
    return [t for t in TABS if t != "unit" or ("handler" in who.roles and who.department)]


def _bad(what: str) -> BadRequest:
    return BadRequest(description=gettext("筛选条件无效：%(what)s。请从列表中选择。", what=what))


def parse(db: Session, who: Viewer, args: Mapping[str, str]) -> Filters:
    """Return the checked filters from the query string; raise 400 for an unknown value."""
    tab = args.get("tab") or "mine"
    if tab not in tabs_for(who):
        raise _bad(gettext("页签"))
    sort = args.get("sort") or "due"
    if sort not in SORTS:
        raise _bad(gettext("排序"))
    page = positive_int(args.get("page") or "1", MAX_PAGE)
    if page is None:
        raise _bad(gettext("页码"))
    known = known_values(db)
    chosen = {name: args.get(name) or "" for name in FILTERS}
    for name, value in chosen.items():
        if value and value not in known[name]:
            raise _bad(gettext(FILTER_NAMES[name]))
    return Filters(tab=tab, sort=sort, page=page, **chosen)


FILTER_NAMES = {"channel": N_("渠道"), "request_type": N_("诉求类型"), "urgency": N_("紧急程度"),
                "township": N_("乡镇街道"), "department": N_("承办单位"), "status": N_("工单状态")}


def known_values(db: Session) -> dict[str, dict[str, str]]:
    """Return every filter's allowed codes with their Chinese names (units from the reference table)."""
    units = db.execute(sa.select(Department.code, Department.name, Department.kind).order_by(Department.code))
    townships: dict[str, str] = {}
    departments: dict[str, str] = {}
    for code, name, kind in units:
        (townships if kind == "township" else departments)[code] = name
    return {"channel": labels.CHANNELS, "request_type": labels.REQUEST_TYPES, "urgency": labels.URGENCIES,
            "status": labels.STATUSES, "township": townships, "department": {**departments, **townships}}


def tab_condition(who: Viewer, tab: str) -> ColumnElement[bool]:
    """Return the condition of a tab: mine (assigned to me), group (unclaimed, my roles and unit), unit."""
    if tab == "mine":
        return HumanTask.assignee == who.username
    if tab == "group":
        return sa.and_(access.task_filter(who), HumanTask.assignee.is_(None))
    return sa.and_(access.task_filter(who), HumanTask.department == who.department)


def _conditions(who: Viewer, filters: Filters, tab: str) -> list[ColumnElement[bool]]:
    found = [HumanTask.status == "open", tab_condition(who, tab)]
    for name, column in (("channel", Case.channel), ("request_type", Case.request_type),
                         ("urgency", Case.urgency), ("township", Case.township),
                         ("department", Case.lead_department), ("status", Case.status)):
        value = getattr(filters, name)
        if value:
            found.append(column == value)
    return found


def count(db: Session, who: Viewer, filters: Filters, tab: str | None = None) -> int:
    """Return how many open tasks a tab holds under the filters."""
    query = (sa.select(sa.func.count()).select_from(HumanTask).outerjoin(Case, Case.id == HumanTask.case_id)
             .where(*_conditions(who, filters, tab or filters.tab)))
    return int(db.scalar(query) or 0)


def rows(db: Session, who: Viewer, filters: Filters, now: datetime) -> list[Row]:
    """Return one page of the tab's open tasks, soonest deadline (or oldest) first."""
    order = ([HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.created_at, HumanTask.id]
             if filters.sort == "due" else [HumanTask.created_at, HumanTask.id])
    query = (sa.select(HumanTask, Case).outerjoin(Case, Case.id == HumanTask.case_id)
             .where(*_conditions(who, filters, filters.tab)).order_by(*order)
             .limit(PAGE_SIZE).offset((filters.page - 1) * PAGE_SIZE))
    found = [(task, case) for task, case in db.execute(query)]
    units = unit_names(db)
    names = real_names(db, [task.assignee for task, _ in found])
    warnings = calendar_warnings(db, [task.case_id for task, _ in found])
    return [_row(task, case, units, names, now, calendar_warning(warnings, task.case_id, task.due_at))
            for task, case in found]


def _row(task: HumanTask, case: Case | None, units: dict[str, str], names: dict[str, str], now: datetime,
         warning: str | None) -> Row:
    subject = " · ".join(part for part in ((case.category or "") if case else "",
                                           mask_numbers(case.title) if case else "") if part)
    return Row(
        task=task, case_id=case.id if case else None, number=case.number if case else "",
        channel=labels.CHANNELS.get(case.channel, case.channel) if case else "",
        request_type=labels.REQUEST_TYPES.get(case.request_type or "", case.request_type or "") if case else "",
        urgency=labels.URGENCIES.get(case.urgency, case.urgency) if case else "",
        township=units.get(case.township or "", case.township or "") if case else "",
        subject=subject, status=labels.STATUSES.get(case.status, case.status) if case else "",
        countdown=countdown(task.due_at, now, case.warning_level if case else None, warning),
        holder=names.get(task.assignee or "", ""))
