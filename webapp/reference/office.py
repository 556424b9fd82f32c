"""The reference overview (基础数据) and what every office page shows from it: who is on duty now (当前值班) and
the banner while a year's holiday notice is not entered (节假日安排未录入)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask import render_template
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from handlers import workdays
from handlers.reference.duty import DUTY_ROLES
from handlers.reference.duty import on_duty_now
from handlers.reference.settings import get_setting
from processes.accounts.models import AppUser
from processes.reference.models import CalendarYear
from processes.reference.models import Department
from processes.reference.models import DispatchRule
from processes.reference.models import SlaRule
from webapp.context import now
from webapp.context import runtime
from webapp.permissions import RULES
from webapp.permissions import allowed
from webapp.reference import bp
from webapp.reference.texts import DUTY_ROLE_LABELS

NOTICE_MONTH = 11  # the State Council notice for next year comes out in November (domain.md §6.3)
# Who sees the duty panel: the office's own people (units and administrators do not work the roster).
OFFICE_ROLES = frozenset({"operator", "transcriber", "dispatcher", "inspector", "callback", "supervisor",
                          "duty_leader", "leader"})


@dataclass(frozen=True)
class OnDuty:
    """One line of the duty panel: the post and who is on shift (empty: nobody rostered)."""

    role: str
    label: str
    name: str


def missing_years(db: sa.orm.Session, today: date) -> list[int]:
    """Return this year and, from November, next year when their holiday notice is not entered."""
    wanted = [today.year] + ([today.year + 1] if today.month >= NOTICE_MONTH else [])
    entered = set(db.scalars(sa.select(CalendarYear.year).where(CalendarYear.year.in_(wanted))))
    return [year for year in wanted if year not in entered]


def calendar_banner() -> dict[str, object] | None:
    """Return the office banner while a year's holiday notice is missing, with a link for whoever may enter it."""
    if not current_user.is_authenticated:
        return None
    with runtime().read() as db:
        years = missing_years(db, workdays.local_date(now()))
    if not years:
        return None
    may_open = allowed(RULES.get("reference.calendar"), signed_in=True, roles=current_user.roles)
    return {"years": "、".join(str(y) for y in years), "year": years[-1],
            "url": url_for("reference.calendar", year=years[-1]) if may_open else None}


def duty_panel() -> dict[str, object] | None:
    """Return who is on duty now for the office's duty panel (home page, board), or None for other users."""
    if not current_user.is_authenticated or not current_user.roles & OFFICE_ROLES:
        return None
    with runtime().read() as db:
        found = on_duty_now(db, now())
        names = dict(db.execute(sa.select(AppUser.username, AppUser.real_name).where(
            AppUser.username.in_([u for u in found.values() if u]))).all())
        emergency = bool(get_setting(db, "emergency_mode"))
    lines = [OnDuty(role, gettext(DUTY_ROLE_LABELS[role]), (names.get(user) or user) if user else "")
             for role, user in found.items()]
    return {"lines": lines, "emergency": emergency,
            "url": url_for("reference.roster") if allowed(RULES.get("reference.roster"), signed_in=True,
                                                          roles=current_user.roles) else None}


@bp.app_context_processor
def reference_helpers() -> dict[str, object]:
    """Offer the banner and the duty panel to every template (called only where a template uses them)."""
    return {"reference_banner": calendar_banner, "duty_panel": duty_panel}


@bp.get("/")
def index() -> ResponseReturnValue:
    """The overview (基础数据): each kind of reference data with its size, the calendar years entered."""
    with runtime().read() as db:
        years = list(db.scalars(sa.select(CalendarYear).order_by(CalendarYear.year.desc()).limit(4)))
        counts = {
            "sla": db.scalar(sa.select(sa.func.count()).select_from(SlaRule)) or 0,
            "departments": db.scalar(sa.select(sa.func.count()).select_from(Department)) or 0,
            "catalogue": db.scalar(sa.select(sa.func.count()).select_from(DispatchRule)) or 0,
        }
    return render_template("reference/index.html", years=years, counts=counts, roles=DUTY_ROLES,
                           today=workdays.local_date(now()))
