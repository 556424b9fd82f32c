"""Handlers for case decisions around dispatch: flags, duplicates and merging (并单), re-dispatch (改派), urgency,
the classification confirmed at triage (初审: request type, urgency, category, 复杂件)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from handlers.base import HandlerContext
from handlers.base import HandlerError
from handlers.base import handler
from handlers.cases import record_status
from handlers.reference.sla import COMPLEXITIES
from handlers.reference.sla import REQUEST_TYPES
from processes.cases.models import Case
from processes.cases.models import Requester

# Flags, not states (domain.md §2); a diagram may set only these.
FLAGS = frozenset({"doubtful", "leader_instructed", "notice_candidate", "unreachable", "escalated",
                   "callback_result"})
URGENCIES = frozenset({"normal", "urgent", "critical"})
# A case in one of these states is finished and cannot take a duplicate.
FINISHED = ("closed", "published", "archived", "answered", "transferred", "rejected", "merged", "returned_to_110")
DUPLICATE_WINDOW = timedelta(days=30)
MAX_DUPLICATES = 10


def _case(ctx: HandlerContext) -> Case:
    """Load the instance's case row, or fail."""
    # populate_existing: the registering command may hold this row in its session from before its own updates
    case = ctx.session.get(Case, ctx.case_id, populate_existing=True) if ctx.case_id else None
    if case is None:
        raise HandlerError("this instance has no case")
    return case


@handler("case.flag", label_zh="标记工单", label_en="Flag the case",
         params={"flag": "标记（doubtful 存疑/leader_instructed 领导批办/…）",
                                                   "value": "值（默认 true）"})
def flag(ctx: HandlerContext, flag: str, value: Any = True) -> dict[str, Any]:
    """Set one flag of the case (存疑、领导批办、通报候选、无法联系、回访结果)."""
    if flag not in FLAGS:
        raise HandlerError(f"unknown flag {flag!r}; use one of {', '.join(sorted(FLAGS))}")
    if not isinstance(value, (bool, str)) or (isinstance(value, str) and len(value) > 32):
        raise HandlerError("a flag value is true/false or a short code")
    case = _case(ctx)
    case.flags = {**(case.flags or {}), flag: value}  # a new dict: JSON columns do not track in-place changes
    if flag == "callback_result":  # the metrics (回访率, 满意率) read the column, not the JSON
        case.callback_result = str(value)
    case.updated_at = ctx.now
    return {"flag": flag, "value": value}


CALLBACK_RESULTS = frozenset({"satisfied", "basically_satisfied", "unsatisfied", "unreachable"})


@handler("case.record_callback", label_zh="记录回访结果", label_en="Record the callback result",
         params={"result": "回访结果（satisfied/basically_satisfied/unsatisfied/unreachable）",
                 "solved": "是否解决（联系上时）"})
def record_callback(ctx: HandlerContext, result: str, solved: Any = None) -> dict[str, Any]:
    """Record the callback's result (回访结果) and whether the matter was solved (是否解决) on the case.

    The flag stays for the pages that read it; the columns are what 回访率, 满意率 and 解决率 count. An unreachable
    requester answered nothing, so 是否解决 is left empty then.
    """
    if result not in CALLBACK_RESULTS:
        raise HandlerError(f"unknown callback result {result!r}")
    if solved is not None and not isinstance(solved, bool):
        raise HandlerError("solved is true, false or empty")
    case = _case(ctx)
    case.flags = {**(case.flags or {}), "callback_result": result}
    case.callback_result = result
    case.solved = None if result == "unreachable" else solved
    case.updated_at = ctx.now
    return {"flag": "callback_result", "value": result, "solved": case.solved}


@handler("case.find_duplicates", label_zh="查找重复件", label_en="Find duplicate cases", writes=False)
def find_duplicates(ctx: HandlerContext) -> dict[str, Any]:
    """List open cases of the last 30 days from the same requester phone or the same upstream order (疑似重复)."""
    case = _case(ctx)
    matches = []
    if case.upstream_order_id:
        matches.append(Case.upstream_order_id == case.upstream_order_id)
    if case.requester_id:  # the blind index: equal phones give equal indexes, the number itself stays encrypted
        # the requesters' ids first, in one query: as a subquery of the case search PostgreSQL walked every case
        # by date (1.3 s at 1 M cases)
        index = sa.select(Requester.phone_index).where(Requester.id == case.requester_id).scalar_subquery()
        same_phone = list(ctx.session.scalars(sa.select(Requester.id).where(Requester.phone_index == index)))
        if same_phone:
            matches.append(Case.requester_id.in_(same_phone))
    if not matches:
        return {"count": 0, "numbers": []}
    numbers = list(ctx.session.scalars(
        sa.select(Case.number).where(sa.or_(*matches), Case.id != case.id, Case.status.not_in(FINISHED),
                                     Case.created_at >= ctx.now - DUPLICATE_WINDOW)
        .order_by(Case.created_at.desc()).limit(MAX_DUPLICATES)))
    return {"count": len(numbers), "numbers": numbers}


