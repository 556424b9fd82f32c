"""Operations on one in-memory BpmnWorkflow; the services layer wraps each in a transaction."""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from processes.engine.clockpatch import engine_now
from processes.engine.pass_budget import DEFAULT_MAX_PASSES as DEFAULT_MAX_PASSES
from processes.engine.pass_budget import count_pass
from processes.engine.tree_pruning import prune_history
from processes.engine.waiting_events import PendingTimer
from processes.engine.waiting_events import pending_timer
from processes.engine.waiting_events import skip_missed_cycles
from processes.engine.waiting_events import store_due
from processes.engine.waiting_events import timer_definition
from processes.engine.waiting_events import waiting_message
from processes.errors import InvalidState
from processes.errors import NotFound
from processes.errors import TaskNotReady

MAX_ENGINE_STEPS = 1000
OPEN_STATES = TaskState.FUTURE | TaskState.WAITING | TaskState.READY | TaskState.STARTED


class EngineStepLimit(Exception):
    """A command ran more engine steps than allowed (a loop with no wait state)."""


@dataclass(frozen=True)
class OpenTask:
    """A READY user or manual task, as the projection needs it."""

    id: str
    bpmn_id: str
    name: str
    lane: str | None
    properties: Mapping[str, str]
    data: Mapping[str, Any]


@dataclass(frozen=True)
class Outcome:
    """Where a workflow stands after a command."""

    status: str  # running / waiting / completed / error
    error: str | None = None


def all_tasks(wf: BpmnWorkflow) -> Iterator[Task]:
    """Yield every task of the workflow and its subprocesses, without the depth-limited iterator."""
    yield from wf.tasks.values()
    for sub in list(wf.subprocesses.values()):
        yield from sub.tasks.values()


def new_workflow(spec: Any, subprocess_specs: dict[str, Any], data: Mapping[str, Any], engine: Any) -> BpmnWorkflow:
    """Create a workflow, seed the start data and run it to its first wait state."""
    wf = BpmnWorkflow(spec, subprocess_specs, script_engine=engine)
    start = wf.get_next_task(state=TaskState.READY) or wf.task_tree
    start.data.update(data)
    run_engine(wf)
    return wf


def run_engine(wf: BpmnWorkflow, max_steps: int | None = None) -> None:
    """Run engine tasks until only human tasks and waits remain, with a step cap."""
    steps = 0
    limit = max_steps if max_steps is not None else int(getattr(wf.script_engine, "max_steps", MAX_ENGINE_STEPS))
    passes = max_passes(wf)

    def count(task: Task) -> None:
        nonlocal steps
        steps += 1
        if steps > limit:
            raise EngineStepLimit(f"more than {limit} engine steps in one command")
        count_pass(task, passes)

    wf.do_engine_steps(will_complete_task=count)
    # do_engine_steps ends with refresh_timers(), which moves an already expired timer to READY without
    # running it (pitfall §4.2): keep stepping until no engine task is left READY.
    while any(t.state == TaskState.READY and not t.task_spec.manual for t in all_tasks(wf)):
        wf.do_engine_steps(will_complete_task=count)


def max_passes(wf: BpmnWorkflow) -> int:
    """Return how often one element may run in this instance (the script engine carries the runtime's setting)."""
    return int(getattr(wf.script_engine, "max_passes", DEFAULT_MAX_PASSES))


def open_tasks(wf: BpmnWorkflow) -> list[OpenTask]:
    """Return the READY human tasks."""
    out = []
    for task in all_tasks(wf):
        spec = task.task_spec
        if task.state == TaskState.READY and spec.manual:
            props = (getattr(spec, "extensions", None) or {}).get("properties", {})
            out.append(OpenTask(str(task.id), spec.bpmn_id or spec.name, spec.bpmn_name or spec.bpmn_id or spec.name,
                                getattr(spec, "lane", None), props, task.data))
    return out


def find_ready_task(wf: BpmnWorkflow, task_id: str) -> Task:
    """Return the READY human task with this id, or raise TaskNotReady / NotFound."""
    try:
        task = wf.get_task_from_id(UUID(task_id))
    except (ValueError, SpiffWorkflowException, KeyError):
        task = None
    if task is None:
        raise NotFound(f"task {task_id} not found")
    if task.state != TaskState.READY or not task.task_spec.manual:
        raise TaskNotReady(f"task {task_id} is {TaskState.get_name(task.state)}, not open")
    return task


def complete_task(wf: BpmnWorkflow, task_id: str, data: Mapping[str, Any]) -> Task:
    """Complete a human task with form data and run on to the next wait state."""
    prune_history(wf)
    task = find_ready_task(wf, task_id)
    count_pass(task, max_passes(wf))
    task.data.update(data)
    task.run()
    run_engine(wf)
    return task


