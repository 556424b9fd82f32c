"""Read back a deadline computed earlier in the case (办理时限), for rounds that keep the old deadline."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from handlers import workdays
from handlers.base import HandlerContext
from handlers.base import HandlerError
from handlers.base import handler
from processes.reference_models import CaseDeadline


@handler("deadline.current", label_zh="沿用原办理时限", params={"stage": "环节", "unit": "承办单位"})
def current(ctx: HandlerContext, stage: str, unit: str | None = None) -> dict[str, Any]:
    """Return the stored deadline of a stage and unit, as deadline.compute returned it (答复发回修改 keeps it)."""
    row = ctx.session.scalar(sa.select(CaseDeadline).where(
        CaseDeadline.instance_id == ctx.instance_id, CaseDeadline.stage == stage, CaseDeadline.unit == (unit or "")))
    if row is None:
        raise HandlerError(f"no {stage} deadline was computed for {unit or 'the case'}")

    def iso(moment: Any) -> str | None:
        return moment.astimezone(workdays.SHANGHAI).isoformat() if moment is not None else None

    return {"due": iso(row.due_at), "warn_at": iso(row.warn_at), "notice_at": iso(row.notice_at),
            "capped": row.capped, "calendar_warning": row.calendar_warning, "rule": row.rule,
            "start": iso(row.start_at), "extension_days": row.extension_days}
