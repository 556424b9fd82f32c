"""Route SpiffWorkflow's timer clock through the runtime's injectable clock."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC
from datetime import datetime
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module

_now: ContextVar[Callable[[], datetime] | None] = ContextVar("hotline_engine_now", default=None)


class _AnyDatetime(type):
    """Let `isinstance(x, datetime)` in the timer module accept the plain datetimes our constructors return."""

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, datetime)


class _EngineDatetime(datetime, metaclass=_AnyDatetime):
    """datetime whose now() asks the current command's clock; other constructors return plain datetimes."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        """Return the command clock's time (system time when none is set)."""
        clock = _now.get()
        value = clock() if clock is not None else datetime.now(UTC)
        return value.astimezone(tz) if tz is not None else value

    @classmethod
    def fromisoformat(cls, date_string: str) -> datetime:  # type: ignore[override]
        """Parse ISO 8601 into a plain datetime."""
        return datetime.fromisoformat(date_string)

    @classmethod
    def combine(cls, date: Any, time: Any, tzinfo: Any = True) -> datetime:  # type: ignore[override]
        """Combine into a plain datetime."""
        return datetime.combine(date, time, time.tzinfo if tzinfo is True else tzinfo)

    @classmethod
    def fromisocalendar(cls, year: int, week: int, day: int) -> datetime:  # type: ignore[override]
        """Build a plain datetime from an ISO calendar date."""
        return datetime.fromisocalendar(year, week, day)


_timer_module.datetime = _EngineDatetime
# A date-time written without an offset is office time, not the server's zone captured at import (timer.LOCALTZ).
_timer_module.LOCALTZ = ZoneInfo("Asia/Shanghai")


@contextlib.contextmanager
def engine_clock(clock: Callable[[], datetime]) -> Iterator[None]:
    """Make the engine's timers use `clock` for the duration of one command."""
    token = _now.set(clock)
    try:
        yield
    finally:
        _now.reset(token)


def engine_now() -> datetime:
    """Return the current command's time (the engine's notion of now)."""
    return _EngineDatetime.now(UTC)
