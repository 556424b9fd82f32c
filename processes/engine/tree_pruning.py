"""Prune the finished history of a workflow's task tree, so sequence-flow loops keep a flat tree.

SpiffWorkflow never prunes: every pass of a back edge hangs the next pass under the last, so the tree is as deep
as the instance is old. Measured on 3.2.0 with a rework loop of two user tasks, a script and a parallel split:
100 passes reach depth 717 and take 47 s of engine time (each step walks the tree from its root), and near depth
1,000 `Task.is_descendant_of` hits Python's recursion limit (RecursionError); past depth 1,000 the task iterators
stop descending, so a READY task is never run and `is_completed()` says True (spiffworkflow.md §6.1).

Called at the start of a command, so everything removed was finished and projected by an earlier one. Only the
chain above the lowest common ancestor of the live tasks is touched: a completed task there whose next task on the
chain is completed too is cut out (that next task keeps its own copy of the data and takes its parent), and
finished branches hanging off it go with it. Everything at or below that ancestor stays as it is, so a pending
join still sees every branch that reached it and a waiting task still inherits from its own parent. Old passes'
join tasks are gone too, which also keeps them from counting as tokens of the current pass.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

LIVE = TaskState.NOT_FINISHED_MASK | TaskState.ERROR  # an ERROR task waits for its retry with its parent's data


def prune_history(wf: BpmnWorkflow) -> int:
    """Prune the top workflow and each running subprocess; return how many tasks were removed."""
    removed = _prune(wf, wf)
    for sub in list(wf.subprocesses.values()):
        removed += _prune(wf, sub)
    return removed


def _prune(top: BpmnWorkflow, workflow: Any) -> int:
    chain = _chain_to_common_ancestor(workflow)
    removed = 0
    for task, below in pairwise(chain):
        if task is workflow.task_tree or task is workflow.last_task or task.state != TaskState.COMPLETED:
            continue
        if below.state != TaskState.COMPLETED:
            continue  # `below` may still inherit from `task`, or be found by a join through it
        for child in task.children:
            if child is not below:
                removed += _drop_branch(top, workflow, child)
        parent = task.parent
        if parent is None or task._children != [below.id]:
            continue
        parent._children = [below.id if cid == task.id else cid for cid in parent._children]
        below._parent = parent.id
        del workflow.tasks[task.id]
        removed += 1
    return removed


def _chain_to_common_ancestor(workflow: Any) -> list[Any]:
    """Return the tasks from the root down to the lowest common ancestor of the live tasks ([] when none is)."""
    paths = []
    for task in list(workflow.tasks.values()):
        if task.state & LIVE:
            path = []
            node = task
            while node is not None:
                path.append(node)
                node = node.parent
            paths.append(path[::-1])
    if not paths:
        return []
    common = paths[0]
    for path in paths[1:]:
        size = 0
        while size < min(len(common), len(path)) and common[size] is path[size]:
            size += 1
        common = common[:size]
    return common


def _drop_branch(top: BpmnWorkflow, workflow: Any, start: Any) -> int:
    """Remove a finished branch (no live task in it, or it would be on the chain) and the subprocesses it ran."""
    stack, gone = [start], []
    while stack:
        task = stack.pop()
        gone.append(task.id)
        stack.extend(task.children)
    if workflow.last_task is not None and workflow.last_task.id in gone:
        return 0  # a subprocess hands its last task's data back to its caller
    parent = start.parent
    if parent is not None:
        parent._children = [cid for cid in parent._children if cid != start.id]
    for task_id in gone:
        workflow.tasks.pop(task_id, None)
    pending = [task_id for task_id in gone if task_id in top.subprocesses]
    while pending:
        sub = top.subprocesses.pop(pending.pop())
        pending += [task_id for task_id in sub.tasks if task_id in top.subprocesses]
    return len(gone)
