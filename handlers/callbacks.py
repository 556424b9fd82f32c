"""Callback handlers (回访): when to call a citizen again who did not answer, from the office's settings."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from typing import Any

from handlers import workdays
from handlers.base import HandlerContext
from handlers.base import HandlerError
from handlers.base import handler
from handlers.calendar_source import CalendarLookup
from handlers.reference.settings import Spacing
from handlers.reference.settings import get_setting
from handlers.reference.settings import parse_spacings


def retry_moment(after: datetime, spacing: Spacing, is_workday: workdays.DayLookup) -> datetime:
    """Return when to call again: clock minutes after `after`, or the next working day at the set time."""
    if spacing.next_workday_at is None:
        moment = after + timedelta(minutes=spacing.minutes)
    else:
        day = workdays.next_workday(after, is_workday)
        moment = datetime.combine(day, spacing.next_workday_at, workdays.SHANGHAI)
    return moment.astimezone(workdays.SHANGHAI).replace(microsecond=0)


@handler("callback.retry_at", label_zh="计算再次回访时间", label_en="Time of the next callback attempt",
         params={"attempt": "刚未接通的是第几次回访（从1起）"}, writes=False)
def retry_at_handler(ctx: HandlerContext, attempt: int) -> dict[str, Any]:
    """Return when the next callback attempt is due after attempt `attempt` went unanswered (callback_retry_spacing).

    The n-th wait of the setting follows the n-th unanswered call; the last one repeats. The result's `at` is an ISO
    time with +08:00 for a BPMN timeDate timer, `attempt` the number of the call it is for.
    """
    try:
        done = int(attempt)
    except (TypeError, ValueError) as exc:
        raise HandlerError(f"attempt must be a whole number, not {attempt!r}") from exc
    if done < 1:
        raise HandlerError("attempt counts from 1")
    text = str(get_setting(ctx.session, "callback_retry_spacing"))
    try:
        spacings = parse_spacings(text)
        lookup = CalendarLookup(ctx.session)
        moment = retry_moment(ctx.now, spacings[min(done, len(spacings)) - 1], lookup)
    except ValueError as exc:  # a broken setting row or calendar: the task waits for a fix, then a retry
        raise HandlerError(str(exc)) from exc
    return {"at": moment.isoformat(), "attempt": done + 1, "calendar_warning": lookup.warning}
