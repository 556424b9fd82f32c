"""Working-day arithmetic (工作日计算) over a day lookup; pure functions, no database.

Rules (domain.md §6.3, §6.4):

- "N working days from receipt" (N个工作日): counting starts the day after the start (次日起); the deadline is
  23:59:59 Asia/Shanghai on the N-th working day.
- Hour and minute rules run on the clock (the hotline answers day and night).
- "By closing time" rules (`workday_close`, 当日下班前): N working days counted with the day of receipt as the
  first when it is a working day and the office has not closed yet (else the next working day is the first);
  the deadline is the closing time of the N-th. 1 = the same working day (初审、派单 the day they arrive).
- An extension (延期) adds N working days to the old deadline's date, again ending 23:59:59.
- Yellow light (黄灯) for working-day rules: when at most `yellow_workdays` working days are left (from 00:00 of the
  `yellow_workdays`-th working day counted back from the due date, the due date itself included) or at most
  `yellow_share` of the allowed time is left, whichever comes first, but never before the start. Hour and minute
  rules use the share only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from datetime import timezone

# China has had no daylight saving since 1991, so a fixed offset is exact and needs no tz database.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
END_OF_DAY = time(23, 59, 59)
MAX_SCAN_DAYS = 3660  # ten years: a calendar without working days must fail, not loop forever
UNITS = ("workdays", "hours", "minutes", "workday_close")
OFFICE_CLOSES = time(17, 30)  # 下班时间 when the office_closes_at setting does not say otherwise

DayLookup = Callable[[date], bool]


def local_date(moment: datetime) -> date:
    """Return the Asia/Shanghai calendar date of an aware moment."""
    return moment.astimezone(SHANGHAI).date()


def end_of_day(day: date) -> datetime:
    """Return 23:59:59 Asia/Shanghai of a day."""
    return datetime.combine(day, END_OF_DAY, SHANGHAI)


def add_workdays(start: date, n: int, is_workday: DayLookup) -> date:
    """Return the n-th working day after `start` (start itself never counts); n <= 0 returns start."""
    day, counted = start, 0
    for _ in range(MAX_SCAN_DAYS):
        if counted >= n:
            return day
        day += timedelta(days=1)
        if is_workday(day):
            counted += 1
    raise ValueError(f"no {n} working days within {MAX_SCAN_DAYS} days after {start}")


def workday_on_or_before(day: date, k: int, is_workday: DayLookup) -> date:
    """Return the k-th working day counted back from `day` (day itself counts when it is one); k >= 1."""
    counted = 0
    for _ in range(MAX_SCAN_DAYS):
        if is_workday(day):
            counted += 1
            if counted >= k:
                return day
        day -= timedelta(days=1)
    raise ValueError(f"no {k} working days within {MAX_SCAN_DAYS} days before {day}")


def next_workday(moment: datetime, is_workday: DayLookup) -> date:
    """Return the next working day after the local date of `moment` (回访: the next working day)."""
    return add_workdays(local_date(moment), 1, is_workday)


def by_closing_time(start: datetime, amount: int, is_workday: DayLookup, closes: time = OFFICE_CLOSES) -> datetime:
    """Return closing time of the `amount`-th working day, the day of receipt counting if still open (当日下班前)."""
    local = start.astimezone(SHANGHAI)
    first = local.date()
    if not (is_workday(first) and local.time() < closes):
        first = add_workdays(first, 1, is_workday)
    return datetime.combine(add_workdays(first, max(amount, 1) - 1, is_workday), closes, SHANGHAI)


def due_after(start: datetime, amount: int, unit: str, is_workday: DayLookup, *,
              closes: time = OFFICE_CLOSES) -> datetime:
    """Return the deadline `amount` `unit` after `start` (working days end 23:59:59 local, or at closing time)."""
    if unit == "workdays":
        return end_of_day(add_workdays(local_date(start), amount, is_workday))
    if unit == "workday_close":
        return by_closing_time(start, amount, is_workday, closes)
    if unit == "hours":
        return (start + timedelta(hours=amount)).astimezone(SHANGHAI).replace(microsecond=0)
    if unit == "minutes":
        return (start + timedelta(minutes=amount)).astimezone(SHANGHAI).replace(microsecond=0)
    raise ValueError(f"unknown time unit {unit!r}; use one of {', '.join(UNITS)}")


def extend(due: datetime, workdays: int, is_workday: DayLookup) -> datetime:
    """Return the old deadline plus `workdays` working days (延期), ending 23:59:59 local."""
    if workdays <= 0:
        return due
    return end_of_day(add_workdays(local_date(due), workdays, is_workday))


def warn_at(start: datetime, due: datetime, unit: str, is_workday: DayLookup, *, share: float,
            workdays: int) -> datetime:
    """Return when the yellow light (黄灯) starts: the earlier of the share and working-day points, not before start."""
    if due <= start:
        return due  # already overdue when set: no yellow phase
    point = due - (due - start) * share
    if unit == "workdays" and workdays > 0:
        last = workday_on_or_before(local_date(due), workdays, is_workday)
        point = min(point, datetime.combine(last, time(0), SHANGHAI))
    return max(point, start).astimezone(SHANGHAI).replace(microsecond=0)
