"""Direct answers at intake (直接答复): register, then complete 初审 and 直接答复 in the operator's name.

The diagram decides: the case_lifecycle triage task offers `direct_answer`, and its direct_answer task records
the text given to the citizen. Both are completed here only when the runtime offers them to this user (their
role and unit, unclaimed or claimed by them); otherwise the case waits at triage like any other, and the answer
text given at intake is kept on the case (case_text without a task) for whoever records the direct answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from processes.cases import access
from processes.cases import forms
from processes.cases.access import Viewer
from processes.cases.personal import split_data
from processes.cases.personal import store_personal
from processes.errors import RuntimeErrorBase
from processes.runtime import commands
from processes.runtime.context import CommandSummary
from processes.runtime.core import Runtime
from processes.runtime.models import HumanTask
from webapp import schemaforms
from webapp.casework import record

TRIAGE_FIELDS = ("request_type", "urgency", "category")
ONLY_CONSULT = "只有咨询类诉求可以当场直接答复。"


def read_answer(form: schemaforms.FormData, schema: Mapping[str, Any] | None,
                request_type: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    """Return (answer data, errors) of the direct-answer part of an intake form (the direct_answer task's form)."""
    errors: dict[str, str] = {}
    if request_type != "consult":
        errors["request_type"] = ONLY_CONSULT
    if schema is None:
        errors["direct_answer"] = "流程中没有直接答复表单。"
        return {}, errors
    answer, problems = schemaforms.read(schemaforms.describe(schema), form)
    errors.update(problems)
    for name, message in forms.errors_of(schema, answer).items():
        errors.setdefault(name, message)
    return answer, errors


def _open_task(rt: Runtime, viewer: Viewer, case_id: str, bpmn_id: str) -> HumanTask | None:
    """Return the case's open task with this BPMN id if this user may complete it now."""
    with rt.read() as db:
        task_id = db.scalar(sa.select(HumanTask.id).where(
            HumanTask.case_id == case_id, HumanTask.bpmn_id == bpmn_id, HumanTask.status == "open"))
        task = access.workable_task(db, viewer, task_id) if task_id else None
        return task if task is not None and access.may_act(viewer, task) else None


def answer_now(rt: Runtime, viewer: Viewer, started: commands.Started, intake: Mapping[str, Any],
               answer: Mapping[str, Any]) -> bool:
    """Complete triage (直接答复) and the direct answer for the user; return False when left to triage."""
    if started.case_id is None or started.case_number is None:
        return False
    triage = {name: intake[name] for name in TRIAGE_FIELDS if name in intake}
    steps = (("triage", {**triage, "triage_result": "direct_answer"}), ("direct_answer", dict(answer)))
    for bpmn_id, data in steps:
        task = _open_task(rt, viewer, started.case_id, bpmn_id)
        if task is None:
            return False

        def audit(conn: Connection, _done: CommandSummary, step: str = bpmn_id) -> None:
            record(conn, "task.complete", object_type="case", object_id=started.case_number, task=step,
                   via="intake")

        try:
            commands.complete_task(rt, task.instance_id, task.id, data, actor=viewer.username, also=audit)
        except RuntimeErrorBase:
            return False  # taken by someone else meanwhile: the case goes on from where it stands
    return True


def keep_answer(rt: Runtime, viewer: Viewer, started: commands.Started, answer: Mapping[str, Any]) -> None:
    """Store the answer text given at intake on the case (no task), audited, when triage comes first."""
    text = answer.get("direct_answer")
    if not text or started.case_id is None:
        return
    with rt.write() as db, db.begin():
        store_personal(db, started.case_id, split_data({"direct_answer": text}), task_id=None,
                       actor=viewer.username, now=rt.clock())
        record(db, "case.note", object_type="case", object_id=started.case_number, fields=["direct_answer"])
