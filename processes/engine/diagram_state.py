"""Where one instance stands in its diagrams (流程图状态): completed path, tokens, armed timers, errors, per view.

A view is one diagram drawn for the instance: the top process, or one run of a called process (调用活动, e.g. 部门办理
once per unit). Embedded subprocesses (handling_rounds, unit_rounds) are drawn expanded inside their parent's
diagram, so their tasks belong to the view that holds them. Only the instance page reads this: it is the one screen
allowed to restore its own snapshot; lists and the heat map read projections.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from uuid import UUID

from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from processes.engine.snapshot import load_workflow
from processes.engine.waiting_events import pending_timer
from processes.engine.xmlsafe import BPMN_NS
from processes.engine.xmlsafe import parse_bpmn

ROOT = "root"
# What a marker says, strongest first: an element shows the first that applies to any of its tasks.
STATES = ("error", "token", "active", "timer", "completed")
_NS = {"bpmn": BPMN_NS}
_REACHED = TaskState.COMPLETED | TaskState.READY | TaskState.STARTED | TaskState.WAITING | TaskState.ERROR


@dataclass
class View:
    """One diagram of an instance and the state of its elements (by BPMN id)."""

    key: str  # ROOT, or the engine id of the call-activity task that started this run
    process_id: str  # the BPMN process drawn
    parent: str | None = None  # the view holding the call activity
    called_from: str | None = None  # BPMN id of that call activity in the parent view
    unit: str | None = None  # the unit code a per-unit run (部门办理) works for, when it has one
    elements: dict[str, str] = field(default_factory=dict)  # bpmn id → one of STATES
    flows: set[tuple[str, str]] = field(default_factory=set)  # (source, target) sequence flows taken
    timers: dict[str, str] = field(default_factory=dict)  # engine task id of an armed timer → its BPMN id
    timer_due: dict[str, str] = field(default_factory=dict)  # engine task id → due time (ISO) from the snapshot
    tasks: set[str] = field(default_factory=set)  # engine ids of every task in this view (to join projections)


@dataclass(frozen=True)
class DiagramFile:
    """What one BPMN file of a definition draws: its process, element names, call activities."""

    filename: str
    process_id: str
    names: dict[str, str]  # bpmn id → name, every element of the process and its embedded subprocesses
    calls: dict[str, str]  # call-activity bpmn id → called process id
    flows: dict[tuple[str, str], list[str]]  # (source, target) → ids of the sequence flows between them


def diagram_index(files: Mapping[str, str]) -> dict[str, DiagramFile]:
    """Return, by process id, the file of a definition that draws each process (.bpmn files only)."""
    found: dict[str, DiagramFile] = {}
    for filename in sorted(files):
        if not filename.endswith(".bpmn"):
            continue
        root = parse_bpmn(files[filename], filename=filename)
        for process in root.iterfind("bpmn:process", _NS):
            names = {str(el.get("id")): str(el.get("name") or "") for el in process.iter()
                     if isinstance(el.tag, str) and el.get("id")}
            calls = {str(el.get("id")): str(el.get("calledElement") or "")
                     for el in process.iterfind(".//bpmn:callActivity", _NS)}
            found[str(process.get("id"))] = DiagramFile(filename, str(process.get("id")), names, calls,
                                                        _sequence_flows(process))
    return found


def _sequence_flows(process: etree._Element) -> dict[tuple[str, str], list[str]]:
    """Return the ids of the sequence flows between each (source, target) pair, embedded subprocesses included."""
    flows: dict[tuple[str, str], list[str]] = {}
    for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        flows.setdefault((str(flow.get("sourceRef")), str(flow.get("targetRef"))), []).append(str(flow.get("id")))
    return flows


def instance_views(snapshot: str, spec: Any, subprocess_specs: dict[str, Any], *, failed: bool) -> list[View]:
    """Restore one instance's snapshot and return its views, the top process first.

    `failed` is the instance's status being error: when no task is in ERROR (a stalled engine), the engine tasks
    left READY are the failing elements.
    """
    wf = load_workflow(snapshot, spec, subprocess_specs)
    return workflow_views(wf, failed=failed)


def workflow_views(wf: BpmnWorkflow, *, failed: bool = False) -> list[View]:
    """Return the views of a restored workflow, the top process first, then called runs in tree order."""
    owner: dict[UUID, Any] = {task_id: wf for task_id in wf.tasks}
    for sub in wf.subprocesses.values():
        owner.update({task_id: sub for task_id in sub.tasks})
    views: dict[str, View] = {ROOT: View(ROOT, str(wf.spec.name))}
    keys: dict[int, str] = {id(wf): ROOT}

    def view_key(workflow: Any) -> str:
        if id(workflow) in keys:
            return keys[id(workflow)]
        parent_task = owner[workflow.parent_task_id].tasks[workflow.parent_task_id]
        outer = view_key(owner[workflow.parent_task_id])
        if isinstance(parent_task.task_spec, CallActivity):
            key = str(workflow.parent_task_id)
            unit = parent_task.data.get("unit")  # the multi-instance item: which unit this run is for
            views[key] = View(key, str(workflow.spec.name), outer, _bpmn_id(parent_task),
                              unit if isinstance(unit, str) and len(unit) <= 64 else None)
        else:
            key = outer  # an embedded subprocess is drawn inside its parent's diagram
        keys[id(workflow)] = key
        return key

    for workflow in [wf, *wf.subprocesses.values()]:
        view = views[view_key(workflow)]
        for task in workflow.tasks.values():
            _place(view, task)
    if failed and not any("error" in v.elements.values() for v in views.values()):
        for workflow in [wf, *wf.subprocesses.values()]:
            for task in workflow.tasks.values():
                if task.state == TaskState.READY and not task.task_spec.manual and _bpmn_id(task):
                    _mark(views[view_key(workflow)], _bpmn_id(task), "error")
    return [views[ROOT], *(v for k, v in views.items() if k != ROOT)]


def _bpmn_id(task: Task) -> str:
    return str(getattr(task.task_spec, "bpmn_id", None) or "")


def _mark(view: View, bpmn_id: str, state: str) -> None:
    """Keep the strongest state an element has reached."""
    old = view.elements.get(bpmn_id)
    if old is None or STATES.index(state) < STATES.index(old):
        view.elements[bpmn_id] = state


def _place(view: View, task: Task) -> None:
    """Record one task's state, and the flow that led to it, on its view."""
    view.tasks.add(str(task.id))
    bpmn_id = _bpmn_id(task)
    if not bpmn_id or not task.state & _REACHED:
        return
    state = _state_of(task)
    if state:
        _mark(view, bpmn_id, state)
    timer = pending_timer(task) if task.state == TaskState.WAITING else None
    if timer is not None:
        view.timers[str(task.id)] = bpmn_id
        view.timer_due[str(task.id)] = timer.due.isoformat()
    source = _previous(task)
    if source is not None and source != bpmn_id:
        view.flows.add((source, bpmn_id))


