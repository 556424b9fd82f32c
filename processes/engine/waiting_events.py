"""The catch events a workflow waits on: timers with their stored due times, and messages by name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimeDateEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.task import Task


@dataclass(frozen=True)
class PendingTimer:
    """A waiting timer with its exact due time; `attached_to` is the BPMN id of the task it guards."""

    task_id: str
    bpmn_id: str
    kind: str  # duration / date / cycle
    due: datetime
    attached_to: str | None
    host_task_id: str | None = None  # the guarded task's engine id (tells multi-instance copies apart)


def timer_definition(task: Task) -> Any:
    """Return the timer definition a waiting task holds (an event-based gateway owns its timer), or None."""
    definition = task.task_spec.event_definition
    if isinstance(definition, MultipleEventDefinition):
        definition = next((d for d in definition.event_definitions if isinstance(d, TimerEventDefinition)), None)
    return definition if isinstance(definition, TimerEventDefinition) else None


def pending_timer(task: Task) -> PendingTimer | None:
    """Return the waiting timer of one event task with its due time, or None when it holds no live timer."""
    definition = timer_definition(task)
    value = task.internal_data.get("event_value")
    if definition is None or value is None:
        return None
    if isinstance(definition, CycleTimerEventDefinition):
        if value["cycles"] == 0:
            return None
        due, kind = TimerEventDefinition.get_datetime(value["next"]), "cycle"
    elif isinstance(definition, TimeDateEventDefinition):
        due, kind = TimerEventDefinition.parse_time_or_duration(value), "date"
    else:
        due, kind = TimerEventDefinition.get_datetime(value), "duration"
    host = _host(task)
    return PendingTimer(str(task.id), task.task_spec.bpmn_id or task.task_spec.name, kind, due,
                        str(host.task_spec.bpmn_id or host.task_spec.name) if host else None,
                        str(host.id) if host else None)


def _host(task: Task) -> Task | None:
    """Return the activity a boundary timer is attached to (its sibling under the split)."""
    parent = task.parent
    if parent is None or not isinstance(parent.task_spec, BoundaryEventSplit):
        return None
    for sibling in parent.children:
        if not isinstance(sibling.task_spec, BoundaryEvent):
            return sibling
    return None


def store_due(task: Task, definition: Any, due: datetime) -> None:
    """Write a new due time into a waiting timer's event value, in the form its definition stores."""
    if isinstance(definition, CycleTimerEventDefinition):
        task.internal_data["event_value"] = {**task.internal_data["event_value"], "next": due.isoformat()}
    else:
        task.internal_data["event_value"] = due.isoformat()


def skip_missed_cycles(wf: BpmnWorkflow, now: datetime) -> int:
    """Catch-up policy: a cycle timer that missed several occurrences fires once, not once per miss.

    A timer event with the property `catch_up` = `all` keeps the engine's own behaviour (every missed one).
    Returns how many occurrences were skipped.
    """
    skipped = 0
    for task in list(wf.event_manager.tasks.values()):
        definition = timer_definition(task)
        value = task.internal_data.get("event_value")
        props = (getattr(task.task_spec, "extensions", None) or {}).get("properties", {})
        if not isinstance(definition, CycleTimerEventDefinition) or not value or props.get("catch_up") == "all":
            continue
        step = timedelta(seconds=float(value["duration"]))
        missed = int((now - datetime.fromisoformat(value["next"])) / step) if step.total_seconds() > 0 else 0
        if missed < 1 or value["cycles"] == 0:
            continue
        remaining = value["cycles"] if value["cycles"] < 0 else max(1, value["cycles"] - missed)
        task.internal_data["event_value"] = {
            **value, "cycles": remaining, "next": (datetime.fromisoformat(value["next"]) + missed * step).isoformat()}
        skipped += missed
    return skipped


def waiting_message(wf: BpmnWorkflow, name: str) -> Any:
    """Return the definition of a message named `name` that some task of the workflow waits for, or None."""
    for task in list(wf.event_manager.tasks.values()):
        definition = task.task_spec.event_definition
        candidates = getattr(definition, "event_definitions", None) or [definition]
        for candidate in candidates:
            if isinstance(candidate, MessageEventDefinition) and candidate.name == name:
                return candidate
    return None


def waiting_messages(wf: BpmnWorkflow) -> list[str]:
    """Return the names of messages this workflow waits for."""
    names = []
    for task in list(wf.event_manager.tasks.values()):
        definition = task.task_spec.event_definition
        for candidate in getattr(definition, "event_definitions", None) or [definition]:
            if isinstance(candidate, MessageEventDefinition):
                names.append(candidate.name)
    return names
