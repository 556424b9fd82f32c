"""Handlers that keep the case row (工单) in step with its workflow: status, department, deadlines, counters."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from handlers.base import HandlerContext
from handlers.base import HandlerError
from handlers.base import handler
from processes.cases.models import Case

CASE_STATUSES = frozenset({
    "registered", "triage", "accepted", "dispatched", "signed", "returned", "extension", "replied", "reviewed",
    "callback", "rehandle", "closed", "published", "archived", "answered", "transferred", "rejected",
    "returned_to_110", "merged",
})
WARNING_LEVELS = frozenset({"none", "yellow", "red"})
# Counters a diagram may increment (退单次数, 重办次数, 延期次数): the rates in domain.md §7 count these.
COUNTERS = {"return": Case.return_count, "rehandle": Case.rehandle_count, "extension": Case.extension_count}
MAX_DEPARTMENT_CHARS = 64
MAX_ASSISTING = 8
YELLOW_SHARE = 0.25  # yellow light when a quarter of the allowed time is left (domain.md §6.4)


def _case_id(ctx: HandlerContext) -> str:
    """Return the case of the instance, or fail: these handlers only make sense on a case."""
    if ctx.case_id is None:
        raise HandlerError("this instance has no case")
    return ctx.case_id


def _update_case(ctx: HandlerContext, **values: Any) -> None:
    ctx.session.execute(sa.update(Case).where(Case.id == _case_id(ctx)).values(**values, updated_at=ctx.now))


def record_status(ctx: HandlerContext, status: str) -> None:
    """Put a status change in the case's history (办理过程: 办结, 挂网, 归档 … with who and when), if it changes."""
    before = ctx.session.scalar(sa.select(Case.status).where(Case.id == _case_id(ctx)))
    if before != status:
        ctx.record("status_changed", status=status, previous=before)


@handler("case.set_status", label_zh="更新工单状态", label_en="Update the case status", params={"status": "新状态"})
def set_status(ctx: HandlerContext, status: str) -> dict[str, Any]:
    """Set the case status column that worklists and dashboards filter on.

    Reaching 办结 stamps `closed_at`; a direct answer (直接答复) marks `direct_answer`: both stay when the status
    moves on (挂网, 归档), so 直办率 and the closure rates read them rather than the passing status.
    """
    if status not in CASE_STATUSES:
        raise HandlerError(f"unknown case status {status!r}")
    record_status(ctx, status)
    marks: dict[str, Any] = {}
    if status == "closed":
        marks["closed_at"] = ctx.now
    elif status == "answered":
        marks["direct_answer"] = True
    _update_case(ctx, status=status, **marks)
    return {"status": status}


@handler("case.dispatch", label_zh="登记承办单位", label_en="Record the handling units",
         params={"department": "主办单位", "assisting": "协办单位（列表）"})
def dispatch(ctx: HandlerContext, department: str, assisting: list[str] | None = None) -> dict[str, Any]:
    """Record the lead department (主办) and assisting ones (协办) on the case and mark it dispatched (派单)."""
    _check_department(department)
    helpers = [] if assisting is None else assisting
    if not isinstance(helpers, list) or len(helpers) > MAX_ASSISTING:
        raise HandlerError(f"assisting departments must be a list of at most {MAX_ASSISTING}")
    for one in helpers:
        _check_department(one)
    units = [department, *dict.fromkeys(d for d in helpers if d != department)]
    record_status(ctx, "dispatched")
    _update_case(ctx, lead_department=department, assisting_departments=units[1:], status="dispatched")
    return {"department": department, "assisting": units[1:], "units": units, "status": "dispatched"}


def _check_department(department: Any) -> None:
    if not isinstance(department, str) or not department.strip() or len(department) > MAX_DEPARTMENT_CHARS:
        raise HandlerError(f"department must be a name of 1-{MAX_DEPARTMENT_CHARS} characters")


@handler("case.count", label_zh="累计次数", label_en="Add to a counter",
         params={"counter": "计数项（return 退单/rehandle 重办/extension 延期）"})
def count(ctx: HandlerContext, counter: str) -> dict[str, Any]:
    """Add one to a counter column of the case and return its new value."""
    column = COUNTERS.get(counter)
    if column is None:
        raise HandlerError(f"unknown counter {counter!r}; use one of {', '.join(sorted(COUNTERS))}")
    case_id = _case_id(ctx)
    ctx.session.execute(sa.update(Case).where(Case.id == case_id).values({column: column + 1, "updated_at": ctx.now}))
    value = ctx.session.scalar(sa.select(column).where(Case.id == case_id))
    return {"counter": counter, "value": int(value or 0)}


@handler("case.set_warning", label_zh="更新预警等级", label_en="Update the warning light",
         params={"level": "预警等级（none/yellow 黄灯/red 红灯）"})
def set_warning(ctx: HandlerContext, level: str) -> dict[str, Any]:
    """Set the case's overdue light (红黄灯): yellow when time runs short, red when overdue."""
    if level not in WARNING_LEVELS:
        raise HandlerError(f"unknown warning level {level!r}")
    _update_case(ctx, warning_level=level)
    return {"level": level}


@handler("case.deadline", label_zh="计算办理时限", label_en="Compute the handling deadline",
         params={"hours": "时限（小时）", "cap": "上级截止时间"})
def deadline(ctx: HandlerContext, hours: float, cap: str | None = None) -> dict[str, Any]:
    """Compute a clock-hour deadline from now, capped by the upstream deadline, and store it on the case.

    A new deadline starts a fresh traffic light, so the warning level goes back to none; `warn_at` is when
    a quarter of the time is left (yellow).
    """
    try:
        uncapped = ctx.now + timedelta(hours=float(hours))
    except (TypeError, ValueError) as exc:
        raise HandlerError(f"hours must be a number, not {hours!r}") from exc
    due = uncapped
    if cap:
        try:
            upstream = datetime.fromisoformat(cap)
        except (TypeError, ValueError) as exc:
            raise HandlerError(f"upstream deadline {cap!r} is not ISO 8601") from exc
        if upstream.tzinfo is None:
            raise HandlerError("upstream deadline needs a time zone")
        due = min(due, upstream)
    warn_at = due - max(due - ctx.now, timedelta()) * YELLOW_SHARE
    if ctx.case_id is not None:
        _update_case(ctx, deadline=due, warning_level="none")
    return {"due": due.isoformat(), "warn_at": warn_at.isoformat(), "capped": due != uncapped}
