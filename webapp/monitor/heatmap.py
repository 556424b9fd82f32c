"""The heat map (热力图) of one process version: open and overdue tasks and time spent, drawn on its diagrams.

Counts come from the task projection only (processes/monitoring/heatmap.py); each diagram of the version (the
channel process, 工单办理, 部门办理 …) shows the elements it draws. Supervisors, duty leaders and leaders.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Response
from flask import abort
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy.orm import Session

from processes.engine.diagram_state import DiagramFile
from processes.monitoring import heatmap as load
from processes.monitoring.heatmap import ElementLoad
from processes.runtime.models import ProcessDefinition
from webapp.context import now
from webapp.context import runtime
from webapp.monitor import bp
from webapp.monitor.diagrams import element_names
from webapp.monitor.diagrams import index_of
from webapp.monitor.diagrams import process_name
from webapp.monitor.diagrams import xml_response
from webapp.params import positive_int
from webapp.workspace import duration

LEVELS = 5  # colour steps of the scale, 1 (few open) … 5 (most); 0 is no open task
MAX_KEY = 64
MAX_VERSION = 1_000_000


def _definition(db: Session, key: str, version: int) -> ProcessDefinition:
    """Return the version asked for, or answer 404."""
    found = load.definition(db, key, version) if len(key) <= MAX_KEY and 0 < version <= MAX_VERSION else None
    if found is None:
        abort(404, description=gettext("没有这个流程版本：%(key)s 第 %(version)s 版", key=key[:MAX_KEY],
                                       version=version))
    return found


def _level(n: int, top: int) -> int:
    """Return the colour step of a count against the busiest element (0 for none)."""
    return 0 if n <= 0 or top <= 0 else max(1, min(LEVELS, -(-n * LEVELS // top)))


def _element(found: ElementLoad, top: int) -> dict[str, Any]:
    mean = duration(int(found.mean_seconds)).strip() if found.mean_seconds is not None else ""
    return {"open": found.open, "overdue": found.overdue, "done": found.done, "mean": mean,
            "level": _level(found.open, top),
            "title": gettext("待办 %(open)s，超期 %(overdue)s，已办 %(done)s，平均用时 %(mean)s", open=found.open,
                             overdue=found.overdue, done=found.done, mean=mean or "—")}


def views(definition: ProcessDefinition, index: dict[str, DiagramFile],
          found: dict[str, ElementLoad]) -> list[dict[str, Any]]:
    """Return one view per diagram of the version, the top process first, with the load of its elements."""
    top = max((f.open for f in found.values()), default=0)
    order = [definition.process_id, *sorted(pid for pid in index if pid != definition.process_id)]
    out = []
    for process_id in order:
        drawn = index.get(process_id)
        if drawn is None:
            continue
        elements = {bpmn_id: _element(f, top) for bpmn_id, f in found.items() if bpmn_id in drawn.names}
        calls: dict[str, list[str]] = {}
        for bpmn_id, called in drawn.calls.items():
            if called in index:
                calls[bpmn_id] = [called]
        out.append({"key": process_id, "label": process_name(index, process_id), "process_id": process_id,
                    "diagram": url_for("monitor.heatmap_diagram", key=definition.key, version=definition.version,
                                       process_id=process_id),
                    "heat": elements, "calls": calls, "open": sum(e["open"] for e in elements.values())})
    return out


def _data(db: Session, definition: ProcessDefinition, at: datetime) -> dict[str, Any]:
    index = index_of(definition)
    return {"mode": "heatmap", "views": views(definition, index, load.element_load(db, definition.id, at)),
            "levels": LEVELS}


@bp.get("/heatmap/<key>/<int:version>")
def heatmap(key: str, version: int) -> ResponseReturnValue:
    """Show the heat map of a process version, with a picker of its other versions."""
    with runtime().read() as db:
        definition = _definition(db, key, version)
        data = _data(db, definition, now())
        versions = load.versions(db, key)
        keys = list(db.scalars(sa.select(ProcessDefinition.key).distinct().order_by(ProcessDefinition.key)))
    return render_template("monitor/heatmap.html", definition=definition, state=data, versions=versions, keys=keys,
                           names=element_names(index_of(definition)),
                           total_open=sum(v["open"] for v in data["views"]),
                           data_url=url_for("monitor.heatmap_data", key=key, version=version))


@bp.get("/heatmap")
def heatmaps() -> ResponseReturnValue:
    """Open the heat map of a process's newest version (the picker submits key and version here)."""
    key = request.args.get("key", "")
    with runtime().read() as db:
        wanted = request.args.get("version", "")
        version = positive_int(wanted, 9_999_999) or db.scalar(
            sa.select(sa.func.max(ProcessDefinition.version)).where(ProcessDefinition.key == key[:MAX_KEY]))
        if not version:
            first = db.scalar(sa.select(ProcessDefinition.key).order_by(ProcessDefinition.key).limit(1))
            if not key and first:
                return redirect(url_for("monitor.heatmaps", key=first))
            abort(404, description=gettext("没有这个流程：%(key)s", key=key[:MAX_KEY]))
    return redirect(url_for("monitor.heatmap", key=key, version=version))


@bp.get("/heatmap/<key>/<int:version>/data")
def heatmap_data(key: str, version: int) -> ResponseReturnValue:
    """Return the heat map's numbers per diagram as JSON."""
    with runtime().read() as db:
        data = _data(db, _definition(db, key, version), now())
    response = jsonify(data)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/heatmap/<key>/<int:version>/diagram/<process_id>")
def heatmap_diagram(key: str, version: int, process_id: str) -> Response:
    """Return the BPMN XML of one process of the version."""
    with runtime().read() as db:
        return xml_response(_definition(db, key, version), process_id)