@handler("case.merge", label_zh="并单", label_en="Merge cases", params={"into": "并入的工单编号"})
def merge(ctx: HandlerContext, into: str) -> dict[str, Any]:
    """Merge this case into an open one (并单): it ends as merged and points at the case it joined."""
    case = _case(ctx)
    target = ctx.session.scalar(sa.select(Case).where(Case.number == str(into or "")))
    if target is None or target.id == case.id:
        raise HandlerError(f"no other case numbered {into!r}")
    if target.status in FINISHED:
        raise HandlerError(f"case {into} is already finished ({target.status}); register a new case instead")
    record_status(ctx, "merged")
    case.duplicate_of, case.status, case.updated_at = target.id, "merged", ctx.now
    return {"merged_into": target.number}


@handler("case.redispatch", label_zh="改派", label_en="Re-dispatch", params={"old": "原承办单位", "new": "改派单位"})
def redispatch(ctx: HandlerContext, old: str, new: str) -> dict[str, Any]:
    """Replace one handling unit by another after an accepted return (退单改派)."""
    case = _case(ctx)
    if not isinstance(new, str) or not new.strip() or len(new) > 64 or new == old:
        raise HandlerError("the new department must be named and differ from the old one")
    if new == case.lead_department or new in (case.assisting_departments or []):
        # each unit on a case has its own handling round; a second one would duplicate its work
        raise HandlerError(f"{new!r} already handles this case; choose another unit")
    if case.lead_department == old:
        case.lead_department = new
    else:
        helpers = list(case.assisting_departments or [])
        if old not in helpers:
            raise HandlerError(f"{old!r} does not handle this case")
        case.assisting_departments = [new if d == old else d for d in helpers]
    record_status(ctx, "dispatched")
    case.status, case.updated_at = "dispatched", ctx.now
    return {"unit": new, "lead": case.lead_department}


@handler("case.set_urgency", label_zh="调整紧急程度", label_en="Change the urgency",
         params={"urgency": "紧急程度 normal/urgent/critical"})
def set_urgency(ctx: HandlerContext, urgency: str) -> dict[str, Any]:
    """Change the case's urgency, which selects its SLA rules (e.g. 110 transfers run on the urgent limits)."""
    if urgency not in URGENCIES:
        raise HandlerError(f"unknown urgency {urgency!r}")
    case = _case(ctx)
    case.urgency, case.updated_at = urgency, ctx.now
    return {"urgency": urgency}


@handler("case.classify", label_zh="记录初审分类", label_en="Record the triage classification", params={
    "request_type": "诉求类型", "urgency": "紧急程度 normal/urgent/critical", "category": "诉求类别（空则不变）",
    "complexity": "复杂件 normal/complex"})
def classify(ctx: HandlerContext, request_type: str, urgency: str, category: str | None = None,
             complexity: str | None = None) -> dict[str, Any]:
    """Store what triage confirmed on the case (初审核定): its request type, urgency, category and 复杂件.

    The SLA rules and the dispatch catalogue read these from the case, so they must hold triage's values, not the
    intake's. Complexity is its own column: a complex complaint stays a complaint in every per-type figure.
    """
    if request_type not in REQUEST_TYPES:
        raise HandlerError(f"unknown request type {request_type!r}")
    if urgency not in URGENCIES:
        raise HandlerError(f"unknown urgency {urgency!r}")
    level = complexity or "normal"
    if level not in COMPLEXITIES:
        raise HandlerError(f"unknown complexity {complexity!r}; use normal or complex")
    if category is not None and (not isinstance(category, str) or len(category) > 64):
        raise HandlerError("category must be at most 64 characters")
    case = _case(ctx)
    case.request_type, case.urgency, case.complexity, case.updated_at = request_type, urgency, level, ctx.now
    if category:
        case.category = category
    return {"request_type": request_type, "urgency": urgency, "category": case.category, "complexity": level}
