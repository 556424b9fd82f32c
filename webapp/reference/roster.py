"""The duty roster (值班表) as a month calendar, edited by the duty leader one day and post at a time.

Weekends, holidays and emergency mode (应急值守) are marked, and so is every day whose duty time has a gap for a
post. The roster decides where night, weekend and holiday work goes (`duty.assign`), so an edit applies at once:
the next 110 hand-over at night goes to whoever it names.
"""

from __future__ import annotations

from datetime import date
from datetime import timedelta
from functools import partial

import sqlalchemy as sa
from flask import abort
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from handlers import workdays
from handlers.calendar_source import CalendarLookup
from handlers.reference.duty import DUTY_ROLES
from handlers.reference.duty import MAX_SHIFTS
from handlers.reference.duty import Shift
from handlers.reference.duty import holders
from handlers.reference.duty import month_gaps
from handlers.reference.duty import month_rows
from handlers.reference.duty import save_day
from handlers.reference.editing import save_setting
from handlers.reference.settings import get_setting
from processes.accounts.models import AppUser
from processes.reference.models import DutyRoster
from webapp.auth.forms import ActionForm
from webapp.context import now
from webapp.context import runtime
from webapp.reference import bp
from webapp.reference.calendar import _day_arg
from webapp.reference.changes import require
from webapp.reference.changes import run
from webapp.reference.changes import version
from webapp.reference.texts import DUTY_ROLE_LABELS

BLANK_ROWS = 2  # empty shift lines offered below a post's shifts


def _month(text: str | None) -> date:
    """Return the first day of the month asked for (YYYY-MM, default: this month); else 400."""
    if not text:
        return workdays.local_date(now()).replace(day=1)
    try:
        first = date.fromisoformat(f"{text}-01")
    except ValueError:
        abort(400, description=gettext("月份无效，请写成 2026-12。"))
    if not 2004 <= first.year <= 2100:
        abort(400, description=gettext("月份无效，请写成 2026-12。"))
    return first


def _weeks(first: date) -> list[list[date | None]]:
    """Return the weeks of a month, Monday first, None outside it."""
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    weeks, week = [], [None] * first.weekday()  # type: list[list[date | None]], list[date | None]
    day = first
    while day <= last:
        week.append(day)
        if len(week) == 7:
            weeks.append(week)
            week = []
        day += timedelta(days=1)
    if week:
        weeks.append(week + [None] * (7 - len(week)))
    return weeks


@bp.get("/roster")
def roster() -> ResponseReturnValue:
    """The month's roster: each day's posts and people, weekends, holidays, gaps and emergency mode."""
    first = _month(request.args.get("month"))
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    with runtime().read() as db:
        rows = month_rows(db, first, last)
        lookup = CalendarLookup(db)
        marks = {first + timedelta(days=n): lookup.reason(first + timedelta(days=n)) if not lookup(
            first + timedelta(days=n)) else "" for n in range((last - first).days + 1)}
        missing = month_gaps(db, first, last)
        names = dict(db.execute(sa.select(AppUser.username, AppUser.real_name)).all())
        emergency = bool(get_setting(db, "emergency_mode"))
        stamp = version(db, "settings", "emergency_mode")
    return render_template(
        "reference/roster.html", first=first, weeks=_weeks(first), rows=rows, marks=marks, missing=missing,
        names=names, emergency=emergency, stamp=stamp, labels=DUTY_ROLE_LABELS, form=ActionForm(),
        today=workdays.local_date(now()), may_edit="duty_leader" in current_user.roles,
        previous=(first - timedelta(days=1)).strftime("%Y-%m"), following=(last + timedelta(days=1)).strftime("%Y-%m"))


@bp.get("/roster/<day>")
def roster_day(day: str) -> ResponseReturnValue:
    """One day's shifts of a post (?role=), with the people who may take them."""
    when = _day_arg(day)
    role = require(request.args.get("role", "dispatcher"), allowed=frozenset(DUTY_ROLES))
    with runtime().read() as db:
        shifts = list(db.scalars(sa.select(DutyRoster).where(DutyRoster.day == when, DutyRoster.role == role)
                                 .order_by(DutyRoster.shift_start, DutyRoster.username)))
        people = holders(db, role)
        names = dict(db.execute(sa.select(AppUser.username, AppUser.real_name).where(
            AppUser.username.in_(people))).all())
        stamp = version(db, "roster", f"{day}/{role}")
    return render_template("reference/roster_day.html", day=when, role=role, shifts=shifts, people=people,
                           names=names, stamp=stamp, labels=DUTY_ROLE_LABELS, blank=BLANK_ROWS, form=ActionForm(),
                           roles=DUTY_ROLES)


@bp.post("/roster/<day>")
def roster_save(day: str) -> ResponseReturnValue:
    """Replace a post's shifts of a day (no gaps in duty time, people holding the post's role)."""
    when = _day_arg(day)
    assert when is not None  # noqa: S101  (the address always names a day)
    role = require(request.form.get("role"), allowed=frozenset(DUTY_ROLES))
    names, starts, ends = (request.form.getlist(k) for k in ("username", "shift_start", "shift_end"))
    if not len(names) == len(starts) == len(ends) or len(names) > MAX_SHIFTS + BLANK_ROWS:
        abort(400, description=gettext("请求参数无效，请从页面上重新操作。"))
    # A line without a person is a deleted (or unused new) shift.
    shifts = [Shift(n.strip(), s.strip(), e.strip()) for n, s, e in zip(names, starts, ends, strict=True)
              if n.strip()]
    return run(partial(save_day, day=when, role=role, shifts=shifts), kind="roster", key=f"{when.isoformat()}/{role}",
               deadlines=False, back=url_for("reference.roster", month=when.strftime("%Y-%m")),
               title=gettext("%(day)s %(post)s排班", day=when.isoformat(), post=gettext(DUTY_ROLE_LABELS[role])))


@bp.post("/roster/emergency")
def roster_emergency() -> ResponseReturnValue:
    """Switch emergency mode (应急值守) on or off: all work goes to the people on duty while it is on."""
    value = require(request.form.get("value"), allowed=frozenset({"true", "false"}))
    title = gettext("开启应急值守") if value == "true" else gettext("结束应急值守")
    return run(partial(save_setting, name="emergency_mode", value=value), kind="settings", key="emergency_mode",
               deadlines=False, back=url_for("reference.roster"), title=title)
