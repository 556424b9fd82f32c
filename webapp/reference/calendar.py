"""The holiday calendar (节假日日历): a year on twelve months, one day changed at a time, a year's notice entered.

Holidays and make-up working days (调休上班) are marked; clicking a day opens its form beside the months. Entering
the State Council notice (国务院办公厅关于某年部分节假日安排的通知) makes a year official, as `hotline ref import
calendar` does. Both change deadlines, so both show a dry run first: how many open cases would move, and which.
"""

from __future__ import annotations

import calendar as monthly
from dataclasses import dataclass
from datetime import date
from functools import partial

import sqlalchemy as sa
from flask import abort
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy.orm import Session

from handlers import workdays
from handlers.calendar_source import WEEKEND
from handlers.calendar_source import default_day
from handlers.reference.editing import DAY_KINDS
from handlers.reference.editing import Change
from handlers.reference.editing import enter_notice
from handlers.reference.editing import set_day
from processes.reference.models import CalendarDay
from processes.reference.models import CalendarYear
from webapp.auth.forms import ActionForm
from webapp.context import now
from webapp.context import runtime
from webapp.params import whole_number
from webapp.reference import bp
from webapp.reference.changes import require
from webapp.reference.changes import run
from webapp.reference.changes import version
from webapp.reference.texts import DAY_KINDS as DAY_KIND_LABELS

FIRST_YEAR, LAST_YEAR = 2004, 2100


@dataclass(frozen=True)
class Day:
    """One day of the calendar view: its date, whether it is worked, why, and the mark it gets."""

    day: date
    workday: bool
    reason: str
    mark: str  # workday / weekend / holiday / makeup


def _mark(day: date, workday: bool, reason: str) -> str:
    """Return how a day is drawn: a worked weekend day (调休上班), a holiday, or its ordinary kind."""
    if workday:
        return "makeup" if day.weekday() >= 5 else "workday"
    return "weekend" if reason == WEEKEND else "holiday"


def year_view(db: Session, year: int) -> tuple[CalendarYear | None, list[tuple[int, list[list[Day | None]]]]]:
    """Return the year's notice row (None: not entered) and its months as weeks of days (Monday first)."""
    entered = db.get(CalendarYear, year)
    stored = {} if entered is None else {d.day: d for d in db.scalars(sa.select(CalendarDay).where(
        CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)))}
    months = []
    for month in range(1, 13):
        weeks = []
        for week in monthly.Calendar().monthdatescalendar(year, month):
            row: list[Day | None] = []
            for day in week:
                if day.month != month:
                    row.append(None)
                    continue
                found = stored.get(day)
                workday, reason = (found.is_workday, found.reason) if found else default_day(day)
                row.append(Day(day, workday, reason, _mark(day, workday, reason)))
            weeks.append(row)
        months.append((month, weeks))
    return entered, months


def _year_arg(text: str | None) -> int:
    """Return the year asked for (default: this year); anything else answers 400."""
    if not text:
        return workdays.local_date(now()).year
    year = whole_number(text, low=FIRST_YEAR, high=LAST_YEAR)
    if year is None:
        abort(400, description=gettext("年份无效：请填写 %(a)s 到 %(b)s 之间的年份。", a=FIRST_YEAR, b=LAST_YEAR))
    return year


def _day_arg(text: str | None, year: int | None = None) -> date | None:
    """Return the day asked for, or None; a malformed one (or one outside the year) answers 400."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        abort(400, description=gettext("日期无效，请从日历上点选。"))
    if year is not None and day.year != year:
        abort(400, description=gettext("日期无效，请从日历上点选。"))
    return day


@bp.get("/calendar")
def calendar() -> ResponseReturnValue:
    """The year on twelve months with holidays and make-up days; ?day= opens a day's form beside it."""
    year = _year_arg(request.args.get("year"))
    chosen = _day_arg(request.args.get("day"), year)
    with runtime().read() as db:
        entered, months = year_view(db, year)
        stamp = version(db, "calendar", str(year))
    picked = next((d for _, weeks in months for week in weeks for d in week if d and d.day == chosen), None)
    return render_template("reference/calendar.html", year=year, entered=entered, months=months, picked=picked,
                           stamp=stamp, kinds=DAY_KIND_LABELS, form=ActionForm(),
                           may_edit="sysadmin" in current_user.roles,
                           weekdays=[gettext("一"), gettext("二"), gettext("三"), gettext("四"), gettext("五"),
                                     gettext("六"), gettext("日")])


@bp.post("/calendar/day")
def calendar_day() -> ResponseReturnValue:
    """Change one day (dry run, then apply): holiday, make-up working day, or back to Mon-Fri."""
    day = _day_arg(request.form.get("day"))
    if day is None:  # an empty day was an AssertionError (500): require() lets "" through
        abort(400, description=gettext("日期无效，请从日历上点选。"))
    kind = require(request.form.get("kind"), allowed=frozenset(DAY_KINDS))
    reason = request.form.get("reason", "").strip()
    edit = partial(_set_day, day=day, kind=kind, reason=reason)
    return run(edit, kind="calendar", key=day.isoformat(), deadlines=True,
               back=url_for("reference.calendar", year=day.year, day=day.isoformat()),
               title=gettext("%(day)s 设为%(kind)s", day=day.isoformat(), kind=gettext(DAY_KIND_LABELS[kind])))


def _set_day(db: Session, *, day: date, kind: str, reason: str) -> Change:
    """Apply a day change as the signed-in user."""
    return set_day(db, day, kind, reason, actor=current_user.username, now=now())


@bp.post("/calendar/notice")
def calendar_notice() -> ResponseReturnValue:
    """Enter a year's State Council notice (dry run, then apply): holidays and make-up days with its number."""
    year = _year_arg(require(request.form.get("year")))
    notice = request.form.get("notice", "")
    holidays, makeups = request.form.get("holidays", ""), request.form.get("makeups", "")

    def edit(db: Session) -> Change:
        return enter_notice(db, year, notice, holidays, makeups, actor=current_user.username, now=now())

    return run(edit, kind="calendar", key=str(year), deadlines=True, back=url_for("reference.calendar", year=year),
               title=gettext("%(year)s 年节假日安排（%(notice)s）", year=year, notice=notice.strip()))
