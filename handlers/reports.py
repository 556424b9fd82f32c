"""Handlers of the periodic upward report (上报咨询件、存疑件、满意件) to the provincial and city platforms."""

from __future__ import annotations

from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from handlers.base import HandlerContext
from handlers.base import HandlerError
from handlers.base import handler
from processes.cases.models import Case

OFFICE_TZ = ZoneInfo("Asia/Shanghai")
DONE = ("closed", "published", "archived", "answered")
SATISFIED = ("satisfied", "basically_satisfied")
MAX_LISTED = 500  # one week of a small district; more than this is a sign the period is wrong


def _between(value: Any, low: int, high: int) -> bool:
    """True for a whole number (not a bool) within [low, high]."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


@handler("report.cycle", label_zh="计算上报周期", label_en="Compute the report cycle",
         params={"period_days": "周期（天）", "weekday": "星期几（0=周一）", "hour": "几点（北京时间）"})
def cycle(ctx: HandlerContext, period_days: int = 7, weekday: int = 0, hour: int = 9) -> dict[str, Any]:
    """Return the ISO 8601 repeating interval of the report timer: the next weekday at hour, then every period."""
    if not (_between(period_days, 1, 31) and _between(weekday, 0, 6) and _between(hour, 0, 23)):
        raise HandlerError("period 1-31 days, weekday 0-6, hour 0-23")
    local = ctx.now.astimezone(OFFICE_TZ)
    first = datetime.combine(local.date(), time(int(hour)), OFFICE_TZ)
    first += timedelta(days=(int(weekday) - first.weekday()) % 7)
    if first <= local:
        first += timedelta(days=7)
    return {"cycle": f"R/{first.isoformat()}/P{int(period_days)}D", "first": first.isoformat(),
            "period_days": int(period_days)}


@handler("report.compile_upward", label_zh="汇总上报件", label_en="Compile the upward report",
         params={"days": "统计天数"})
def compile_upward(ctx: HandlerContext, days: int = 7) -> dict[str, Any]:
    """List the period's finished consultation (咨询件), doubtful (存疑件) and satisfied (满意件) cases by number."""
    if not _between(days, 1, 92):
        raise HandlerError("days must be a whole number 1-92")
    start = ctx.now - timedelta(days=int(days))
    rows = ctx.session.execute(
        sa.select(Case.number, Case.request_type, Case.flags).where(
            Case.status.in_(DONE), Case.updated_at >= start, Case.updated_at < ctx.now)
        .order_by(Case.number).limit(MAX_LISTED * 3)).all()
    consult = [n for n, kind, _ in rows if kind == "consult"]
    doubtful = [n for n, _, flags in rows if (flags or {}).get("doubtful")]
    satisfied = [n for n, _, flags in rows if (flags or {}).get("callback_result") in SATISFIED]
    return {"period_from": start.isoformat(), "period_to": ctx.now.isoformat(),
            "consult": consult[:MAX_LISTED], "doubtful": doubtful[:MAX_LISTED], "satisfied": satisfied[:MAX_LISTED],
            "counts": {"consult": len(consult), "doubtful": len(doubtful), "satisfied": len(satisfied)}}
