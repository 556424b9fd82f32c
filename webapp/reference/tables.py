"""Time-limit rules (办理时限规则) and the dispatch catalogue (派单目录): lists, one row's form, save and delete.

A rule change moves open cases' deadlines, so it shows a dry run first; a catalogue change only steers new
dispatch suggestions and applies at once. Both are checked as a whole table by the CSV import's rules.
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
from handlers.reference.editing import delete_catalogue
from handlers.reference.editing import delete_sla
from handlers.reference.editing import save_catalogue
from handlers.reference.editing import save_sla
from handlers.reference.sla import ANY
from handlers.reference.sla import COMPLEXITIES
from handlers.reference.sla import REQUEST_TYPES
from handlers.reference.sla import SOURCES
from handlers.reference.sla import URGENCIES
from processes.reference.models import Department
from processes.reference.models import DispatchRule
from processes.reference.models import SlaRule
from webapp.auth.forms import ActionForm
from webapp.context import runtime
from webapp.params import whole_number
from webapp.reference import bp
from webapp.reference.changes import run
from webapp.reference.changes import version
from webapp.reference.texts import UNIT_LABELS

CHOICES = {"source": sorted(SOURCES), "request_type": sorted(REQUEST_TYPES), "urgency": sorted(URGENCIES),
           "complexity": sorted(COMPLEXITIES)}


def _form(kind: str) -> dict[str, str]:
    """Return a row's values from the form, every column present (missing ones empty)."""
    return {name: request.form.get(name, "").strip() for name in COLUMNS[kind]}


def _id(text: str | None) -> int | None:
    """Return a row id from the address or form ('' or 'new': a new row); a malformed one answers 404."""
    if not text or text == "new":
        return None
    number = whole_number(text, high=999_999_999)
    if number is None:
        abort(404)
    return number


@bp.get("/sla")
def sla() -> ResponseReturnValue:
    """The time-limit rules, by stage; ?edit=<id> (or new) opens a rule's form."""
    editing = request.args.get("edit")
    with runtime().read() as db:
        rules = list(db.scalars(sa.select(SlaRule).order_by(SlaRule.stage, SlaRule.source, SlaRule.request_type,
                                                            SlaRule.urgency, SlaRule.complexity)))
        rule = db.get(SlaRule, _id(editing)) if editing and editing != "new" else None
        stamp = version(db, "sla")
    if editing and editing != "new" and rule is None:
        abort(404)
    return render_template("reference/sla.html", rules=rules, rule=rule, editing=editing, stamp=stamp,
                           choices=CHOICES, units=UNIT_LABELS, any=ANY, form=ActionForm())


@bp.post("/sla/save")
def sla_save() -> ResponseReturnValue:
    """Add or change a rule: dry run of the deadlines it moves, then apply."""
    rule_id, values = _id(request.form.get("id")), _form("sla")
    return run(partial(save_sla, rule_id=rule_id, values=values), kind="sla", key=str(rule_id or "new"),
               deadlines=True, back=url_for("reference.sla"),
               title=gettext("时限规则 %(key)s", key="/".join(values[k] or ANY for k in COLUMNS["sla"][:5])))


@bp.post("/sla/<int:rule_id>/delete")
def sla_delete(rule_id: int) -> ResponseReturnValue:
    """Delete a rule (never a required catch-all): dry run, then apply."""
    return run(partial(delete_sla, rule_id=rule_id), kind="sla", key=str(rule_id), deadlines=True,
               back=url_for("reference.sla"), title=gettext("删除时限规则 %(id)s", id=rule_id))


@bp.get("/catalogue")
def catalogue() -> ResponseReturnValue:
    """The dispatch catalogue (派单目录); ?edit=<id> (or new) opens a line's form."""
    editing = request.args.get("edit")
    with runtime().read() as db:
        lines = list(db.scalars(sa.select(DispatchRule).order_by(DispatchRule.category, DispatchRule.township)))
        line = db.get(DispatchRule, _id(editing)) if editing and editing != "new" else None
        units = {d.code: d for d in db.scalars(sa.select(Department).order_by(Department.kind, Department.code))}
        stamp = version(db, "catalogue")
    if editing and editing != "new" and line is None:
        abort(404)
    return render_template("reference/catalogue.html", lines=lines, line=line, editing=editing, units=units,
                           stamp=stamp, form=ActionForm())


@bp.post("/catalogue/save")
def catalogue_save() -> ResponseReturnValue:
    """Add or change a catalogue line (lead and assisting units must be active)."""
    line_id, values = _id(request.form.get("id")), _form("catalogue")
    values["assisting"] = ",".join(request.form.getlist("assisting_units")) or values["assisting"]
    return run(partial(save_catalogue, rule_id=line_id, values=values), kind="catalogue", key=str(line_id or "new"),
               deadlines=False, back=url_for("reference.catalogue"),
               title=gettext("派单目录 %(category)s", category=values["category"]))


@bp.post("/catalogue/<int:line_id>/delete")
def catalogue_delete(line_id: int) -> ResponseReturnValue:
    """Delete a catalogue line."""
    return run(partial(delete_catalogue, rule_id=line_id), kind="catalogue", key=str(line_id), deadlines=False,
               back=url_for("reference.catalogue"), title=gettext("删除派单目录第 %(id)s 条", id=line_id))
