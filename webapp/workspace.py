"""What the operators' workspace pages share (工作台): countdowns, names, masking, and answers for htmx and JSON.

The worklist (待办), the task form (办理) and the case page (工单详情) all show deadlines as countdowns, people by
their real names, units by their Chinese names and free text with phone and ID numbers masked; their actions
answer a page with a flash and a redirect, an htmx request with a small fragment and a JSON client with JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Response
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy.orm import Session

from processes.accounts.models import AppUser
from processes.errors import Conflict
from processes.errors import RuntimeErrorBase
from processes.reference.models import CaseDeadline
from processes.reference.models import Department
from webapp import labels
from webapp.auth.signin import safe_next
from webapp.casework import CLAIMED_BY_OTHER
from webapp.casework import record
from webapp.casework import runtime_message
from webapp.permissions import wants_json

RED_SECONDS = 2 * 3600  # 红灯: at most two hours left (or the case's warning level is red)
YELLOW_SECONDS = 24 * 3600  # 黄灯: at most a day left (or the case's warning level is yellow)
CHANGED_EVENT = "worklist-changed"  # htmx event that makes the worklist reload its rows


@dataclass(frozen=True)
class Countdown:
    """A deadline as shown: text, colour class (yellow / red / overdue / ''), seconds left and the case's light.

    `calendar_warning` says when the deadline was counted Mon-Fri because its year's holiday notice is not entered.
    """

    text: str
    css: str
    seconds: int | None
    warning: str
    calendar_warning: str | None = None


def countdown(due: datetime | None, now: datetime, warning: str | None = None,
              calendar_warning: str | None = None) -> Countdown:
    """Return the countdown to a deadline, coloured by time left or by the case's warning light."""
    level = warning or "none"
    if due is None:
        return Countdown(gettext("无时限"), "", None, level)
    seconds = int((due - now).total_seconds())
    if seconds < 0:
        css = "overdue"
    elif seconds <= RED_SECONDS or level == "red":
        css = "red"
    elif seconds <= YELLOW_SECONDS or level == "yellow":
        css = "yellow"
    else:
        css = ""
    left = duration(abs(seconds)).strip()
    shown = gettext("剩余 %(time)s", time=left) if seconds >= 0 else gettext("超期 %(time)s", time=left)
    return Countdown(str(shown), css, seconds, level, calendar_warning)


CalendarWarnings = dict[str, list[tuple[datetime, str]]]


def calendar_warnings(db: Session, case_ids: Iterable[str | None]) -> CalendarWarnings:
    """Return, per case, its deadlines that were counted Mon-Fri for lack of a holiday notice, with the warning."""
    wanted = {case_id for case_id in case_ids if case_id}
    found: CalendarWarnings = {}
    if not wanted:
        return found
    rows = db.execute(sa.select(CaseDeadline.case_id, CaseDeadline.due_at, CaseDeadline.calendar_warning).where(
        CaseDeadline.case_id.in_(wanted), CaseDeadline.calendar_warning.is_not(None)))
    for case_id, due, text in rows:
        found.setdefault(str(case_id), []).append((due, str(text)))
    return found


def calendar_warning(found: CalendarWarnings, case_id: str | None, due: datetime | None) -> str | None:
    """Return the warning of the case deadline a task or case shows as `due`, when it was counted Mon-Fri."""
    if case_id is None or due is None:
        return None
    # A task's limit is one of its case's stored deadlines (the same instant), however the diagram carried it.
    return next((text for at, text in found.get(case_id, []) if abs((at - due).total_seconds()) < 1), None)


def duration(seconds: int) -> str:
    """Return a duration as days, hours and minutes (minutes only under a day), e.g. '2天3小时' or '3小时5分'."""
    days, rest = divmod(seconds, 86400)
    hours, minutes = rest // 3600, rest % 3600 // 60
    if days:
        return f"{days}{gettext('天')}{hours}{gettext('小时')}"
    if hours:
        return f"{hours}{gettext('小时')}{minutes}{gettext('分')}"
    return f"{minutes}{gettext('分')}"


def countdown_words() -> str:
    """Return the countdown's words as JSON for the page script that ticks them down (data-countdown-words)."""
    return json.dumps({"left": gettext("剩余 %(time)s"), "over": gettext("超期 %(time)s"), "day": gettext("天"),
                       "hour": gettext("小时"), "minute": gettext("分")}, ensure_ascii=False)



def real_names(db: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    """Return the real names of accounts by username (the username itself when no name is recorded)."""
    wanted = {name for name in usernames if name}
    if not wanted:
        return {}
    rows = db.execute(sa.select(AppUser.username, AppUser.real_name).where(AppUser.username.in_(wanted)))
    found = {username: real_name or username for username, real_name in rows}
    return {name: found.get(name) or gettext(labels.ACTORS.get(name, name)) for name in wanted}


def unit_names(db: Session) -> dict[str, str]:
    """Return the Chinese names of every handling unit and township by code, departments first, by name."""
    rows = db.execute(sa.select(Department.code, Department.name).order_by(Department.kind, Department.name))
    return {str(code): str(name) for code, name in rows}


CLAIM_PREFIXES = ("task is already claimed by ", "task is claimed by ")


def error_message(db: Session, error: RuntimeErrorBase) -> str:
    """Return the Chinese sentence for a runtime error; a claim names the holder by their real name."""
    text = str(error)
    for prefix in CLAIM_PREFIXES:
        if isinstance(error, Conflict) and text.startswith(prefix):
            holder = text.removeprefix(prefix)
            return CLAIMED_BY_OTHER.format(who=real_names(db, [holder]).get(holder, holder))
    return runtime_message(error)


def is_htmx() -> bool:
    """Return whether the request came from htmx (it then wants a fragment, not a page)."""
    return request.headers.get("HX-Request") == "true"


def back_to(default: str) -> str:
    """Return the local page a form asked to go back to (its `back` field), else the default."""
    target = request.form.get("back") or ""
    return safe_next(target) if target.startswith("/") else default


def done(message: str, default: str) -> ResponseReturnValue:
    """Answer a successful action: a fragment (htmx, with the reload event), JSON, or a flash and a redirect."""
    if is_htmx():
        response = Response(render_template("worklist/_message.html", message=message, category="success"))
        response.headers["HX-Trigger"] = CHANGED_EVENT
        return response
    if wants_json():
        return jsonify({"ok": True, "message": message})
    flash(message, "success")
    return redirect(back_to(default), code=303)


def refused(message: str, status: int, default: str) -> ResponseReturnValue:
    """Answer an action that did not go through (409 lost race, 400, 404) with its status for htmx and JSON."""
    if is_htmx():
        return render_template("worklist/_message.html", message=message, category="error"), status
    if wants_json():
        return jsonify({"error": message, "status": status}), status
    flash(message, "error")
    return redirect(back_to(default), code=303)


def error_page(message: str, status: int) -> ResponseReturnValue:
    """Answer with an error page (or JSON) carrying a sentence the view chose."""
    if wants_json():
        return jsonify({"error": message, "status": status}), status
    return render_template("error.html", status=status, message=message), status


def audit_failure(db: Session, action: str, object_type: str, object_id: str | None, reason: str,
                  **detail: Any) -> None:
    """Write the audit row of an action that was refused or failed (S5.1: failures are audited too)."""
    with db.begin():
        record(db, action, object_type=object_type, object_id=object_id, result="failure", reason=reason,
               **detail)
