"""Tasks over the API (待办, 办理; scope tasks): the open tasks in the key's reach, claim, complete.

A unit's key works its unit's tasks like one of its handlers (access.task_filter with the key as the user
api:<name>); another unit's task is 404. Completing checks the body with the task page's form pipeline and runs
the same command; a task someone else claimed or finished first answers 409 with the page's sentence.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import Connection

from processes.audit import record as audit
from processes.cases import access
from processes.cases.models import Case
from processes.errors import Conflict
from processes.errors import FormDataInvalid
from processes.errors import TaskNotReady
from processes.integration.keys import ApiKeyIdentity
from processes.runtime import assignment
from processes.runtime import commands
from processes.runtime.context import Also
from processes.runtime.context import CommandSummary
from processes.runtime.models import HumanTask
from webapp.api import bp
from webapp.api import forms
from webapp.api import paging
from webapp.api import problems
from webapp.api import schemas
from webapp.api.auth import current_identity
from webapp.api.auth import require_scope
from webapp.api.auth import viewer_of
from webapp.api.cases import iso
from webapp.api.spec import operation
from webapp.context import audit_context
from webapp.context import now
from webapp.context import runtime
from webapp.messages import N_
from webapp.tasks import page

NO_ATTACHMENTS = N_("接口暂不支持附件：请在页面上传。")
COMPLETE_BODY = {"type": "object", "required": ["data"], "properties": {
    "data": {"type": "object", "description": "该任务表单的字段（见 GET /api/v1/tasks/{task_id} 的 form_schema）"}}}


def task_json(task: HumanTask, number: str | None) -> dict[str, Any]:
    """Return a task as lists show it."""
    return {"id": task.id, "instance_id": task.instance_id, "case_id": task.case_id, "case_number": number,
            "bpmn_id": task.bpmn_id, "name": task.name, "role": task.role, "department": task.department,
            "assignee": task.assignee, "form": task.form, "status": task.status, "due_at": iso(task.due_at),
            "created_at": iso(task.created_at)}


def _audit(identity: ApiKeyIdentity, action: str, task: HumanTask, **detail: Any) -> Also:
    def write(conn: Connection, _done: CommandSummary) -> None:
        audit.record(conn, action=action, actor=identity.actor, role="api", at=now(), object_type="task",
                     object_id=task.id, detail={"task": task.bpmn_id, "via": "api", **detail}, **audit_context())
    return write


@bp.get("/tasks")
@require_scope("tasks")
@operation("待办任务", "任务", paging.page_schema(schemas.TASK), params=list(paging.PARAMS),
           description="此密钥（其单位）可办理的未完成任务，先到先列，按游标分页。")
def list_tasks() -> ResponseReturnValue:
    """List the open tasks in the key's reach, oldest first, by cursor."""
    errors: dict[str, str] = {}
    after, limit = paging.read(errors, 2)
    if errors:
        return problems.invalid(errors, where="query")
    with runtime().read() as db:
        viewer = viewer_of(db, current_identity())
        query = (sa.select(HumanTask, Case.number).outerjoin(Case, Case.id == HumanTask.case_id)
                 .where(HumanTask.status == "open", access.task_filter(viewer)))
        if after is not None:
            moment = datetime.fromisoformat(str(after[0]))
            query = query.where(sa.or_(HumanTask.created_at > moment,
                                       sa.and_(HumanTask.created_at == moment, HumanTask.id > str(after[1]))))
        rows = list(db.execute(query.order_by(HumanTask.created_at, HumanTask.id).limit(limit + 1)))
    last = rows[limit - 1][0] if len(rows) > limit else None
    return jsonify(items=[task_json(task, number) for task, number in rows[:limit]],
                   next=paging.next_link([iso(last.created_at), last.id] if last else None, limit))


@bp.get("/tasks/<task_id>")
@require_scope("tasks")
@operation("读取任务及其表单", "任务", schemas.TASK_DETAIL, errors=[404])
def get_task(task_id: str) -> ResponseReturnValue:
    """Return a task in the key's reach with the JSON schema of its form."""
    with runtime().read() as db:
        ctx = page.load(db, viewer_of(db, current_identity()), task_id)
        return jsonify({**task_json(ctx.task, ctx.case.number if ctx.case else None), "form_schema": ctx.schema})


@bp.post("/tasks/<task_id>/claim")
@require_scope("tasks")
@operation("认领任务", "任务", schemas.TASK, errors=[404, 409], description="已被他人认领或已办结时返回 409。")
def claim_task(task_id: str) -> ResponseReturnValue:
    """Claim a task of the key's unit (认领)."""
    identity = current_identity()
    with runtime().read() as db:
        ctx = page.load(db, viewer_of(db, identity), task_id)
    if ctx.task.status != "open":
        raise TaskNotReady("this task is no longer open")
    assignment.claim(runtime(), ctx.task.instance_id, ctx.task.id, actor=identity.actor,
                     also=_audit(identity, "task.claim", ctx.task))
    with runtime().read() as db:
        task = db.get(HumanTask, task_id)
        assert task is not None  # noqa: S101  (claimed just now; a task row is never deleted)
        return jsonify(task_json(task, ctx.case.number if ctx.case else None))


@bp.post("/tasks/<task_id>/complete")
@require_scope("tasks")
@operation("办理（完成）任务", "任务", schemas.COMPLETED, body=COMPLETE_BODY, errors=[404, 409],
           description="按任务表单校验（与办理页面相同）；已被他人认领或办结时返回 409。")
def complete_task(task_id: str) -> ResponseReturnValue:
    """Complete a task with its form's data (办理), checked as the task page checks it."""
    identity, payload = current_identity(), forms.body()
    if payload is None:
        return problems.problem(400, forms.NOT_OBJECT)
    data = payload.get("data")
    if not isinstance(data, dict):
        return problems.invalid({"data": forms.NOT_DATA_OBJECT})
    with runtime().read() as db:
        viewer = viewer_of(db, identity)
        ctx = page.load(db, viewer, task_id)
    if ctx.task.status != "open":
        raise TaskNotReady("this task is no longer open")
    if not access.may_act(viewer, ctx.task):
        raise Conflict(f"task is claimed by {ctx.task.assignee}")
    typed, errors = forms.read(ctx.spec, ctx.schema, data)
    errors.update({name: NO_ATTACHMENTS for name in ctx.attachment_fields() if name in data})
    if errors:
        return problems.invalid({f"data/{name}": text for name, text in errors.items()})
    try:
        status = commands.complete_task(runtime(), ctx.task.instance_id, ctx.task.id, typed, actor=identity.actor,
                                        also=_audit(identity, "task.complete", ctx.task, fields=sorted(typed)))
    except FormDataInvalid as error:  # the runtime's own checks: in the page's words
        found = page.chinese(error.errors or {"_form": str(error)})
        return problems.invalid({f"data/{name}": text for name, text in found.items()})
    return jsonify(task_id=task_id, instance_status=status)
