"""部门考评 (/reports/evaluation): each unit's monthly scorecard graded within its class, the cases behind every
deduction, and the weights the office edits (supervisors and leaders; checked, audited)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from processes.metrics import METRICS
from processes.metrics import Period
from processes.reference.models import Department
from processes.reports import evaluation as scoring
from webapp import casework
from webapp import labels
from webapp.context import now
from webapp.context import runtime
from webapp.messages import N_
from webapp.reports import bp
from webapp.reports.common import WEIGHT_EDITORS
from webapp.reports.common import scopes

BAD_MONTH = N_("月份格式不正确，应为 2026-11。")
SAVED = N_("考评方案已保存，自下次计算起生效。")
NOT_A_NUMBER = N_("请填写数字。")


def _month() -> Period:
    """Return the month asked for (?month=2026-11), last month by default; 400 for anything else."""
    text = request.args.get("month", "")
    if not text:
        first = now().date().replace(day=1)
        return Period.month(date.fromordinal(first.toordinal() - 1))
    try:
        if len(text) != 7:
            raise ValueError(text)
        return Period.month(date.fromisoformat(text + "-01"))
    except ValueError:
        abort(400, gettext(BAD_MONTH))


def _units(db: sa.orm.Session) -> dict[str, tuple[str, str]]:
    """Return the units in the user's reach: code → (name, class)."""
    reach = scopes()
    rows = db.execute(sa.select(Department.code, Department.name, Department.kind).where(
        Department.active.is_(True), Department.kind.in_(list(scoring.CLASSES))))
    return {str(c): (str(n), str(k)) for c, n, k in rows if reach is None or c in reach}


@bp.get("/evaluation")
def evaluation() -> ResponseReturnValue:
    """Show each unit's scorecard for a month, by class of unit and grade, never as one ranking."""
    month = _month()
    with runtime().read() as db:
        scheme, row = scoring.current(db)
        cards = scoring.scorecards(db, month, _units(db), scheme, now=now())
    return render_template("reports/evaluation.html", cards=cards, month=f"{month.start:%Y-%m}", metrics=METRICS,
                           classes=scoring.CLASSES, scheme=scheme, scheme_row=row,
                           may_edit=bool(current_user.roles & WEIGHT_EDITORS))


@bp.get("/evaluation/cases")
def evaluation_cases() -> ResponseReturnValue:
    """List the cases behind one deduction (unit, metric, month); another unit's answers 404."""
    month, unit, metric = _month(), request.args.get("unit", ""), request.args.get("metric", "")
    if metric not in scoring.SCORED:
        abort(404)
    with runtime().read() as db:
        if unit not in _units(db):
            abort(404)
        lines = scoring.deductions(db, month, unit, metric, now=now())
        name = _units(db)[unit][0]
    return render_template("reports/evaluation_cases.html", lines=lines, unit=name, metric=METRICS[metric],
                           month=f"{month.start:%Y-%m}", labels=labels)


def _read_form(scheme: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Return the scheme the form describes (weights and targets in %) and the fields that are not numbers."""
    errors: dict[str, str] = {}
    read: dict[str, Any] = {"classes": {}, "grades": {}}

    def number(name: str) -> float:
        try:
            return float(request.form.get(name, "").strip())
        except ValueError:
            errors[name] = gettext(NOT_A_NUMBER)
            return 0.0

    for klass in scoring.CLASSES:
        lines = {}
        for metric in scoring.SCORED:
            weight = number(f"{klass}.{metric}.weight") if request.form.get(f"{klass}.{metric}.weight") else 0
            if weight:
                lines[metric] = {"weight": int(weight) if float(weight).is_integer() else weight,
                                 "target": round(number(f"{klass}.{metric}.target") / 100, 4)}
        read["classes"][klass] = lines
    for code, _ in scoring.GRADES:
        read["grades"][code] = number(f"grade.{code}")
    return read, errors


@bp.route("/evaluation/weights", methods=["GET", "POST"])
def weights() -> ResponseReturnValue:
    """Edit the scorecard's weights, targets and grade lines (a new version, audited with before and after)."""
    with runtime().read() as db:
        scheme, row = scoring.current(db)
    if request.method == "GET":
        return render_template("reports/weights.html", scheme=scheme, row=row, errors={}, problems=[],
                               metrics=METRICS, scored=scoring.SCORED, classes=scoring.CLASSES,
                               grades=scoring.GRADES)
    proposed, errors = _read_form(scheme)
    problems = [] if errors else scoring.problems(proposed)
    if errors or problems:
        return render_template("reports/weights.html", scheme=proposed, row=row, errors=errors, problems=problems,
                               metrics=METRICS, scored=scoring.SCORED, classes=scoring.CLASSES,
                               grades=scoring.GRADES), 400
    note = request.form.get("note", "").strip()[:200]
    with runtime().write() as db, db.begin():
        saved = scoring.save(db, proposed, by=current_user.username, now=now(), note=note)
        casework.record(db, "evaluation.scheme", object_type="evaluation_scheme", object_id=str(saved.id),
                        before=json.loads(json.dumps(scheme)), after=proposed, note=note)
    flash(gettext(SAVED), "success")
    return redirect(url_for("reports.evaluation"), 303)
