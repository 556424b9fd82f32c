"""What the instance page draws on its diagrams (流程图): each view's markers, taken flows and timer badges, as JSON.

The state comes from the instance's own snapshot (processes/engine/diagram_state.py); due times from its pending
`timer_job` rows, shown as Beijing time with a countdown. No value of the workflow's data is shown: a per-unit run
is labelled with the unit's name from the reference table, or not at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext
from sqlalchemy.orm import Session

from processes.cases.numbers import mask_numbers
from processes.engine import EngineError
from processes.engine.diagram_state import ROOT
from processes.engine.diagram_state import DiagramFile
from processes.engine.diagram_state import View
from processes.engine.diagram_state import add_history
from processes.engine.diagram_state import flow_ids
from processes.engine.diagram_state import instance_views
from processes.runtime.core import Runtime
from processes.runtime.models import HistoryEvent
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessInstance
from processes.runtime.models import TimerJob
from webapp.messages import N_
from webapp.monitor.diagrams import process_name
from webapp.timefmt import local_time
from webapp.workspace import countdown

STATE_LABELS = {"error": N_("故障"), "token": N_("当前环节"), "active": N_("进行中（子流程）"),
                "timer": N_("等待中的定时器"), "completed": N_("已完成")}
INSTANCE_STATUSES = {"running": N_("进行中"), "waiting": N_("等待中"), "error": N_("故障"), "suspended": N_("挂起"),
                     "completed": N_("已完成"), "terminated": N_("已终止")}
MAX_ERROR = 300
DONE_KINDS = ("task_completed", "status_changed", "timer_fired")  # history rows that say an element ran
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ViewLink:
    """A view as the list beside the diagram shows it."""

    key: str
    label: str
    depth: int
    open_tasks: int


def views_of(db: Session, rt: Runtime, row: ProcessInstance) -> list[View]:
    """Restore the instance's own snapshot and return its views (top process first); none when it cannot be read.

    A snapshot that does not restore is an incident for the runtime, not a reason to hide the instance's history
    and interventions: the page then says the diagram cannot be shown.
    """
    spec, subprocess_specs = rt.specs.get(db, row.definition_id)
    if not row.snapshot:  # a display-only instance of `hotline seed-load`: its diagram, with no state to draw
        return [View(ROOT, str(spec.name))]
    try:
        return instance_views(row.snapshot, spec, subprocess_specs, failed=row.status == "error")
    except (EngineError, ValueError, KeyError, TypeError, AttributeError):
        log.exception("instance %s: snapshot cannot be restored for its diagram", row.id)
        return []


def with_history(db: Session, row: ProcessInstance, views: list[View], index: dict[str, DiagramFile]) -> None:
    """Complete each view's path from the instance's history: a unit's run takes only its own unit's tasks."""
    done = db.execute(sa.select(HistoryEvent.bpmn_id, HumanTask.department)
                      .outerjoin(HumanTask, HumanTask.id == HistoryEvent.task_id)
                      .where(HistoryEvent.instance_id == row.id, HistoryEvent.bpmn_id.is_not(None),
                             HistoryEvent.kind.in_(DONE_KINDS))).all()
    for view in views:
        drawn = index.get(view.process_id)
        if drawn is not None:
            add_history(view, [str(b) for b, unit in done if view.unit is None or unit == view.unit], drawn)


def view_label(view: View, index: dict[str, DiagramFile], units: dict[str, str]) -> str:
    """Name a view: its process, and for a per-unit run the unit it works for."""
    name = process_name(index, view.process_id)
    unit = units.get(view.unit or "")
    return f"{name} · {unit}" if unit else name


def links(views: list[View], index: dict[str, DiagramFile], units: dict[str, str],
          open_ids: set[str]) -> list[ViewLink]:
    """Return the list beside the diagram: every view, indented under the view that called it."""
    by_key = {v.key: v for v in views}

    def depth(view: View) -> int:
        return 0 if view.parent is None or view.parent not in by_key else 1 + depth(by_key[view.parent])

    return [ViewLink(v.key, view_label(v, index, units), depth(v), len(v.tasks & open_ids)) for v in views]


def _timers(db: Session, row: ProcessInstance) -> dict[str, datetime]:
    """Return the due time of each pending timer job of the instance, by the timer's engine task id."""
    rows = db.execute(sa.select(TimerJob.task_id, TimerJob.due_at).where(
        TimerJob.instance_id == row.id, TimerJob.kind == "timer", TimerJob.status.in_(("pending", "claimed"))))
    return {str(task_id): due for task_id, due in rows}


def _badges(view: View, jobs: dict[str, datetime], now: datetime) -> list[dict[str, Any]]:
    """Return a badge per armed timer: its due time in Beijing time and the countdown to it."""
    out = []
    for task_id, bpmn_id in sorted(view.timers.items(), key=lambda item: item[1]):
        due = jobs.get(task_id) or datetime.fromisoformat(view.timer_due[task_id])
        left = countdown(due, now)
        out.append({"element": bpmn_id, "kind": "timer", "text": local_time(due, "%m-%d %H:%M"),
                    "title": gettext("到期 %(due)s（%(left)s）", due=local_time(due), left=left.text),
                    "css": left.css, "due": due.isoformat()})
    return out


def payload(db: Session, row: ProcessInstance, views: list[View], index: dict[str, DiagramFile],
            units: dict[str, str], now: datetime) -> dict[str, Any]:
    """Return the overlay data of every view for diagram.js."""
    jobs = _timers(db, row)
    shown = []
    for view in views:
        drawn = index.get(view.process_id)
        calls: dict[str, list[str]] = {}
        for other in views:
            if other.parent == view.key and other.called_from:
                calls.setdefault(other.called_from, []).append(other.key)
        badges = _badges(view, jobs, now)
        errors = [bpmn_id for bpmn_id, state in view.elements.items() if state == "error"]
        for bpmn_id in errors:
            badges.append({"element": bpmn_id, "kind": "error", "text": gettext("故障"),
                           "title": mask_numbers(row.error or "")[:MAX_ERROR], "css": "error"})
        shown.append({
            "key": view.key, "label": view_label(view, index, units), "process_id": view.process_id,
            "diagram": url_for("monitor.instance_diagram", instance_id=row.id, process_id=view.process_id)
            if drawn else None,
            "parent": view.parent, "called_from": view.called_from, "elements": view.elements,
            "flows": flow_ids(view.flows, drawn) if drawn else [], "badges": badges, "calls": calls,
        })
    return {"mode": "instance", "views": shown, "labels": {k: gettext(v) for k, v in STATE_LABELS.items()}}
