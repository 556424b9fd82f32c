"""The working-day calendar (工作日历): official years from `calendar_day`, Mon-Fri with a warning otherwise.

A year is official only when it has a `calendar_year` row. Its days are cached per process by the row's
`revision`, which every load changes, so an import by another process is seen at the next lookup.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from collections.abc import Mapping
from datetime import date
from datetime import datetime
from datetime import timedelta

import chinese_calendar  # type: ignore[import-untyped]
import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.reference.models import CalendarDay
from processes.reference.models import CalendarYear

PACKAGE_YEARS = range(2004, 2027)  # what chinesecalendar 1.11.0 covers; it raises NotImplementedError beyond
HOLIDAY_NAMES = {
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节", "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节", "National Day": "国庆节", "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}
WEEKEND, WORKDAY, MAKEUP, HOLIDAY = "周末", "工作日", "调休上班", "节假日"
_CACHE_SIZE = 64
_cache: dict[tuple[int, str], dict[date, bool]] = {}
_cache_lock = threading.Lock()


def default_day(day: date) -> tuple[bool, str]:
    """Return the Mon-Fri default of a day: (is_workday, reason)."""
    return (True, WORKDAY) if day.weekday() < 5 else (False, WEEKEND)


def missing_years_warning(years: Iterable[int]) -> str | None:
    """Return the visible warning for years without an official calendar, or None."""
    listed = sorted(set(years))
    if not listed:
        return None
    return f"{'、'.join(str(y) for y in listed)}年节假日安排未录入，按周一至周五计算"


class CalendarLookup:
    """Answer 'is this a working day?' for one computation, remembering which years fell back to Mon-Fri."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.missing: set[int] = set()
        self._years: dict[int, dict[date, bool] | None] = {}

    def __call__(self, day: date) -> bool:
        """Return True when `day` is a working day (工作日)."""
        days = self._year(day.year)
        if days is None:
            self.missing.add(day.year)
            return default_day(day)[0]
        return days.get(day, default_day(day)[0])

    def reason(self, day: date) -> str:
        """Return why a day is or is not a working day (春节, 调休上班, 周末 …)."""
        if self._year(day.year) is None:
            return default_day(day)[1]
        stored = self.session.get(CalendarDay, day)
        return stored.reason if stored is not None else default_day(day)[1]

    @property
    def warning(self) -> str | None:
        """Return the warning for years that were counted Mon-Fri, or None."""
        return missing_years_warning(self.missing)

    def _year(self, year: int) -> dict[date, bool] | None:
        """Return a year's working days, loading them once per lookup."""
        if year not in self._years:
            self._years[year] = _load_year(self.session, year)
        return self._years[year]


def _load_year(session: Session, year: int) -> dict[date, bool] | None:
    """Return the working days of an official year (cached by revision), or None when the year is not official."""
    revision = session.scalar(sa.select(CalendarYear.revision).where(CalendarYear.year == year))
    if revision is None:
        return None
    key = (year, revision)
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    rows = session.execute(sa.select(CalendarDay.day, CalendarDay.is_workday).where(
        CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)))
    days = {row.day: bool(row.is_workday) for row in rows}
    with _cache_lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.clear()  # rare: only after many reloads; the next lookups refill it
        _cache[key] = days
    return days


def year_days(year: int, listed: Mapping[date, tuple[bool, str]]) -> dict[date, tuple[bool, str]]:
    """Return every day of a year: the listed days (holidays, make-up workdays), the rest Mon-Fri."""
    out: dict[date, tuple[bool, str]] = {}
    day = date(year, 1, 1)
    while day.year == year:
        out[day] = listed.get(day, default_day(day))
        day += timedelta(days=1)
    return out


def package_listed_days(year: int) -> dict[date, tuple[bool, str]]:
    """Return the holidays and make-up workdays of a year from the chinesecalendar package."""
    if year not in PACKAGE_YEARS:
        raise ValueError(f"the chinesecalendar package has no data for {year}")  # it would raise NotImplementedError
    listed: dict[date, tuple[bool, str]] = {}
    for day, name in chinese_calendar.holidays.items():
        if day.year == year:
            listed[day] = (False, HOLIDAY_NAMES.get(name, HOLIDAY))
    for day in chinese_calendar.workdays:
        if day.year == year and day.weekday() >= 5:
            listed[day] = (True, MAKEUP)  # 调休上班: a weekend day worked in exchange for a holiday
    return listed


def write_year(session: Session, year: int, days: Mapping[date, tuple[bool, str]], *, source: str, notice: str,
               actor: str, now: datetime) -> None:
    """Replace a year's days and mark the year official with a fresh revision (callers commit)."""
    session.execute(sa.delete(CalendarDay).where(CalendarDay.day >= date(year, 1, 1),
                                                 CalendarDay.day <= date(year, 12, 31)))
    session.execute(sa.insert(CalendarDay), [
        {"day": day, "is_workday": workday, "reason": reason, "source": source}
        for day, (workday, reason) in sorted(days.items())])
    row = session.get(CalendarYear, year)
    if row is None:
        row = CalendarYear(year=year)
        session.add(row)
    row.source, row.notice, row.loaded_at, row.loaded_by = source, notice, now, actor
    row.revision = str(uuid.uuid4())
    session.flush()


def seed_package_years(session: Session, *, actor: str, now: datetime,
                       years: Iterable[int] = PACKAGE_YEARS) -> list[int]:
    """Load package years that are not official yet (a loaded notice is never overwritten); return them."""
    existing = set(session.scalars(sa.select(CalendarYear.year)))
    loaded = []
    for year in years:
        if year in existing or year not in PACKAGE_YEARS:
            continue
        write_year(session, year, year_days(year, package_listed_days(year)), source="package",
                   notice="chinesecalendar 1.11.0", actor=actor, now=now)
        loaded.append(year)
    return loaded
