"""The instance page (流程实例 / 流程图): the instance's diagrams with its state, its history and the interventions.

Supervisors, duty leaders and leaders open any instance; a unit's handler only the instances of cases it may open
(access.case_filter), anything else answers 404 like an absent id. The page is drawn from the instance's own
definition version and its own snapshot; the history lines are the case page's (webapp/cases/timeline.py), masked
the same way.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Response
from flask import abort
from flask import jsonify
from flask import render_template
from flask import url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import orm
from sqlalchemy.orm import Session

from processes.cases import access
from processes.cases import disclosure
from processes.cases import numbers
from processes.cases.access import Viewer
from processes.cases.models import Case
from processes.cases.models import CaseText
from processes.runtime.models import HistoryEvent
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessDefinition
from processes.runtime.models import ProcessInstance
from webapp import labels
from webapp.cases import timeline
from webapp.cases.timeline import Event
from webapp.casework import viewer
from webapp.context import now
from webapp.context import runtime
from webapp.monitor import bp
from webapp.monitor import instance_state as overlays
from webapp.monitor.diagrams import element_names
from webapp.monitor.diagrams import index_of
from webapp.monitor.diagrams import process_name
from webapp.monitor.diagrams import xml_response
from webapp.permissions import RULES
from webapp.permissions import allowed
from webapp.workspace import real_names
from webapp.workspace import unit_names

MAX_ID = 36


def visible_instance(db: Session, who: Viewer, instance_id: str) -> tuple[ProcessInstance, Case | None] | None:
    """Return the instance and its case if this user may open it, else None (the caller answers 404)."""
    if len(instance_id) > MAX_ID:
        return None
    row = db.get(ProcessInstance, instance_id)
    if row is None:
        return None
    if row.case_id is None:
        return (row, None) if who.office else None
    case = access.visible_case(db, who, row.case_id)
    return (row, case) if case is not None else None


def _found(db: Session, instance_id: str) -> tuple[ProcessInstance, Case | None, ProcessDefinition]:
    found = visible_instance(db, viewer(), instance_id)
    if found is None:
        abort(404)
    row, case = found
    # its files and serialized spec are large JSON: read only on a diagram cache miss (index_of) or for the XML
    definition = db.get(ProcessDefinition, row.definition_id, options=[
        orm.defer(ProcessDefinition.files), orm.defer(ProcessDefinition.spec_json)])
    if definition is None:
        abort(404)
    return row, case, definition


def history(db: Session, who: Viewer, row: ProcessInstance, case: Case | None, names_of: dict[str, str],
            tasks: list[HumanTask], units: dict[str, str] | None = None) -> list[Event]:
    """Return the instance's history as the case page words it (who, when, what was decided), masked alike."""
    rows = list(db.scalars(sa.select(HistoryEvent).where(HistoryEvent.instance_id == row.id)
                           .order_by(HistoryEvent.at, HistoryEvent.id)))
    task_ids = {t.id for t in tasks}
    texts = [t for t in db.scalars(sa.select(CaseText).where(CaseText.case_id == case.id)
                                   .order_by(CaseText.created_at, CaseText.id)) if t.task_id in task_ids
             or (t.task_id is None and t.field == "direct_answer")] if case is not None else []
    mask = disclosure.text_masker(db, who, case) if case is not None else numbers.mask_numbers
    names = real_names(db, [t.assignee for t in tasks] + [e.actor for e in rows] + [t.created_by for t in texts]
                       + [str((e.detail or {}).get("assignee") or "") for e in rows])
    units = unit_names(db) if units is None else units
    sources = timeline.sources(db, case.id if case else "", tasks, texts, names, units, names_of, mask)
    return timeline.events(rows, sources)


@bp.get("/instances/<instance_id>")
def instance(instance_id: str) -> ResponseReturnValue:
    """Show one instance: its diagrams with completed path, tokens, timers and errors, its history, interventions."""
    who, rt = viewer(), runtime()
    with rt.read() as db:
        row, case, definition = _found(db, instance_id)
        index = index_of(definition)
        tasks = list(db.scalars(sa.select(HumanTask).where(HumanTask.instance_id == row.id)
                                .order_by(HumanTask.created_at, HumanTask.id)))
        open_tasks = [t for t in tasks if t.status == "open"]
        units = unit_names(db)
        views = overlays.views_of(db, rt, row)
        overlays.with_history(db, row, views, index)
        context: dict[str, Any] = {
            "instance": row, "case": case, "definition": definition, "open_tasks": open_tasks,
            "events": history(db, who, row, case, element_names(index), tasks, units),
            "views": overlays.links(views, index, units, {t.id for t in open_tasks}),
            "process": process_name(index, definition.process_id), "units": units,
            "names": real_names(db, [t.assignee for t in open_tasks]),
            "state": overlays.payload(db, row, views, index, units, now()),
        }
    return render_template("monitor/instance.html", labels=labels, statuses=overlays.INSTANCE_STATUSES,
                           error_text=numbers.mask_numbers(row.error or "")[:overlays.MAX_ERROR],
                           state_url=url_for("monitor.instance_state", instance_id=row.id),
                           heatmap_url=url_for("monitor.heatmap", key=definition.key, version=definition.version),
                           may_heatmap=may_open("monitor.heatmap", who), may_board=may_open("monitor.index", who),
                           **context)


def may_open(endpoint: str, who: Viewer) -> bool:
    """Return whether the permission table lets this user open an endpoint (for links worth showing)."""
    return allowed(RULES.get(endpoint), signed_in=True, roles=who.roles)


@bp.get("/instances/<instance_id>/state")
def instance_state(instance_id: str) -> ResponseReturnValue:
    """Return the overlays of every view of the instance as JSON (the page's script draws them)."""
    rt = runtime()
    with rt.read() as db:
        row, _case, definition = _found(db, instance_id)
        index = index_of(definition)
        views = overlays.views_of(db, rt, row)
        overlays.with_history(db, row, views, index)
        data = overlays.payload(db, row, views, index, unit_names(db), now())
    response = jsonify(data)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/instances/<instance_id>/diagram/<process_id>")
def instance_diagram(instance_id: str, process_id: str) -> Response:
    """Return the BPMN XML of one process of the instance's own definition version."""
    with runtime().read() as db:
        _row, _case, definition = _found(db, instance_id)
        return xml_response(definition, process_id)
