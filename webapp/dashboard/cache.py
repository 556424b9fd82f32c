"""The dashboard's answers kept per rollup run (看板缓存), shared by everyone who asks the same question.

The figures come from the rollup, which changes only when a refresh commits a `metric_rollup_run` row, so a
question's answer for one scope, reading (统计口径), language, unit names and run is the same until the next run. The
key holds all of these: a new run or another reading asks again, and a unit's or a town's question (its filters
narrowed to itself, its scope in the key) never meets another scope's answer. The version is read before the figures:
an answer counted while a refresh commits is kept under the older run, which nobody asks for once the new one shows.
Each process keeps its own few entries (gunicorn workers share nothing), least recently used first out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from collections.abc import Hashable
from typing import Any
from typing import TypeVar
from typing import cast

from flask import current_app
from sqlalchemy.orm import Session

from processes.metrics import MetricSettings
from processes.metrics import rollup

MAX_ENTRIES = 256
T = TypeVar("T")


class AnswerCache:
    """A bounded least-recently-used map from a question and the rollup's version to its answer."""

    def __init__(self, size: int = MAX_ENTRIES) -> None:
        self.size = size
        self.entries: OrderedDict[Hashable, Any] = OrderedDict()
        self.lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> tuple[bool, Any]:
        """Return (found, answer) and mark the entry as recently used."""
        with self.lock:
            if key not in self.entries:
                self.misses += 1
                return False, None
            self.hits += 1
            self.entries.move_to_end(key)
            return True, self.entries[key]

    def put(self, key: Hashable, answer: Any) -> None:
        """Keep an answer, dropping the least recently used beyond the size."""
        with self.lock:
            self.entries[key] = answer
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


def of_app() -> AnswerCache:
    """Return the application's cache (one per app: tests run several apps on other databases in one process)."""
    found = current_app.extensions.get("hotline.dashboard_cache")
    if not isinstance(found, AnswerCache):
        found = AnswerCache(int(current_app.config.get("DASHBOARD_CACHE_ENTRIES", MAX_ENTRIES)))
        current_app.extensions["hotline.dashboard_cache"] = found
    return found


def version(db: Session, reading: MetricSettings) -> tuple[Hashable, ...]:
    """Return what the rollup's answers depend on besides the question: the latest run and the reading."""
    run = rollup.last_run(db)
    return (None, None) if run is None else (run.id, run.finished_at.isoformat()), reading.key()


def answer(db: Session, reading: MetricSettings, question: Hashable, compute: Callable[[], T]) -> T:
    """Return the cached answer to the question under the rollup's current version, or compute and keep it."""
    cache = of_app()
    before = version(db, reading)
    found, value = cache.get((question, before))
    if found:
        return cast(T, value)
    value = compute()
    cache.put((question, before), value)
    return value
