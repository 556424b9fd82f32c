"""A short shared cache of the office board's figures (督办台), per node: at most MONITOR_CACHE_SECONDS old.

Ten supervisors polling the same board each counted the same 50,000 open cases; at 1,000,000 cases that grouped
pass is 0.2-0.6 s, so on this node one count serves every supervisor asking for the same filters within the
window, and the page says when it was counted (截至 HH:MM:SS). Figures are kept per scope, never across: the scope
is the viewer's reach as SQL (processes.cases.access.case_filter compiled with its values), so a unit's handler
and the office can never share an entry, and two viewers share one only when their reach is the very same query.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from typing import Generic
from typing import TypeVar

from flask import Flask

from processes.cases.access import Viewer
from processes.cases.access import case_filter

T = TypeVar("T")
DEFAULT_SECONDS = 30.0
MAX_ENTRIES = 256  # filters come from the address: bound how many sets a node keeps
EXTENSION = "hotline.board_cache"


@dataclass(frozen=True)
class Counted(Generic[T]):
    """Figures and the office time they were counted at."""

    value: T
    at: datetime


class ShortCache:
    """Entries that expire `seconds` after they were counted (monotonic time); one count per key at a time."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._entries: dict[Hashable, tuple[float, Counted[Any]]] = {}
        self._counting: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, count: Callable[[], Counted[T]]) -> Counted[T]:
        """Return the entry under `key` if younger than the window, else count it (others asking meanwhile wait)."""
        if self.seconds <= 0:
            return count()
        found = self._fresh(key)
        if found is not None:
            return found
        with self._lock:
            gate = self._counting.setdefault(key, threading.Lock())
        with gate:  # the supervisors who asked while it was counted take this count instead of starting their own
            found = self._fresh(key)
            if found is None:
                found = count()
                self._put(key, found)
        with self._lock:
            self._counting.pop(key, None)
        return found

    def _fresh(self, key: Hashable) -> Counted[Any] | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or self.clock() - entry[0] >= self.seconds:
            return None
        return entry[1]

    def _put(self, key: Hashable, counted: Counted[Any]) -> None:
        now = self.clock()
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:  # drop the expired ones, then the oldest half
                self._entries = {k: v for k, v in self._entries.items() if now - v[0] < self.seconds}
                if len(self._entries) >= MAX_ENTRIES:
                    kept = sorted(self._entries.items(), key=lambda item: item[1][0])[MAX_ENTRIES // 2:]
                    self._entries = dict(kept)
            self._entries[key] = (now, counted)


def of(app: Flask) -> ShortCache:
    """Return this app's cache (one per process: the node's gunicorn worker), made on first use."""
    found = app.extensions.get(EXTENSION)
    if not isinstance(found, ShortCache):
        found = ShortCache(float(app.config.get("MONITOR_CACHE_SECONDS", DEFAULT_SECONDS)))
        app.extensions[EXTENSION] = found
    return found


def scope(viewer: Viewer) -> str:
    """The viewer's reach as the SQL that limits their cases, values written in: equal only for the same reach."""
    return str(case_filter(viewer).compile(compile_kwargs={"literal_binds": True}))
