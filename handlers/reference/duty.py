"""Editing the duty roster (值班表) by day and role, and who is on duty now (当前值班).

Duty time is when `duty.assign` sends work to the roster instead of a group: a working day's night (before the
office opens, from its closing time), weekends and holidays all day, and every hour in emergency mode (应急值守).
An edit of one day and role is refused when it leaves a minute of that day's duty time without anyone of the role
on shift (yesterday's overnight shift counts for the early morning), when a person is unknown, disabled or does not
hold the role, or when the rows would not pass the roster import's check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers import workdays
from handlers.calendar_source import CalendarLookup
from handlers.reference.csvio import check_roster
from handlers.reference.editing import Change
from handlers.reference.editing import reject
from handlers.reference.settings import get_setting
from handlers.routing import office_hours
from handlers.routing import on_duty
from processes.accounts.models import AppUser
from processes.accounts.models import UserRole
from processes.reference.models import DutyRoster

# The roles the product's diagrams look up in the roster (duty.assign, duty.on_duty), in the order shown.
DUTY_ROLES = ("dispatcher", "supervisor", "duty_leader", "leader")
MAX_SHIFTS = 6
Span = tuple[datetime, datetime]


@dataclass(frozen=True)
class Shift:
    """One shift as a form gives it: who, from when to when (an end at or before the start runs overnight)."""

    username: str
    start: str
    end: str


def _spans(rows: list[tuple[date, time, time]]) -> list[Span]:
    """Return shifts as absolute spans in Beijing time."""
    out = []
    for day, start, end in rows:
        begin = datetime.combine(day, start, workdays.SHANGHAI)
        finish = datetime.combine(day, end, workdays.SHANGHAI)
        out.append((begin, finish if finish > begin else finish + timedelta(days=1)))
    return sorted(out)


def duty_time(session: Session, day: date, lookup: CalendarLookup | None = None) -> list[Span]:
    """Return the duty time of a day: all of it on weekends, holidays and in emergency mode, else its night."""
    midnight = datetime.combine(day, time(0), workdays.SHANGHAI)
    whole = (midnight, midnight + timedelta(days=1))
    if get_setting(session, "emergency_mode") or not (lookup or CalendarLookup(session))(day):
        return [whole]
    opens, closes = office_hours(session)
    return [(midnight, datetime.combine(day, opens, workdays.SHANGHAI)),
            (datetime.combine(day, closes, workdays.SHANGHAI), whole[1])]


def month_gaps(session: Session, first: date, last: date) -> dict[date, list[str]]:
    """Return, for each day of a span, the duty roles with uncovered duty time (from the stored roster)."""
    lookup = CalendarLookup(session)
    rows = session.execute(sa.select(DutyRoster.day, DutyRoster.role, DutyRoster.shift_start, DutyRoster.shift_end)
                           .where(DutyRoster.day >= first - timedelta(days=1), DutyRoster.day <= last)).all()
    out: dict[date, list[str]] = {}
    day = first
    while day <= last:
        duty = duty_time(session, day, lookup)
        for role in DUTY_ROLES:
            mine = [(r.day, r.shift_start, r.shift_end) for r in rows
                    if r.role == role and r.day in (day, day - timedelta(days=1))]
            if gaps(duty, _spans(mine)):
                out.setdefault(day, []).append(role)
        day += timedelta(days=1)
    return out


def gaps(duty: list[Span], shifts: list[Span]) -> list[Span]:
    """Return the parts of duty time no shift covers."""
    out = []
    for begin, end in duty:
        at = begin
        for start, finish in shifts:
            if start <= at < finish:
                at = finish
            elif at < start < end:
                out.append((at, start))
                at = finish
            if at >= end:
                break
        if at < end:
            out.append((at, end))
    return [(b, e) for b, e in out if e > b]


def _stored(session: Session, role: str, days: list[date]) -> list[tuple[date, time, time]]:
    """Return the roster rows of a role on these days."""
    return [(r.day, r.shift_start, r.shift_end) for r in session.execute(sa.select(
        DutyRoster.day, DutyRoster.shift_start, DutyRoster.shift_end).where(
        DutyRoster.role == role, DutyRoster.day.in_(days)))]


def day_gaps(session: Session, day: date, role: str) -> list[Span]:
    """Return the uncovered duty time of a day for a role, from the stored roster."""
    return gaps(duty_time(session, day), _spans(_stored(session, role, [day - timedelta(days=1), day])))


def holders(session: Session, role: str) -> list[str]:
    """Return the active users who hold a role, by username."""
    return list(session.scalars(sa.select(AppUser.username).join(UserRole, UserRole.user_id == AppUser.id).where(
        UserRole.role == role, AppUser.active.is_(True)).order_by(AppUser.username)))


def save_day(session: Session, day: date, role: str, shifts: list[Shift]) -> Change:
    """Replace a role's shifts on a day (排班); refused on gaps in duty time or people without the role."""
    if role not in DUTY_ROLES:
        reject("field", "role", role)
    if len(shifts) > MAX_SHIFTS:
        reject("too_many_shifts", "username", str(len(shifts)))
    rows = check_roster([(n, {"day": day.isoformat(), "role": role, "username": s.username,
                              "shift_start": s.start, "shift_end": s.end}) for n, s in enumerate(shifts, start=2)])
    allowed = set(holders(session, role))
    for row in rows:
        if row["username"] not in allowed:
            reject("not_role_holder", "username", row["username"])
    new = [(day, r["shift_start"], r["shift_end"]) for r in rows]
    missing = gaps(duty_time(session, day), _spans(_stored(session, role, [day - timedelta(days=1)]) + new))
    if missing:
        reject("gap", "shift_start", _span_text(missing[0]))
    following = _stored(session, role, [day + timedelta(days=1)])
    if following:  # tomorrow is planned: tonight's shifts must still carry its early morning
        late = gaps(duty_time(session, day + timedelta(days=1)), _spans(new + following))
        if late:
            reject("gap", "shift_end", _span_text(late[0]))
    before = _listed(session, day, role)
    session.execute(sa.delete(DutyRoster).where(DutyRoster.day == day, DutyRoster.role == role))
    if rows:
        session.execute(sa.insert(DutyRoster), rows)
    session.flush()
    return Change("roster", f"{day.isoformat()}/{role}", {"shifts": before}, {"shifts": _listed(session, day, role)})


