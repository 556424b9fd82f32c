"""Move a running workflow onto another version's spec (实例迁移): check by BPMN id, then re-bind in place.

Task ids, data, claims and the due times stored in waiting timers stay as they are: only each task's spec is
swapped for the element of the same id in the new version, and the predicted (not yet reached) part of the tree is
drawn again from the new diagram. A snapshot restores its tasks by spec name, so every task in the tree, finished
ones included, must find its element in the new version; anything that does not is a reason not to move.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

REACHED = TaskState.READY | TaskState.WAITING | TaskState.STARTED  # open now
AHEAD = TaskState.FUTURE | TaskState.PREDICTED_MASK  # drawn ahead of an open task from its diagram


@dataclass(frozen=True)
class MigrationProblem:
    """Why a workflow cannot move: a code, the BPMN element it concerns and the (sub)process it is in."""

    code: str  # open_missing / open_type / done_missing / called_missing / state
    element: str
    process: str
    state: str = ""


def _workflows(wf: BpmnWorkflow) -> Iterator[tuple[Any, str | None]]:
    """Yield the top workflow and each running subprocess with the name of its spec."""
    yield wf, None
    for sub in list(wf.subprocesses.values()):
        yield sub, sub.spec.name


def _target(spec_name: str | None, new_spec: Any, new_subs: dict[str, Any]) -> Any:
    return new_spec if spec_name is None else new_subs.get(spec_name)


def _element(task: Task) -> str:
    """The BPMN id of a task; the engine's helper tasks (`x.BoundaryEventSplit`) count as their element `x`."""
    return str(getattr(task.task_spec, "bpmn_id", None) or str(task.task_spec.name).split(".")[0])


def _typename(spec: Any) -> str:
    return type(spec).__name__


def problems(wf: BpmnWorkflow, new_spec: Any, new_subs: dict[str, Any]) -> list[MigrationProblem]:
    """Return why this workflow cannot move to the new spec (empty: it can)."""
    found: list[MigrationProblem] = []
    for workflow, name in _workflows(wf):
        target = _target(name, new_spec, new_subs)
        process = name or str(wf.spec.name)
        if target is None:
            found.append(MigrationProblem("called_missing", str(name), str(wf.spec.name)))
            continue
        for task in workflow.tasks.values():
            if _redrawn(task):
                continue  # drawn again from the new diagram
            state = str(TaskState.get_name(task.state))
            candidate = target.task_specs.get(task.task_spec.name)
            is_open = not task.state & TaskState.FINISHED_MASK
            if candidate is None:
                code = "open_missing" if is_open else "done_missing"
                found.append(MigrationProblem(code, _element(task), process, state))
            elif is_open and _typename(candidate) != _typename(task.task_spec):
                found.append(MigrationProblem("open_type", _element(task), process, state))
            elif is_open and isinstance(task.task_spec, SubWorkflowTask) and \
                    getattr(candidate, "spec", None) != getattr(task.task_spec, "spec", None):
                found.append(MigrationProblem("called_missing", _element(task), process, state))
    return _one_per_element(found)


def _one_per_element(found: list[MigrationProblem]) -> list[MigrationProblem]:
    """Keep one problem per element and process, an open task's before a finished one's."""
    kept: dict[tuple[str, str], MigrationProblem] = {}
    for problem in found:
        key = (problem.process, problem.element)
        if key not in kept or (kept[key].code == "done_missing" and problem.code != "done_missing"):
            kept[key] = problem
    return list(kept.values())


def _redrawn(task: Task) -> bool:
    """Return whether a task lies ahead of an open one: the new diagram draws that part again."""
    node: Task | None = task
    while node is not None and node.state & AHEAD:
        node = node.parent
    return node is not task and node is not None and bool(node.state & REACHED)


def rebind(wf: BpmnWorkflow, new_spec: Any, new_subs: dict[str, Any]) -> None:
    """Swap every task's spec for the new version's element of the same id and re-draw what lies ahead.

    Call only after `problems` returned nothing; raises KeyError otherwise.
    """
    wf.spec, wf.subprocess_specs = new_spec, dict(new_subs)
    for workflow, name in _workflows(wf):
        target = _target(name, new_spec, new_subs)
        workflow.spec = target
        open_now = [t for t in workflow.tasks.values() if t.state & REACHED]
        for task in open_now:
            for child in [c for c in task.children if c.state & AHEAD]:
                _drop(workflow, task, child)
        for task in workflow.tasks.values():
            task.task_spec = target.task_specs[task.task_spec.name]
        for task in open_now:
            task.task_spec._predict(task, mask=AHEAD | REACHED)


def _drop(workflow: Any, parent: Task, task: Task) -> None:
    """Remove a task that lies ahead, and everything under it, from the tree."""
    parent._children.remove(task.id)
    for one in list(task):
        workflow.tasks.pop(one.id, None)
