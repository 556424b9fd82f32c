"""Routing handlers from reference data: dispatch suggestion (派单建议), duty assignment (值班), settings (系统参数)."""

from __future__ import annotations

from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers import workdays
from handlers.base import HandlerContext
from handlers.base import HandlerError
from handlers.base import handler
from handlers.calendar_source import WEEKEND
from handlers.calendar_source import CalendarLookup
from handlers.reference.settings import SETTINGS
from handlers.reference.settings import SettingValue
from handlers.reference.settings import get_setting
from processes.cases.models import Case
from processes.reference.models import Department
from processes.reference.models import DispatchRule
from processes.reference.models import DutyRoster

ANY = "*"


def township_code(session: Session, value: str | None) -> str | None:
    """Return the code of a township given its code or its name (乡镇街道), or None."""
    if not value:
        return None
    found = session.scalar(sa.select(Department.code).where(
        Department.kind == "township", sa.or_(Department.code == value, Department.name == value)))
    return found or value


def suggest(session: Session, category: str | None, township: str | None) -> dict[str, Any]:
    """Return the catalogue's lead and assisting units: exact township beats '*', exact category beats '*'."""
    code = township_code(session, township)
    rows = session.scalars(sa.select(DispatchRule).where(
        DispatchRule.category.in_({category or "", ANY}), DispatchRule.township.in_({code or "", ANY}))).all()
    if not rows:
        return {"lead": None, "lead_name": None, "assisting": [], "rule": None}
    best = max(rows, key=lambda r: (r.category != ANY, r.township != ANY))
    assisting = [c for c in best.assisting.split(",") if c]
    names = {r.code: r.name for r in session.execute(sa.select(Department.code, Department.name).where(
        Department.code.in_([best.lead, *assisting])))}
    return {"lead": best.lead, "lead_name": names.get(best.lead), "assisting": assisting,
            "assisting_names": [names.get(c, c) for c in assisting], "rule": f"{best.category}/{best.township}"}


@handler("dispatch.suggest", label_zh="派单建议（派单目录）", label_en="Suggest units (dispatch catalogue)",
         params={"category": "诉求分类（默认取工单）", "township": "乡镇街道（默认取工单）"}, writes=False)
def suggest_handler(ctx: HandlerContext, category: str | None = None, township: str | None = None) -> dict[str, Any]:
    """Suggest lead and assisting departments from the dispatch catalogue by the case's category and township."""
    case = ctx.session.get(Case, ctx.case_id) if ctx.case_id is not None else None
    return suggest(ctx.session, category or (case.category if case else None),
                   township or (case.township if case else None))


def on_duty(session: Session, role: str, now: datetime) -> str | None:
    """Return the rostered user for a role whose shift covers `now`; a shift belongs to the day it starts.

    A shift ending at or before its start runs overnight, so yesterday's night shift covers this early morning.
    """
    local = now.astimezone(workdays.SHANGHAI)
    today, clock = local.date(), local.time().replace(tzinfo=None)
    rows = session.scalars(sa.select(DutyRoster).where(
        DutyRoster.role == role, DutyRoster.day.in_([today, today - timedelta(days=1)]))
        .order_by(DutyRoster.day.desc(), DutyRoster.shift_start, DutyRoster.id)).all()
    for row in rows:
        overnight = row.shift_end <= row.shift_start
        if row.day == today:
            covered = clock >= row.shift_start if overnight else row.shift_start <= clock < row.shift_end
        else:
            covered = overnight and clock < row.shift_end
        if covered:
            return row.username
    return None


def office_hours(session: Session) -> tuple[time, time]:
    """Return when the office opens and closes on a working day (settings office_opens_at, office_closes_at)."""
    return (time.fromisoformat(str(get_setting(session, "office_opens_at"))),
            time.fromisoformat(str(get_setting(session, "office_closes_at"))))


def duty_reason(session: Session, now: datetime) -> str | None:
    """Return why `now` is duty time: emergency, holiday, weekend or night; None in a working day's office hours.

    A working day's night (before the office opens or from its closing time) is duty time too, so the rostered
    night shift (夜班) takes 110 hand-overs and triage instead of the day staff's group pool.
    """
    if get_setting(session, "emergency_mode"):
        return "emergency"
    local = now.astimezone(workdays.SHANGHAI)
    day, clock = local.date(), local.time().replace(tzinfo=None)
    lookup = CalendarLookup(session)
    if not lookup(day):
        return "weekend" if lookup.reason(day) == WEEKEND else "holiday"
    opens, closes = office_hours(session)
    return None if opens <= clock < closes else "night"


@handler("duty.assign", label_zh="值班指派", label_en="Assign the person on duty", params={"role": "值班角色"},
         writes=False)
def assign_handler(ctx: HandlerContext, role: str) -> dict[str, Any]:
    """At night, on weekends, holidays or in emergency mode return the on-duty user for a role; else no assignee."""
    if not isinstance(role, str) or not role.strip():
        raise HandlerError("role is required")
    try:
        reason = duty_reason(ctx.session, ctx.now)
    except ValueError as exc:
        raise HandlerError(str(exc)) from exc
    if reason is None:
        return {"assignee": None, "reason": None}
    return {"assignee": on_duty(ctx.session, role, ctx.now), "reason": reason}


@handler("duty.on_duty", label_zh="当班人员（值班表）", label_en="Person on shift (duty roster)",
         params={"role": "值班角色（如 duty_leader 值班长）"}, writes=False)
def on_duty_handler(ctx: HandlerContext, role: str) -> dict[str, Any]:
    """Return whoever the duty roster has on shift for a role right now, any day (null when nobody is rostered)."""
    if not isinstance(role, str) or not role.strip():
        raise HandlerError("role is required")
    return {"assignee": on_duty(ctx.session, role, ctx.now)}


@handler("ref.setting", label_zh="读取系统参数", label_en="Read a system setting",
         params={"name": "参数名（callback_max_attempts 等）"}, writes=False)
def setting_handler(ctx: HandlerContext, name: str) -> dict[str, Any]:
    """Return a typed office setting (系统参数) such as callback_max_attempts."""
    if name not in SETTINGS:
        raise HandlerError(f"unknown setting {name!r}; known: {', '.join(sorted(SETTINGS))}")
    try:
        value: SettingValue = get_setting(ctx.session, name)
    except ValueError as exc:
        raise HandlerError(str(exc)) from exc
    return {"value": value}
