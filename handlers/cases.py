"""Handlers that keep the case row (工单) in step with its workflow: status and deadlines."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from handlers.base import HandlerContext
from handlers.base import HandlerError
from handlers.base import handler
from processes.models import Case

CASE_STATUSES = frozenset({
    "registered", "triage", "dispatched", "signed", "returned", "extension", "replied", "reviewed",
    "callback", "rehandle", "closed", "published", "archived", "answered", "transferred", "rejected",
})


@handler("case.set_status", label_zh="更新工单状态", params={"status": "新状态"})
def set_status(ctx: HandlerContext, status: str) -> dict[str, Any]:
    """Set the case status column that worklists and dashboards filter on."""
    if status not in CASE_STATUSES:
        raise HandlerError(f"unknown case status {status!r}")
    if ctx.case_id is None:
        raise HandlerError("this instance has no case")
    ctx.session.execute(sa.update(Case).where(Case.id == ctx.case_id).values(status=status, updated_at=ctx.now))
    return {"status": status}


@handler("case.deadline", label_zh="计算办理时限", params={"hours": "时限（小时）", "cap": "上级截止时间"})
def deadline(ctx: HandlerContext, hours: float, cap: str | None = None) -> dict[str, Any]:
    """Compute a clock-hour deadline from now, capped by the upstream deadline, and store it on the case."""
    try:
        due = ctx.now + timedelta(hours=float(hours))
    except (TypeError, ValueError) as exc:
        raise HandlerError(f"hours must be a number, not {hours!r}") from exc
    if cap:
        try:
            upstream = datetime.fromisoformat(cap)
        except ValueError as exc:
            raise HandlerError(f"upstream deadline {cap!r} is not ISO 8601") from exc
        if upstream.tzinfo is None:
            raise HandlerError("upstream deadline needs a time zone")
        due = min(due, upstream)
    if ctx.case_id is not None:
        ctx.session.execute(sa.update(Case).where(Case.id == ctx.case_id).values(deadline=due, updated_at=ctx.now))
    return {"due": due.isoformat(), "capped": bool(cap) and due != ctx.now + timedelta(hours=float(hours))}
