"""Periods (统计周期), grains (日/周/月), dimensions (部门、分类、乡镇、渠道、诉求类型) and filters of the figures."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import fields
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from processes.clock import OFFICE_TZ

DIMENSIONS = ("department", "category", "township", "channel", "request_type")
GRAINS = ("day", "week", "month")
MAX_DAYS = 3 * 366  # a longer range is a mistake, not a question the office asks


@dataclass(frozen=True)
class Period:
    """A range of whole office days, both ends included (统计周期: a day, a week, a month or a custom range)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a period ends on or after its first day")
        if (self.end - self.start).days >= MAX_DAYS:
            raise ValueError(f"a period is at most {MAX_DAYS} days")

    @classmethod
    def day(cls, one: date) -> Period:
        """Return the one day."""
        return cls(one, one)

    @classmethod
    def week(cls, one: date) -> Period:
        """Return the Monday-to-Sunday week holding the day."""
        monday = one - timedelta(days=one.weekday())
        return cls(monday, monday + timedelta(days=6))

    @classmethod
    def month(cls, one: date) -> Period:
        """Return the calendar month holding the day."""
        first = one.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return cls(first, following - timedelta(days=1))

    def bounds(self) -> tuple[datetime, datetime]:
        """Return the UTC instants where the period starts and where it has ended."""
        start = datetime.combine(self.start, time(0), OFFICE_TZ).astimezone(UTC)
        end = datetime.combine(self.end + timedelta(days=1), time(0), OFFICE_TZ).astimezone(UTC)
        return start, end

    def days(self) -> Iterator[date]:
        """Yield every day of the period."""
        for offset in range((self.end - self.start).days + 1):
            yield self.start + timedelta(days=offset)

    def holds(self, column: Any) -> ColumnElement[bool]:
        """Return the condition that a datetime column falls in the period (index-friendly: a UTC range)."""
        start, end = self.bounds()
        return sa.and_(column >= start, column < end)


@dataclass(frozen=True)
class Filters:
    """Values the figures are narrowed to, one per dimension; None means any, '' means none (无)."""

    department: str | None = None
    category: str | None = None
    township: str | None = None
    channel: str | None = None
    request_type: str | None = None

    def items(self) -> list[tuple[str, str]]:
        """Return the (dimension, value) pairs that narrow the figures."""
        return [(f.name, getattr(self, f.name)) for f in fields(self) if getattr(self, f.name) is not None]


def office_day(value: datetime) -> date:
    """Return the office day (Beijing time) of an instant."""
    return value.astimezone(OFFICE_TZ).date()


def day_expression(column: Any, dialect: str) -> ColumnElement[Any]:
    """Return SQL for the office day of a UTC datetime column (a date on PostgreSQL, ISO text on SQLite)."""
    if dialect == "postgresql":
        return sa.cast(sa.func.timezone("Asia/Shanghai", column), sa.Date)
    return sa.func.date(column, "+8 hours")  # SQLite keeps naive UTC text; Beijing has no daylight saving


def as_date(value: date | str) -> date:
    """Return a day read back from either backend as a date."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def grain_key(day: date, grain: str) -> str:
    """Return the label of the day's bucket: the day, the Monday of its week, or its month (YYYY-MM)."""
    if grain == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    if grain == "month":
        return day.isoformat()[:7]
    return day.isoformat()
