"""Injectable clock: the runtime never calls datetime.now() directly, so tests can travel in time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]
OFFICE_TZ = ZoneInfo("Asia/Shanghai")  # the office's day runs midnight to midnight Beijing time (UTC+8, no DST)


def office_date_text(moment: datetime) -> str:
    """Return the office's calendar day of a moment as 20261125 (a naive moment is taken as UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return f"{aware.astimezone(OFFICE_TZ):%Y%m%d}"


def system_clock() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


class FrozenClock:
    """A clock that stands still until moved; for tests and benchmarks."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 25, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move the clock forward by a timedelta given as keyword arguments."""
        self.now += timedelta(**delta)
        return self.now


class OffsetClock:
    """The system clock shifted by an offset; lets a live scheduler see 'the future' in tests."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


class MovedClock:
    """The wall clock moved by an offset asked for on every call (the demo clock: another process may move it)."""

    def __init__(self, offset: Callable[[], timedelta], base: Clock = system_clock) -> None:
        self.offset = offset
        self.base = base

    def __call__(self) -> datetime:
        return self.base() + self.offset()


def wall_clock(clock: Clock) -> Clock:
    """Return the unmoved clock behind a moved one; any other clock (a frozen test clock) is its own."""
    return clock.base if isinstance(clock, MovedClock) else clock