def pending_timers(wf: BpmnWorkflow) -> list[PendingTimer]:
    """Return every waiting timer with its due time, subprocesses and event gateways included."""
    timers = (pending_timer(task) for task in list(wf.event_manager.tasks.values()))
    return [timer for timer in timers if timer is not None]


def set_timer_due(wf: BpmnWorkflow, task_id: str, due: datetime) -> None:
    """Rewrite the stored due time of one waiting timer (extension, corrected deadline, new calendar)."""
    task = wf.get_task_from_id(UUID(task_id))
    definition = timer_definition(task) if task is not None else None
    if task is None or definition is None or task.state != TaskState.WAITING:
        raise InvalidState(f"timer {task_id} is not waiting")
    store_due(task, definition, due)


def fire_timers(wf: BpmnWorkflow) -> None:
    """Fire expired timers: refresh moves them to READY, engine steps run them (one call alone does not)."""
    prune_history(wf)
    skip_missed_cycles(wf, engine_now())
    wf.refresh_timers()
    run_engine(wf)


def catch_message(wf: BpmnWorkflow, name: str, payload: Mapping[str, Any]) -> None:
    """Deliver a message to whatever task of this workflow waits for it, or raise InvalidState."""
    prune_history(wf)
    definition = waiting_message(wf, name)
    if definition is None:
        raise InvalidState(f"no task waits for message {name!r}")
    correlations = definition.calculate_correlations(wf.script_engine, definition.correlation_properties,
                                                     dict(payload))
    # internal=False: a message no task accepts (wrong correlation) is refused, not queued in bpmn_events.
    if wf.event_manager.catch(BpmnEvent(definition, dict(payload), correlations), internal=False) == 0:
        raise InvalidState(f"no task accepts message {name!r} with this correlation")
    run_engine(wf)


def retry_errors(wf: BpmnWorkflow) -> int:
    """Put every task in error back to READY and run again; return how many were retried."""
    prune_history(wf)
    failed = [t for t in all_tasks(wf) if t.state == TaskState.ERROR]
    for task in failed:
        task._set_state(TaskState.READY)  # the library's own transition; no public retry exists in 3.2
    run_engine(wf)
    return len(failed)


def cancel(wf: BpmnWorkflow) -> None:
    """Cancel every unfinished task (terminate)."""
    wf.cancel()


def outcome(wf: BpmnWorkflow) -> Outcome:
    """Classify the workflow; never report completed while a task is still open (depth-limit guard)."""
    tasks = list(all_tasks(wf))
    failed = [t for t in tasks if t.state == TaskState.ERROR]
    if failed:
        return Outcome("error", f"task {failed[0].task_spec.bpmn_id or failed[0].task_spec.name} failed")
    unfinished = [t for t in tasks if t.state & OPEN_STATES]
    stuck = [t for t in unfinished if t.state == TaskState.READY and not t.task_spec.manual]
    if stuck:
        return Outcome("error", f"engine stalled with task {stuck[0].task_spec.bpmn_id} ready")
    if wf.is_completed():
        if unfinished:
            return Outcome("error", f"engine reports completion but {len(unfinished)} tasks are open")
        return Outcome("completed")
    if any(t.state == TaskState.READY and t.task_spec.manual for t in unfinished):
        return Outcome("running")
    return Outcome("waiting")


def correlations(wf: BpmnWorkflow) -> dict[str, str]:
    """Flatten the workflow's correlation keys to {property: value} for indexing."""
    out: dict[str, str] = {}
    for key in (wf.correlations or {}).values():
        if isinstance(key, Mapping):
            out.update({str(k): str(v) for k, v in key.items()})
    return out


def task_depth(wf: BpmnWorkflow) -> int:
    """Return the depth of the deepest task (bounded when repetition is modelled correctly)."""
    return max((t.depth for t in all_tasks(wf)), default=0)


def task_state(wf: BpmnWorkflow, task_id: str) -> str | None:
    """Return the state name of a task, or None when it is no longer in the tree."""
    try:
        task = wf.get_task_from_id(UUID(task_id))
    except (ValueError, KeyError, SpiffWorkflowException):
        return None
    return None if task is None else str(TaskState.get_name(task.state))


def compact(wf: BpmnWorkflow) -> int:
    """Drop finished subprocess workflows (their data is already copied out); return how many.

    Without this every loop round of a subprocess stays in the snapshot and each step slows down:
    1,000 re-handle rounds grew a case to 3.2 MB and 48 s of engine time.
    """
    finished = []
    for task_id, sub in wf.subprocesses.items():
        try:
            parent = wf.get_task_from_id(task_id)
        except SpiffWorkflowException:  # its call activity went with a cancel (终止): the run is finished too
            parent = None
        if sub.is_completed() and (parent is None or parent.state & (TaskState.COMPLETED | TaskState.CANCELLED)):
            finished.append(task_id)
    for task_id in finished:
        del wf.subprocesses[task_id]
    return len(finished)
