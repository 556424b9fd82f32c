"""What an open user task sees of its workflow's data, read for its form page (决策信息), never written back.

Worklists and timers read projections; a task page that must show what the person decides on (the 派单目录
suggestion, the days a unit asked for, the compiled upward report) reads the data the engine handed to that task.
It holds routing values only, never personal data (`processes.cases.personal` keeps that out of workflows). The
snapshot is read without a lock: a command that ran in between leaves the page with what it saw, and completing
the task goes through the version check as always.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from processes import engine
from processes.engine import runtime as wfops
from processes.errors import NotFound
from processes.errors import TaskNotReady
from processes.runtime.core import Runtime
from processes.runtime.models import ProcessInstance

_ROW = sa.select(ProcessInstance.definition_id, ProcessInstance.snapshot).where(
    ProcessInstance.id == sa.bindparam("id"))


def open_task_data(rt: Runtime, instance_id: str, task_id: str) -> dict[str, Any]:
    """Return a copy of the data an open user task sees (JSON values), or {} when the task is not open."""
    with rt.reader.connect() as conn:
        row = conn.execute(_ROW, {"id": instance_id}).first()
        if row is None or not row.snapshot:
            return {}
        spec, subprocess_specs = rt.specs.get(conn, row.definition_id)
    workflow = engine.load_workflow(row.snapshot, spec, subprocess_specs)
    try:
        task = wfops.find_ready_task(workflow, task_id)
    except (NotFound, TaskNotReady):
        return {}
    copied: dict[str, Any] = json.loads(json.dumps(dict(task.data), default=str))
    return copied
