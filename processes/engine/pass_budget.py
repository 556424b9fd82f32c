"""Pass budget (循环上限): how often one element may run in one instance, so a runaway loop becomes an incident.

Rework loops drawn with sequence flows (审核退回 → 重新办理) are allowed. A loop whose way out is never taken
would otherwise run until a person or the engine gives up; instead, the run of an element past the budget stops
the command with a PassBudgetExceeded naming the element and the count, and the instance is saved in error (故障).
The counts live in the root task's internal data, so they travel with the snapshot and survive pruning.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException

DEFAULT_MAX_PASSES = 200
_KEY = "hotline_passes"


class PassBudgetExceeded(WorkflowTaskException):  # type: ignore[misc]
    """An element was about to run more often than the per-instance pass budget allows."""


def counted_element(task: Any) -> str | None:
    """Return the BPMN id a run of this task counts against, or None.

    Engine-internal specs (no BPMN id) and the copies a multi-instance or loop task makes (`id [child]`) are not
    counted: their repetition is bounded by their own cardinality or loopMaximum, not by sequence flows.
    """
    spec = task.task_spec
    bpmn_id = getattr(spec, "bpmn_id", None)
    return str(bpmn_id) if bpmn_id and spec.name == bpmn_id else None


def count_pass(task: Any, limit: int) -> None:
    """Count one run of the task's element; raise PassBudgetExceeded (and count nothing) past the budget."""
    element = counted_element(task)
    if element is None:
        return
    passes = passes_of(task.workflow.top_workflow)
    count = passes.get(element, 0) + 1
    if count > limit:
        raise PassBudgetExceeded(
            f"element {element} would run {count} times, over the pass budget of {limit} per instance "
            "(a loop that does not end?)", task=task)
    passes[element] = count


def passes_of(workflow: Any) -> dict[str, int]:
    """Return the run counts of a workflow by BPMN id (stored on its root task)."""
    counts: dict[str, int] = workflow.task_tree.internal_data.setdefault(_KEY, {})
    return counts
