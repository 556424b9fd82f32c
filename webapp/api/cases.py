"""Cases over the API (工单): register through the intake screens' validation, read one, search with the page's filters.

The key stands for a user of its unit (auth.viewer_of): lists and reads stay inside `access.case_filter` (another
unit's case is 404) and the requester is shown as that user would see it (processes/cases/disclosure.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import jsonify
from flask import request
from flask.typing import ResponseReturnValue

from processes.cases import access
from processes.cases import disclosure
from processes.cases.models import Case
from processes.runtime.models import ProcessInstance
from webapp.api import bp
from webapp.api import paging
from webapp.api import problems
from webapp.api import schemas
from webapp.api.auth import current_identity
from webapp.api.auth import require_scope
from webapp.api.auth import viewer_of
from webapp.api.spec import Param
from webapp.api.spec import operation
from webapp.context import now
from webapp.context import runtime
from webapp.messages import N_
from webapp.schemaforms.choices import pairs
from webapp.search import query
from webapp.search.criteria import FIELDS
from webapp.search.criteria import read_criteria

FILTERS = tuple(name for name in FIELDS if name not in ("phone", "sort"))
NO_CASE = N_("工单不存在，或您无权查看。")


def iso(moment: datetime | None) -> str | None:
    """Return a time as RFC 3339 (UTC), None as null."""
    return moment.isoformat() if moment else None


def summary(case: Case) -> dict[str, Any]:
    """Return a case as lists show it: routing columns only, no personal data."""
    return {"id": case.id, "number": case.number, "status": case.status, "channel": case.channel,
            "request_type": case.request_type, "urgency": case.urgency, "category": case.category,
            "township": case.township, "lead_department": case.lead_department,
            "created_at": iso(case.created_at), "deadline": iso(case.deadline), "closed_at": iso(case.closed_at)}


def _filter_params() -> list[Param]:
    return [Param(name, {"type": "string", "maxLength": 100}, "与工单查询页面的同名条件相同") for name in FILTERS]


@bp.get("/cases")
@require_scope("cases:read")
@operation("查询工单", "工单", paging.page_schema(schemas.CASE_SUMMARY), params=[*_filter_params(), *paging.PARAMS],
           description="条件与工单查询页面相同（number、status、channel、township、department、date_from … ）；"
                       "按电话查询只在页面上提供。新登记的在前，按游标分页。")
def list_cases() -> ResponseReturnValue:
    """List the cases in the key's reach that match the filters, newest first, by cursor."""
    identity = current_identity()
    errors: dict[str, str] = {}
    after, limit = paging.read(errors, 2)
    with runtime().read() as db:
        criteria, problems_found = read_criteria(
            {name: request.args.get(name, "") for name in FILTERS}, phone_allowed=False,
            townships={code for code, _ in pairs(db, "townships")},
            departments={code for code, _ in pairs(db, "departments")})
        errors.update(problems_found)
        if errors:
            return problems.invalid(errors, where="query")
        conditions = query.conditions(criteria, viewer_of(db, identity), now())
        if after is not None:
            moment = datetime.fromisoformat(str(after[0]))
            conditions.append(sa.or_(Case.created_at < moment,
                                     sa.and_(Case.created_at == moment, Case.number < str(after[1]))))
        found = list(db.scalars(sa.select(Case).where(*conditions)
                                .order_by(Case.created_at.desc(), Case.number.desc()).limit(limit + 1)))
    more = len(found) > limit
    last = found[limit - 1] if more else None
    return jsonify(items=[summary(c) for c in found[:limit]],
                   next=paging.next_link([iso(last.created_at), last.number] if last else None, limit))


@bp.get("/cases/<case_id>")
@require_scope("cases:read")
@operation("读取工单", "工单", schemas.CASE, errors=[404],
           description="诉求人信息按此密钥所代表的用户脱敏（与页面相同）；保密件对单位显示为“（保密）”。")
def get_case(case_id: str) -> ResponseReturnValue:
    """Return one case in the key's reach, its requester and free text shown as its user would see them."""
    with runtime().read() as db:
        viewer = viewer_of(db, current_identity())
        case = access.visible_case(db, viewer, case_id)
        if case is None:
            return problems.problem(404, NO_CASE)
        return jsonify(detail(db, viewer, case))


def detail(db: Any, viewer: access.Viewer, case: Case) -> dict[str, Any]:
    """Return the full representation of a visible case."""
    shown = disclosure.requester_view(db, viewer, case)
    mask = disclosure.text_masker(db, viewer, case)
    instances = list(db.scalars(sa.select(ProcessInstance.id).where(ProcessInstance.case_id == case.id)
                                .order_by(ProcessInstance.created_at)))
    return {**summary(case), "title": mask(case.title), "content": mask(case.content), "location": mask(case.location),
            "updated_at": iso(case.updated_at), "upstream_order_id": case.upstream_order_id,
            "requester": {"mode": shown.mode, "name": shown.name, "phone": shown.phone, "address": shown.address,
                          "caller_type": shown.caller_type},
            "instances": instances}
