"""Open311 service requests as GET shows them (诉求查询): status, public reply and place, never the requester.

Only requests that came in through Open311 are listed (the office's other cases are not published this way).
The case's many states collapse to open / closed (domain.md §10: 签收, 退单, 延期, 督办 and 回访 stay internal);
`status_notes` is the reply published on the web (挂网: the 挂网审核 task's 公开答复内容, only when it was
published), else a short word for how a closed case ended (不予受理, 已转办, 并单), never a reason someone typed.
The description is the 诉求内容 masked as for a reader without rights (phone and ID numbers, the requester's own
name and address); GeoReport v2 has no requester fields, and none are returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from processes.cases import disclosure
from processes.cases.access import Viewer
from processes.cases.models import Case
from processes.cases.models import CaseText
from processes.cases.numbers import mask_numbers
from processes.open311.models import Open311Request
from processes.reference.models import Department
from processes.runtime.models import HistoryEvent
from processes.runtime.models import HumanTask
from webapp.messages import N_
from webapp.open311 import catalogue

OFFICE_TZ = ZoneInfo("Asia/Shanghai")
WINDOW = timedelta(days=90)  # the specification's default and widest date range
MAX_RESULTS = 1000  # the specification's default number of records
MAX_IDS = 100
# Case states that mean the matter is finished for the citizen (办结 and after, or ended at triage).
CLOSED_STATUSES = ("closed", "published", "archived", "answered", "transferred", "rejected", "returned_to_110",
                   "merged")
ENDINGS = {"rejected": N_("不予受理"), "transferred": N_("已转有关部门办理"), "merged": N_("已与相同诉求并案办理")}
PUBLIC_READER = Viewer("open311:public", frozenset(), None)  # no role: masked, confidential requesters hidden


@dataclass(frozen=True)
class Filters:
    """The GET requests filters of GeoReport v2, already checked."""

    ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None


def iso(moment: datetime | None) -> str | None:
    """Return a time as W3C / ISO 8601 with the Beijing offset (+08:00), whole seconds."""
    if moment is None:
        return None
    return moment.astimezone(OFFICE_TZ).replace(microsecond=0).isoformat()


def closed_condition() -> ColumnElement[bool]:
    """Return the SQL condition of a closed request."""
    return sa.or_(Case.closed_at.is_not(None), Case.status.in_(CLOSED_STATUSES))


def is_closed(case: Case) -> bool:
    """Return whether a case is closed for the citizen."""
    return case.closed_at is not None or case.status in CLOSED_STATUSES


def find(db: Session, filters: Filters, now: datetime) -> list[dict[str, Any]]:
    """Return the requests matching the filters, newest first (ids given: exactly those, other filters ignored)."""
    query = sa.select(Case, Open311Request).join(Open311Request, Open311Request.case_id == Case.id)
    if filters.ids:
        query = query.where(Case.number.in_(filters.ids))
    else:
        end = filters.end or now
        start = filters.start or end - WINDOW
        query = query.where(Open311Request.created_at >= start, Open311Request.created_at <= end)
        if filters.service_codes:
            query = query.where(Open311Request.service_code.in_(filters.service_codes))
        if set(filters.statuses) == {"open"}:
            query = query.where(sa.not_(closed_condition()))
        elif set(filters.statuses) == {"closed"}:
            query = query.where(closed_condition())
    rows = db.execute(query.order_by(Open311Request.created_at.desc(), Case.id).limit(MAX_RESULTS)).all()
    return shown(db, rows)


def one(db: Session, number: str, now: datetime) -> dict[str, Any] | None:
    """Return one request by its service_request_id (the case number), None when Open311 has no such request."""
    found = find(db, Filters(ids=(number,)), now)
    return found[0] if found else None


def shown(db: Session, rows: Sequence[tuple[Case, Open311Request]]) -> list[dict[str, Any]]:
    """Return the GeoReport v2 request fields of each row."""
    case_ids = [case.id for case, _ in rows]
    replies = published_replies(db, case_ids)
    units = {code: name for code, name in db.execute(sa.select(Department.code, Department.name))}
    names = {s.code: s.category for s in catalogue.services(db)}
    out = []
    for case, extra in rows:
        closed = is_closed(case)
        mask = disclosure.text_masker(db, PUBLIC_READER, case)
        ending = ENDINGS.get(case.status)
        out.append({
            "service_request_id": case.number,
            "status": "closed" if closed else "open",
            "status_notes": replies.get(case.id) or (gettext(ending) if ending else None),
            "service_name": names.get(extra.service_code, case.category),
            "service_code": extra.service_code,
            "description": mask(case.content) or None,
            "agency_responsible": units.get(case.lead_department or "") or None,
            "service_notice": None,
            "requested_datetime": iso(case.created_at),
            "updated_datetime": iso(case.updated_at),
            "expected_datetime": None if closed else iso(case.deadline),
            "address": mask_numbers(case.location) or None,
            "address_id": None,
            "zipcode": None,
            "lat": extra.lat,
            "long": extra.long,
            "media_url": extra.media_url,
        })
    return out


def published_replies(db: Session, case_ids: list[str]) -> dict[str, str]:
    """Return the published public reply (挂网的公开答复) of each case that has one."""
    if not case_ids:
        return {}
    events = db.execute(sa.select(HistoryEvent.case_id, HistoryEvent.detail).where(
        HistoryEvent.case_id.in_(case_ids), HistoryEvent.kind == "status_changed"))
    published = {case_id for case_id, detail in events if (detail or {}).get("status") == "published"}
    if not published:
        return {}
    texts = db.execute(sa.select(CaseText.case_id, CaseText.value)
                       .join(HumanTask, HumanTask.id == CaseText.task_id)
                       .where(CaseText.case_id.in_(published), CaseText.field == "public_reply",
                              HumanTask.bpmn_id == "publish_review")
                       .order_by(CaseText.id))
    return {case_id: mask_numbers(value) for case_id, value in texts}  # the newest row wins


def number_of_token(db: Session, token: str) -> str | None:
    """Return the service_request_id (case number) of a token POST gave (the case's id), None when unknown."""
    return db.scalar(sa.select(Case.number).join(Open311Request, Open311Request.case_id == Case.id)
                     .where(Open311Request.case_id == token))
