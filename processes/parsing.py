"""Whole numbers from text that people or clients send (页码、编号、版本): ASCII digits in a range, or nothing.

`str.isdigit()` is true for `²` and `٣`, which `int()` then refuses or reads as 3, and a 20-digit id overflows the
database's 64-bit integers. Every id and number read from a request goes through `whole_number` (webapp/params.py
wraps it for pages and URL converters), so none of these reaches `int()` or the database.
"""

from __future__ import annotations

MAX_BIGINT = 2**63 - 1  # PostgreSQL bigint; SQLite integers are 64-bit too


def whole_number(text: str | None, *, low: int = 0, high: int = MAX_BIGINT) -> int | None:
    """Return text as an int when it is ASCII digits within [low, high]; None otherwise (², ٣, -1, 1e3, '')."""
    if not text or not text.isascii() or not text.isdigit() or len(text) > len(str(high)):
        return None
    value = int(text)
    return value if low <= value <= high else None
