"""Working-day arithmetic (工作日计算) as pure functions over the packaged 2025-2026 holidays."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import timedelta

import pytest

from handlers import workdays
from handlers.calendar_source import default_day
from handlers.calendar_source import package_listed_days
from handlers.calendar_source import year_days
from handlers.workdays import SHANGHAI

DAYS = {**year_days(2025, package_listed_days(2025)), **year_days(2026, package_listed_days(2026))}


def official(day: date) -> bool:
    """The 2025-2026 State Council calendar, Mon-Fri elsewhere."""
    return DAYS[day][0] if day in DAYS else default_day(day)[0]


def mon_fri(day: date) -> bool:
    """Mon-Fri only: what a year without a notice falls back to."""
    return day.weekday() < 5


def at(text: str) -> datetime:
    """A Shanghai wall-clock time."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def test_the_package_calendar_has_the_2026_notice() -> None:
    assert [d for d in DAYS if d.year == 2026 and DAYS[d] == (True, "调休上班")] == [
        date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9), date(2026, 9, 20),
        date(2026, 10, 10)]
    assert all(DAYS[date(2026, 2, d)] == (False, "春节") for d in range(15, 24))
    assert DAYS[date(2026, 2, 24)] == (True, "工作日") and DAYS[date(2026, 3, 7)] == (False, "周末")


def test_spring_festival_2026_counts_the_make_up_saturdays() -> None:
    # Receipt Thu 2/12: 2/13 Fri (1), 2/14 Sat 调休 (2), holiday 2/15-2/23, 2/24 (3), 2/25 (4), 2/26 (5).
    due = workdays.due_after(at("2026-02-12T10:00:00"), 5, "workdays", official)
    assert due.isoformat() == "2026-02-26T23:59:59+08:00"
    assert workdays.due_after(at("2026-02-12T10:00:00"), 5, "workdays", mon_fri).date() == date(2026, 2, 19)
    assert workdays.add_workdays(date(2026, 2, 27), 1, official) == date(2026, 2, 28)  # Saturday 调休上班
    assert workdays.add_workdays(date(2026, 2, 13), 2, official) == date(2026, 2, 24)


def test_national_day_2026_and_its_make_up_saturday() -> None:
    assert workdays.add_workdays(date(2026, 9, 30), 1, official) == date(2026, 10, 8)
    assert workdays.add_workdays(date(2026, 9, 30), 3, official) == date(2026, 10, 10)  # Saturday 调休上班
    assert workdays.add_workdays(date(2026, 9, 24), 1, official) == date(2026, 9, 28)  # over 中秋 9/25-27
    assert workdays.next_workday(at("2026-09-30T18:00:00"), official) == date(2026, 10, 8)


def test_counting_starts_the_day_after_receipt_whatever_the_hour() -> None:
    late = at("2026-11-25T23:59:00")  # Wednesday, a minute before midnight
    assert workdays.due_after(late, 1, "workdays", official).isoformat() == "2026-11-26T23:59:59+08:00"
    utc_evening = datetime.fromisoformat("2026-11-25T17:00:00+00:00")  # already Thursday 01:00 in Shanghai
    assert workdays.due_after(utc_evening, 1, "workdays", official).date() == date(2026, 11, 27)
    assert workdays.add_workdays(date(2026, 11, 27), 0, official) == date(2026, 11, 27)


def test_hour_and_minute_rules_run_on_the_clock() -> None:
    start = at("2026-02-14T22:30:15.500000")  # the night before Spring Festival: the clock does not stop
    assert workdays.due_after(start, 24, "hours", official).isoformat() == "2026-02-15T22:30:15+08:00"
    assert workdays.due_after(start, 30, "minutes", official).isoformat() == "2026-02-14T23:00:15+08:00"
    with pytest.raises(ValueError, match="unknown time unit"):
        workdays.due_after(start, 1, "days", official)


def test_an_extension_adds_working_days_to_the_old_deadline() -> None:
    due = at("2026-02-26T23:59:59")
    assert workdays.extend(due, 2, official).isoformat() == "2026-02-28T23:59:59+08:00"
    assert workdays.extend(at("2026-09-29T15:00:00"), 1, official).isoformat() == "2026-09-30T23:59:59+08:00"
    assert workdays.extend(due, 0, official) == due


def test_yellow_on_the_last_working_day_or_the_last_quarter_whichever_first() -> None:
    start, due = at("2026-11-25T09:00:00"), at("2026-11-26T23:59:59")  # a one-working-day limit
    # The share point (14:15 on the 26th) comes after the start of the last working day: that one wins.
    assert workdays.warn_at(start, due, "workdays", official, share=0.25, workdays=1) == at("2026-11-26T00:00:00")
    # Five working days over a weekend: a quarter of 7.6 days left comes before the last working day.
    start, due = at("2026-11-25T09:00:00"), at("2026-12-02T23:59:59")
    expected = (due - (due - start) * 0.25).replace(microsecond=0)
    assert workdays.warn_at(start, due, "workdays", official, share=0.25, workdays=1) == expected
    assert workdays.warn_at(start, due, "workdays", official, share=0.05, workdays=2) == at("2026-12-01T00:00:00")
    # The last working day before a due date on a holiday (capped): the working day before it.
    holiday_due = at("2026-10-03T12:00:00")
    assert workdays.warn_at(at("2026-09-20T09:00:00"), holiday_due, "workdays", official, share=0.01,
                            workdays=1) == at("2026-09-30T00:00:00")


def test_yellow_for_clock_rules_uses_only_the_share_and_never_precedes_the_start() -> None:
    start = at("2026-11-26T09:00:00")
    assert workdays.warn_at(start, start + timedelta(hours=24), "hours", official, share=0.25,
                            workdays=1) == start + timedelta(hours=18)
    capped = at("2026-11-26T12:00:00")  # a working-day rule capped to noon: 00:00 is before the start
    assert workdays.warn_at(start, capped, "workdays", official, share=0.25, workdays=1) == start
    overdue = start - timedelta(hours=1)
    assert workdays.warn_at(start, overdue, "workdays", official, share=0.25, workdays=1) == overdue


def test_a_calendar_without_working_days_fails_instead_of_looping() -> None:
    with pytest.raises(ValueError, match="no 1 working days"):
        workdays.add_workdays(date(2026, 1, 1), 1, lambda _day: False)


def test_by_closing_time_counts_the_day_of_receipt_while_the_office_is_open() -> None:
    closes = workdays.OFFICE_CLOSES  # 17:30
    assert workdays.due_after(at("2026-11-25T09:00:00"), 1, "workday_close", official) == at("2026-11-25T17:30:00")
    assert workdays.due_after(at("2026-11-25T17:30:00"), 1, "workday_close", official) == at("2026-11-26T17:30:00")
    assert workdays.due_after(at("2026-11-28T10:00:00"), 1, "workday_close", official) == at("2026-11-30T17:30:00")
    assert workdays.due_after(at("2026-11-25T09:00:00"), 2, "workday_close", official) == at("2026-11-26T17:30:00")
    # Spring Festival 2026: Saturday 2/14 is a make-up working day, 2/15-2/23 are holidays
    assert workdays.due_after(at("2026-02-14T19:00:00"), 1, "workday_close", official) == at("2026-02-24T17:30:00")
    early = datetime.strptime("16:00", "%H:%M").time()
    assert workdays.by_closing_time(at("2026-11-25T16:30:00"), 1, official, early) == at("2026-11-26T16:00:00")
    assert closes.isoformat() == "17:30:00"
