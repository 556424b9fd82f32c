"""Which BPMN element an engine error came from, so an incident names its failing step (故障环节)."""

from __future__ import annotations


def failed_element(exc: BaseException) -> str | None:
    """The BPMN id of the task spec an engine error carries (WorkflowTaskException), else None."""
    spec = getattr(exc, "task_spec", None)
    bpmn_id = getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)
    return str(bpmn_id)[:128] if bpmn_id else None
