"""Process instances over the API (流程实例, scope cases:read): status, where it stands now, and its history.

Read from the projections (human_task, timer_job, history_event), never from the workflow snapshot; an instance
is visible when its case is (access.case_filter), else 404.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import jsonify
from flask.typing import ResponseReturnValue

from processes.runtime.models import HistoryEvent
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessDefinition
from processes.runtime.models import TimerJob
from webapp.api import bp
from webapp.api import paging
from webapp.api import problems
from webapp.api import schemas
from webapp.api.auth import current_identity
from webapp.api.auth import require_scope
from webapp.api.auth import viewer_of
from webapp.api.cases import iso
from webapp.api.spec import operation
from webapp.context import runtime
from webapp.messages import N_
from webapp.monitor.instance import visible_instance

NO_INSTANCE = N_("流程实例不存在，或您无权查看。")
HISTORY_PAGE = paging.page_schema(schemas.EVENT)


@bp.get("/instances/<instance_id>")
@require_scope("cases:read")
@operation("流程实例状态", "流程实例", schemas.INSTANCE, errors=[404],
           description="status 为 running / waiting / completed / error / suspended / terminated；current 列出"
                       "正在等待的任务和定时器。")
def get_instance(instance_id: str) -> ResponseReturnValue:
    """Return an instance's status and the elements it waits at (open tasks, pending timers)."""
    with runtime().read() as db:
        found = visible_instance(db, viewer_of(db, current_identity()), instance_id)
        if found is None:
            return problems.problem(404, NO_INSTANCE)
        row = found[0]
        version = db.scalar(sa.select(ProcessDefinition.version).where(ProcessDefinition.id == row.definition_id))
        tasks = db.scalars(sa.select(HumanTask).where(HumanTask.instance_id == row.id, HumanTask.status == "open")
                           .order_by(HumanTask.created_at, HumanTask.id))
        current = [{"bpmn_id": t.bpmn_id, "kind": "task", "name": t.name, "task_id": t.id, "due_at": iso(t.due_at),
                    "assignee": t.assignee, "department": t.department} for t in tasks]
        timers = db.scalars(sa.select(TimerJob).where(TimerJob.instance_id == row.id, TimerJob.kind == "timer",
                                                      TimerJob.status.in_(("pending", "claimed")))
                            .order_by(TimerJob.due_at))
        current += [{"bpmn_id": j.bpmn_id, "kind": "timer", "due_at": iso(j.due_at)} for j in timers]
        return jsonify(id=row.id, process_key=row.process_key, version=version, status=row.status,
                       case_id=row.case_id, created_at=iso(row.created_at), updated_at=iso(row.updated_at),
                       current=current)


@bp.get("/instances/<instance_id>/history")
@require_scope("cases:read")
@operation("流程实例历史", "流程实例", HISTORY_PAGE, errors=[404], params=list(paging.PARAMS),
           description="按时间先后：登记、完成任务（含填写了哪些字段）、认领、定时器触发等。")
def instance_history(instance_id: str) -> ResponseReturnValue:
    """Return an instance's history events, oldest first, by cursor."""
    errors: dict[str, str] = {}
    after, limit = paging.read(errors, 1)
    if errors:
        return problems.invalid(errors, where="query")
    with runtime().read() as db:
        if visible_instance(db, viewer_of(db, current_identity()), instance_id) is None:
            return problems.problem(404, NO_INSTANCE)
        query = sa.select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
        if after is not None:
            query = query.where(HistoryEvent.id > int(after[0]))
        events = list(db.scalars(query.order_by(HistoryEvent.id).limit(limit + 1)))
    last = events[limit - 1] if len(events) > limit else None
    return jsonify(items=[{"at": iso(e.at), "kind": e.kind, "actor": e.actor, "bpmn_id": e.bpmn_id,
                           "task_id": e.task_id, "fields": [str(f) for f in e.fields or []]}
                          for e in events[:limit]],
                   next=paging.next_link([last.id] if last else None, limit))
