"""Set one data value of an open human task: the unit a supervisor hands a unit's task to (改派).

The task's department is read from its data by name (`department_variable`), so changing that value is what moves
the task, and every later step of its subprocess (deadlines, SMS, the reply) follows the new unit.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow

from processes.engine.runtime import find_ready_task
from processes.errors import InvalidState


def set_task_value(wf: BpmnWorkflow, task_id: str, name: str, value: Any) -> None:
    """Set a plain (undotted) data value of a READY human task; a dotted path cannot be changed."""
    if not name or "." in name:
        raise InvalidState(f"task data value {name!r} cannot be set")
    find_ready_task(wf, task_id).data[name] = value
