"""The office's clock on screen (北京时间): times are stored in UTC and shown as Beijing wall-clock time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")


def local_time(value: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """Return an aware time as Beijing wall-clock text ('' for none)."""
    return value.astimezone(LOCAL).strftime(pattern) if value is not None else ""
