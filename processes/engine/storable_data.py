"""Check that the task data a script leaves behind is something the snapshot can store."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from datetime import timedelta
from typing import Any
from uuid import UUID

from processes.errors import ScriptRejected

MAX_DATA_UNITS = 1_000_000  # values plus characters of the task data a script leaves behind
MAX_DATA_DEPTH = 64  # nesting of task data (deepcopy and JSON recurse)
_STORABLE = (type(None), bool, int, float, str, datetime, timedelta, UUID)  # what the snapshot serializer writes
_KEYS = (type(None), bool, int, float, str)


def check_data(data: Mapping[str, Any]) -> None:
    """Refuse task data the snapshot cannot store: other types, cycles, too deep, or too big as JSON."""
    memo: dict[int, tuple[int, int]] = {}  # id(container) -> (JSON units, depth); shared references count again
    units = 0
    for name, value in data.items():
        units += _measure(name, value, memo)[0]
        if units > MAX_DATA_UNITS:
            raise ScriptRejected(f"the task data is too large at variable {name!r}")


def _measure(name: str, top: Any, memo: dict[int, tuple[int, int]]) -> tuple[int, int]:
    """Return (units, depth) of one value, iteratively, each distinct container visited once."""
    stack: list[tuple[Any, bool]] = [(top, False)]
    open_ids: set[int] = set()
    while stack:
        value, children_done = stack.pop()
        if not isinstance(value, dict | list | tuple | set):
            continue
        key = id(value)
        if children_done:
            open_ids.discard(key)
            parts = [_leaf(name, c) if not isinstance(c, dict | list | tuple | set) else memo[id(c)]
                     for c in _children(name, value)]
            size, depth = 1 + sum(p[0] for p in parts), 1 + max((p[1] for p in parts), default=0)
            if size > MAX_DATA_UNITS or depth > MAX_DATA_DEPTH:
                raise ScriptRejected(f"variable {name!r} is too large or nested too deep to store")
            memo[key] = (size, depth)
        elif key not in memo:
            if key in open_ids:
                raise ScriptRejected(f"variable {name!r} contains itself (a cycle), which task data cannot store")
            open_ids.add(key)
            stack.append((value, True))
            stack.extend((child, False) for child in _children(name, value))
    return _leaf(name, top) if not isinstance(top, dict | list | tuple | set) else memo[id(top)]


def _children(name: str, value: dict[Any, Any] | list[Any] | tuple[Any, ...] | set[Any]) -> list[Any]:
    if isinstance(value, dict):
        if not all(isinstance(key, _KEYS) for key in value):
            raise ScriptRejected(f"variable {name!r} holds a dict with keys task data cannot store")
        return [*value.keys(), *value.values()]
    return list(value)


def _leaf(name: str, value: Any) -> tuple[int, int]:
    if not isinstance(value, _STORABLE):
        raise ScriptRejected(f"variable {name!r} holds a {type(value).__name__} value, which task data cannot store")
    return 1 + (len(value) if isinstance(value, str) else 0), 0
