"""The dashboard's answers kept per rollup run (看板缓存), shared by everyone who asks the same question.

The figures come from the rollup, which changes only when a refresh commits a `metric_rollup_run` row, so a
question's answer for one scope, reading (统计口径), language, unit names and run is the same until the next run. The
key holds all of these: a new run or another reading asks again, and a unit's or a town's question (its filters
narrowed to itself, its scope in the key) never meets another scope's answer. The version is read before the figures:
an answer counted while a refresh commits is kept under the older run, which nobody asks for once the new one shows.
Each process keeps its few entries in memory, least recently used first out; gunicorn's workers share nothing, so an
answer is also written as a JSON file (never pickle) in a folder only this account reads (DASHBOARD_CACHE_DIR, else
instance/dashboard-cache; test apps only with DASHBOARD_CACHE_DIR), named by a hash of the database, question and
version, which any worker of the node then reads. The version is read from the database on every request, so nodes
that each keep their own files never serve another run's or reading's answer.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import Generic
from typing import TypeVar
from typing import cast

from flask import Flask
from flask import current_app
from sqlalchemy.orm import Session

from processes.metrics import MetricSettings
from processes.metrics import rollup

MAX_ENTRIES = 256
MAX_FILES = 2048  # a refresh every few minutes leaves the older runs' files: the oldest go past this
EXTENSION = "hotline.dashboard_cache"
T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Codec(Generic[T]):
    """How an answer is written to and read from the node's files (plain JSON data)."""

    dump: Callable[[T], Any]
    load: Callable[[Any], T]


class AnswerCache:
    """A bounded least-recently-used map from a question and the rollup's version to its answer, backed by files."""

    def __init__(self, size: int = MAX_ENTRIES, folder: Path | None = None, salt: str = "") -> None:
        self.size = size
        self.folder = folder
        self.salt = salt  # the database: two offices on one node never share files
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

    def path(self, key: Hashable) -> Path | None:
        """Return the file of a key on this node, or None without a folder."""
        if self.folder is None:
            return None
        return self.folder / (hashlib.sha256(repr((self.salt, key)).encode()).hexdigest() + ".json")

    def read(self, key: Hashable, codec: Codec[T]) -> tuple[bool, T | None]:
        """Return (found, answer) from another worker's file of this key."""
        path = self.path(key)
        if path is None:
            return False, None
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            if entry["key"] != repr((self.salt, key)):
                return False, None  # a hash collision: never another question's answer
            value = codec.load(entry["value"])
        except (OSError, ValueError, KeyError, TypeError):
            return False, None  # none yet, half written, or from an older release: count again
        self.put(key, value)
        return True, value

    def write(self, key: Hashable, value: T, codec: Codec[T], *, sweep: bool = True) -> None:
        """Leave the answer for the node's other workers (written whole, then renamed into place)."""
        path, folder = self.path(key), self.folder
        if path is None or folder is None:
            return
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump({"key": repr((self.salt, key)), "value": codec.dump(value)}, out, ensure_ascii=False)
            os.replace(temporary, path)
            if sweep:
                self.sweep(folder)
        except (OSError, TypeError, ValueError):
            log.warning("dashboard cache: cannot write %s", path, exc_info=True)

    def sweep(self, folder: Path) -> None:
        """Remove the oldest files once there are many (older runs' answers nobody asks for any more)."""
        files = list(folder.iterdir())
        if len(files) <= MAX_FILES:
            return
        with contextlib.suppress(OSError):
            files.sort(key=lambda file: file.stat().st_mtime)
        for file in files[: len(files) - MAX_FILES // 2]:
            with contextlib.suppress(OSError):  # another worker swept it first
                file.unlink()


def of(app: Flask) -> AnswerCache:
    """Return the application's cache (one per app: tests run several apps on other databases in one process)."""
    found = app.extensions.get(EXTENSION)
    if not isinstance(found, AnswerCache):
        folder = app.config.get("DASHBOARD_CACHE_DIR")
        if not folder and not app.testing:
            folder = Path(app.instance_path) / "dashboard-cache"
        found = AnswerCache(int(app.config.get("DASHBOARD_CACHE_ENTRIES", MAX_ENTRIES)),
                            folder=Path(folder) if folder else None, salt=str(app.config.get("DATABASE_URL") or ""))
        app.extensions[EXTENSION] = found
    return found


def version(db: Session, reading: MetricSettings) -> tuple[Hashable, ...]:
    """Return what the rollup's answers depend on besides the question: the latest run and the reading."""
    run = rollup.last_run(db)
    return (None, None) if run is None else (run.id, run.finished_at.isoformat()), reading.key()


def _same(value: Any) -> Any:
    """Return a JSON-ready answer as it is."""
    return value


AS_IS: Codec[Any] = Codec(_same, _same)


def answer(db: Session, reading: MetricSettings, question: Hashable, compute: Callable[[], T],
           codec: Codec[T] | None = None) -> T:
    """Return the kept answer to the question under the rollup's current version, or compute and keep it."""
    kept = of(current_app)
    key = (question, version(db, reading))
    found, value = kept.get(key)
    if found:
        return cast(T, value)
    chosen = codec or cast(Codec[T], AS_IS)
    found, value = kept.read(key, chosen)
    if found:
        return cast(T, value)
    value = compute()
    kept.put(key, value)
    kept.write(key, value, chosen)
    return value


def keep(db: Session, reading: MetricSettings, answers: Callable[[], dict[Hashable, T]], codec: Codec[T]) -> None:
    """Count several answers together and keep each under the version read before they were counted."""
    kept, before = of(current_app), version(db, reading)
    for question, value in answers().items():
        kept.put((question, before), value)
        kept.write((question, before), value, codec, sweep=False)  # one look at the folder for all of them
    if kept.folder is not None:
        with contextlib.suppress(OSError):
            kept.sweep(kept.folder)
