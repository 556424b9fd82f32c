"""How a reference page changes data: dry run (预演), apply with its audit row, 409 when someone came first.

A change is a function of a session (`handlers.reference.editing`). The dry run runs it in a transaction that is
rolled back, after counting which open cases' deadlines and timers it would move; applying runs it again in a
transaction that first compares the data's version with the one the page showed (a lost race answers 409) and
writes the audit row with the values before and after. Where deadlines may move, the open cases are then
rescheduled as `hotline ref import` does and the page says how many moved.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import date

import sqlalchemy as sa
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy.orm import Session

from handlers.reference.csvio import ImportRejected
from handlers.reference.duty import _listed
from handlers.reference.editing import Change
from handlers.reference.reschedule import Move
from handlers.reference.reschedule import RescheduleReport
from handlers.reference.reschedule import plan_open_deadlines
from handlers.reference.reschedule import reschedule_open_deadlines
from handlers.reference.store import export
from processes.cases.models import Case
from processes.cases.numbers import replace_numbers
from processes.reference.models import CalendarYear
from processes.reference.models import Setting
from webapp.auth.forms import ActionForm
from webapp.casework import record
from webapp.context import runtime
from webapp.reference.texts import STALE
from webapp.reference.texts import rejected_texts
from webapp.timefmt import local_time

Edit = Callable[[Session], Change]
MAX_LISTED = 200
LONG_NUMBER = re.compile(r"\d{7,}")  # an SMS target may be a phone number: the audit row keeps its last digits


class Stale(Exception):
    """The data changed since the page was shown (a lost race): nothing was written."""


@dataclass
class Preview:
    """What a change would do: the change itself, open cases and timers it moves, and which deadlines."""

    change: Change
    cases: int = 0
    timers: int = 0
    rows: int = 0
    moves: list[Move] = field(default_factory=list)
    numbers: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def version(db: Session, kind: str, key: str = "") -> str:
    """Return a short fingerprint of the data a change of this kind (and key) starts from."""
    if kind == "calendar":
        text = db.scalar(sa.select(CalendarYear.revision).where(CalendarYear.year == int(key[:4]))) or "none"
    elif kind == "settings":
        text = db.scalar(sa.select(Setting.value).where(Setting.name == key)) or "default"
    elif kind == "roster":
        day, role = key.split("/")
        text = "|".join(_listed(db, date.fromisoformat(day), role))
    else:
        text = export(db, kind)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def preview(edit: Edit, *, deadlines: bool) -> Preview:
    """Run a change in a transaction that is rolled back; count what it would move. Raise ImportRejected."""
    with runtime().write() as db:
        tx = db.begin()
        try:
            result = Preview(edit(db))
            if deadlines:
                plans = plan_open_deadlines(db, result.problems)
                result.cases = sum(1 for p in plans if p.moves)
                result.timers = sum(len(p.moves) for p in plans)
                result.rows = sum(len(p.updates) for p in plans)
                result.moves = [m for p in plans for m in p.changes if m.before != m.after][:MAX_LISTED]
                ids = {m.case_id for m in result.moves if m.case_id}
                result.numbers = dict(db.execute(sa.select(Case.id, Case.number).where(Case.id.in_(ids))).all())
        finally:
            tx.rollback()
    return result


def apply(edit: Edit, *, kind: str, key: str, expected: str, deadlines: bool) -> tuple[Change, RescheduleReport]:
    """Apply a change with its audit row if the data is still as shown (else Stale); reschedule open deadlines."""
    rt = runtime()
    with rt.write() as db, db.begin():
        if version(db, kind, key) != expected:
            raise Stale(kind)
        change = edit(db)
        record(db, f"reference.{kind}", object_type="reference", object_id=f"{kind}:{change.key}"[:64],
               before=_masked(change.before), after=_masked(change.after))
    report = RescheduleReport()
    if deadlines:
        report = reschedule_open_deadlines(rt, reason=f"参考数据变更: {kind} {change.key}（{current_user.username}）")
        with rt.write() as db, db.begin():
            record(db, "deadlines.reschedule", object_type="reference", object_id=kind,
                   after={"cases": report.cases, "timers": report.timers, "problems": len(report.problems)})
    return change, report


def _masked(values: dict[str, object] | None) -> dict[str, object] | None:
    """Return audit values with phone and ID numbers (any spelling) and other long digit runs starred but for their
    last four digits."""
    if values is None:
        return None
    return {k: LONG_NUMBER.sub(_last4, replace_numbers(v, lambda n: _last4_of(n.digits))) if isinstance(v, str)
            else v for k, v in values.items()}


def _last4_of(digits: str) -> str:
    """Return digits with all but the last four starred."""
    return "*" * (len(digits) - 4) + digits[-4:]


def _last4(found: re.Match[str]) -> str:
    return _last4_of(found.group())


def refused_or_stale(action: str, key: str, error: Exception) -> None:
    """Write the audit row of a refused change (validation or a lost race)."""
    with runtime().write() as db, db.begin():
        record(db, f"reference.{action}", object_type="reference", object_id=key[:64], result="failure",
               error="stale" if isinstance(error, Stale) else "invalid",
               problems=[p.code for p in error.problems] if isinstance(error, ImportRejected) else None)


def require(value: str | None, *, allowed: frozenset[str] | None = None) -> str:
    """Return a form value; a missing or unknown one answers 400."""
    if value is None or (allowed is not None and value not in allowed):
        abort(400, description=gettext("请求参数无效，请从页面上重新操作。"))
    return value


def run(edit: Edit, *, kind: str, key: str, deadlines: bool, back: str, title: str) -> ResponseReturnValue:
    """Answer a change form: dry run first where deadlines may move, then apply; 400 refused, 409 stale."""
    expected = require(request.form.get("version"))
    step = request.form.get("step", "preview" if deadlines else "apply")
    try:
        if step == "preview" and deadlines:
            shown = preview(edit, deadlines=True)
            fields = [(k, v) for k, v in request.form.items(multi=True) if k not in ("csrf_token", "step")]
            return render_template("reference/preview.html", preview=shown, fields=fields, back=back, title=title,
                                   action=request.path, form=ActionForm(), when=local_time)
        _change, report = apply(edit, kind=kind, key=key, expected=expected, deadlines=deadlines)
    except (ImportRejected, Stale) as exc:
        refused_or_stale(kind, f"{kind}:{key}", exc)
        texts = rejected_texts(exc, setting=key if kind == "settings" else None) if isinstance(
            exc, ImportRejected) else [gettext(STALE)]
        status = 409 if isinstance(exc, Stale) else 400
        return render_template("reference/refused.html", texts=texts, back=back, title=title), status
    flash(gettext("已保存：%(what)s。", what=title), "success")
    if deadlines:
        flash(gettext("已重排 %(cases)s 件在办工单的时限（移动定时器 %(timers)s 个）。", cases=report.cases,
                      timers=report.timers), "success")
    return redirect(back, code=303)
