"""Units and townships (承办单位、乡镇街道) and the office settings (系统参数).

A unit is never deleted (cases name it): it is retired by making it inactive, which the catalogue must allow.
Settings are checked by their own parsers; the yellow-light ones move deadlines, so every setting change shows a
dry run of the open cases it would move first.
"""

from __future__ import annotations

from functools import partial

import sqlalchemy as sa
from flask import abort
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from handlers.reference.csvio import COLUMNS
from handlers.reference.editing import save_department
from handlers.reference.editing import save_setting
from handlers.reference.settings import SETTINGS
from processes.reference.models import Department
from processes.reference.models import Setting
from webapp.auth.forms import ActionForm
from webapp.context import runtime
from webapp.reference import bp
from webapp.reference.changes import run
from webapp.reference.changes import version
from webapp.reference.texts import DEPARTMENT_KINDS
from webapp.reference.texts import SETTING_HINTS


@bp.get("/departments")
def departments() -> ResponseReturnValue:
    """Units and townships; ?edit=<code> (or new) opens one's form."""
    editing = request.args.get("edit")
    with runtime().read() as db:
        units = list(db.scalars(sa.select(Department).order_by(Department.kind, Department.code)))
        unit = db.get(Department, editing) if editing and editing != "new" else None
        stamp = version(db, "departments")
    if editing and editing != "new" and unit is None:
        abort(404)
    townships = [u for u in units if u.kind == "township"]
    return render_template("reference/departments.html", units=units, unit=unit, editing=editing, stamp=stamp,
                           townships=townships, kinds=DEPARTMENT_KINDS, form=ActionForm())


@bp.post("/departments/save")
def department_save() -> ResponseReturnValue:
    """Add or change a unit or township (a code, once given, stays)."""
    code = request.form.get("original") or None
    values = {name: request.form.get(name, "").strip() for name in COLUMNS["departments"]}
    values["active"] = "true" if request.form.get("active") else "false"
    if code is not None:
        values["code"] = code
    return run(partial(save_department, code=code, values=values), kind="departments", key=values["code"] or "new",
               deadlines=False, back=url_for("reference.departments"),
               title=gettext("单位 %(name)s", name=values["name"] or values["code"]))


@bp.get("/settings")
def settings() -> ResponseReturnValue:
    """The office settings with their meaning; each row has its own form."""
    with runtime().read() as db:
        stored = {s.name: s for s in db.scalars(sa.select(Setting))}
        stamps = {name: version(db, "settings", name) for name in SETTINGS}
    rows = [(name, stored[name].value if name in stored else spec.default, spec.note, stamps[name],
             SETTING_HINTS.get(name)) for name, spec in sorted(SETTINGS.items())]
    return render_template("reference/settings.html", rows=rows, form=ActionForm())


@bp.post("/settings/<name>")
def setting_save(name: str) -> ResponseReturnValue:
    """Change one setting: dry run of the deadlines it moves, then apply."""
    if name not in SETTINGS:
        abort(404)
    value = request.form.get("value", "").strip()
    return run(partial(save_setting, name=name, value=value), kind="settings", key=name, deadlines=True,
               back=url_for("reference.settings"), title=gettext("参数 %(name)s = %(value)s", name=name, value=value))