def _listed(session: Session, day: date, role: str) -> list[str]:
    """Return a role's shifts of a day as 'username HH:MM-HH:MM' texts, for the audit row."""
    return [f"{r.username} {r.shift_start:%H:%M}-{r.shift_end:%H:%M}" for r in session.scalars(
        sa.select(DutyRoster).where(DutyRoster.day == day, DutyRoster.role == role).order_by(
            DutyRoster.shift_start, DutyRoster.username))]


def _span_text(span: Span) -> str:
    """Format an uncovered span as 'MM-DD HH:MM-HH:MM' (Beijing time)."""
    begin, end = span
    return f"{begin:%m-%d %H:%M}-{end:%H:%M}" if end.date() == begin.date() or end.time() != time(0) else (
        f"{begin:%m-%d %H:%M}-24:00")


def on_duty_now(session: Session, now: datetime) -> dict[str, str | None]:
    """Return who the roster has on shift now for each duty role (None: nobody rostered)."""
    return {role: on_duty(session, role, now) for role in DUTY_ROLES}


def month_rows(session: Session, first: date, last: date) -> dict[date, list[DutyRoster]]:
    """Return the roster rows of a span of days, by day, ordered by role and start."""
    out: dict[date, list[DutyRoster]] = {}
    for row in session.scalars(sa.select(DutyRoster).where(DutyRoster.day >= first, DutyRoster.day <= last)
                               .order_by(DutyRoster.day, DutyRoster.role, DutyRoster.shift_start)):
        out.setdefault(row.day, []).append(row)
    return out