def _state_of(task: Task) -> str:
    spec = task.task_spec
    if task.state == TaskState.ERROR:
        return "error"
    if task.state == TaskState.COMPLETED:
        return "completed"
    if isinstance(spec, BoundaryEvent):
        return "timer" if pending_timer(task) is not None else ""  # armed on its host, not a token
    if isinstance(spec, (SubWorkflowTask, LoopTask)):
        return "active"  # a subprocess or call activity holding the token inside it
    return "token"


def _previous(task: Task) -> str | None:
    """Return the BPMN id of the completed element this task was reached from (skipping engine-only tasks)."""
    parent = task.parent
    while parent is not None and not _bpmn_id(parent):
        parent = parent.parent
    if parent is None or parent.state != TaskState.COMPLETED:
        return None
    return _bpmn_id(parent)


def flow_ids(pairs: Iterable[tuple[str, str]], drawn: DiagramFile) -> list[str]:
    """Return the ids of the sequence flows taken, from (source, target) pairs, in one diagram."""
    return sorted({flow for pair in pairs for flow in drawn.flows.get(pair, [])})


def add_history(view: View, bpmn_ids: Iterable[str], drawn: DiagramFile) -> None:
    """Mark elements the history says were done as completed, where the snapshot no longer holds them.

    The runtime prunes finished passes from the task tree (tree_pruning.py), so the snapshot alone forgets the
    early path; history rows remember the human tasks and recorded steps. Flows between two reached elements of
    this diagram are marked taken when the source is completed, so the path reads as one line.
    """
    for bpmn_id in bpmn_ids:
        if bpmn_id in drawn.names and bpmn_id not in view.elements:
            view.elements[bpmn_id] = "completed"
    for source, target in drawn.flows:
        if view.elements.get(source) == "completed" and view.elements.get(target) in STATES:
            view.flows.add((source, target))
