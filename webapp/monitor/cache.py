"""A short shared cache of the office board's figures (督办台), per node: at most MONITOR_CACHE_SECONDS old.

Ten supervisors polling the same board each counted the same 50,000 open cases; at 1,000,000 cases that grouped
pass is 0.2-0.6 s, so on this node one count serves every supervisor asking for the same filters within the
window, and the page says when it was counted (截至 HH:MM:SS). Figures are kept per scope, never across: the scope
is the viewer's reach as SQL (processes.cases.access.case_filter compiled with its values), so a unit's handler
and the office can never share an entry, and two viewers share one only when their reach is the very same query.
A node's web workers are separate processes, so entries are also written as JSON files in a folder only this
account can read (MONITOR_CACHE_DIR, else instance/board-cache), named by a hash of the key and the database.
Entries asked for lately are counted again ahead of their expiry (提前刷新), in the background: from
MONITOR_CACHE_REFRESH seconds of age (25) one worker of the node, holding a lock file, recounts while every request
is still served the old figures, so no supervisor waits for a count and none sees figures 30 s old.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from typing import Generic
from typing import TypeVar

from flask import Flask

from processes.cases.access import Viewer
from processes.cases.access import case_filter

T = TypeVar("T")
DEFAULT_SECONDS = 30.0
DEFAULT_REFRESH = 25.0  # recount from this age on, in the background, while the old figures are served
WARM_SECONDS = 150.0  # keep recounting keys asked within this (the page polls every 60 s)
MAX_ENTRIES = 256  # filters come from the address: bound how many sets a node keeps
EXTENSION = "hotline.board_cache"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Counted(Generic[T]):
    """Figures and the office time they were counted at."""

    value: T
    at: datetime


@dataclass(frozen=True)
class Codec(Generic[T]):
    """How a kind of figures is written to and read from the node's files (plain JSON data, never pickle)."""

    dump: Callable[[T], Any]
    load: Callable[[Any], T]


class ShortCache:
    """Entries that expire `seconds` after they were counted (wall time); one count per key at a time per process."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.time, folder: Path | None = None,
                 salt: str = "", refresh: float | None = None) -> None:
        self.seconds = seconds
        self.clock = clock
        self.folder = folder
        self.salt = salt  # the database: two offices on one node never share files
        self.refresh = refresh  # None: never ahead of expiry; else the age from which tick() recounts
        self.context: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext
        self.background = False  # whether get() starts a thread running tick() every second (of() sets it)
        self._entries: dict[Hashable, tuple[float, Counted[Any]]] = {}
        self._counting: dict[Hashable, threading.Lock] = {}
        self._wanted: dict[Hashable, tuple[Callable[[], Counted[Any]], Codec[Any] | None, float]] = {}
        self._lock = threading.Lock()
        self._refresher: int | None = None  # the process whose background thread runs tick()

    def get(self, key: Hashable, count: Callable[[], Counted[T]], codec: Codec[T] | None = None) -> Counted[T]:
        """Return the entry under `key` if younger than the window, else count it (others asking meanwhile wait)."""
        if self.seconds <= 0:
            return count()
        self._want(key, count, codec)
        found = self._fresh(key) or self._read(key, codec)
        if found is not None:
            return found
        with self._gate(key):  # the supervisors who asked while it was counted take this count, not their own
            found = self._fresh(key)
            if found is None:
                found = count()
                self._put(key, found, self.clock())
                self._write(key, found, codec)
        return found

    def tick(self) -> int:
        """Recount, one key at a time, the entries asked for lately that reached the refresh age; return how many."""
        if self.refresh is None or self.seconds <= 0:
            return 0
        now = self.clock()
        with self._lock:
            self._wanted = {k: w for k, w in self._wanted.items() if now - w[2] < WARM_SECONDS}
            wanted = list(self._wanted.items())
        return sum(self._refresh(key, count, codec) for key, (count, codec, _) in wanted)

    def _refresh(self, key: Hashable, count: Callable[[], Counted[Any]], codec: Codec[Any] | None) -> bool:
        """Recount one key if its entry is old enough and no one in this process or on this node is counting it."""
        refresh = self.refresh if self.refresh is not None else self.seconds
        if self._age(key) < refresh:
            return False
        self._read(key, codec)  # another worker of the node may have recounted it already
        if self._age(key) < refresh:
            return False
        gate = self._gate(key)
        if not gate.acquire(blocking=False):
            return False  # a request of this process is counting it
        try:
            if not self._claim(key):
                return False  # another worker holds the lock file: its count arrives through the file
            try:
                with self.context():
                    found = count()
                self._put(key, found, self.clock())
                self._write(key, found, codec)
            finally:
                self._release(key)
        except Exception:  # a failed recount leaves the old entry to expire; the next request counts
            log.warning("board cache: background recount failed", exc_info=True)
            return False
        finally:
            gate.release()
        return True

    def _want(self, key: Hashable, count: Callable[[], Counted[Any]], codec: Codec[Any] | None) -> None:
        """Note that `key` was asked for now, with how to count it, and start this process's refresher."""
        if self.refresh is None:
            return
        with self._lock:
            if len(self._wanted) >= MAX_ENTRIES and key not in self._wanted:
                return  # bounded like the entries: such a key is counted on its misses only
            self._wanted[key] = (count, codec, self.clock())
            if self.background and self._refresher != os.getpid():  # once per process (a forked worker starts its own)
                self._refresher = os.getpid()
                threading.Thread(target=self._run, name="board-cache-refresh", daemon=True).start()

    def _run(self) -> None:
        """The background refresher of this process: look every second for entries to recount."""
        while True:
            time.sleep(1.0)
            try:
                self.tick()
            except Exception:  # the refresher must outlive any one failure
                log.warning("board cache: refresher", exc_info=True)

    def _gate(self, key: Hashable) -> threading.Lock:
        with self._lock:
            return self._counting.setdefault(key, threading.Lock())

    def _age(self, key: Hashable) -> float:
        with self._lock:
            entry = self._entries.get(key)
        return self.seconds if entry is None else self.clock() - entry[0]

    def _claim(self, key: Hashable) -> bool:
        """Take the node's lock file of `key` (one recount per key); a lock older than the window is stale."""
        path = self._path(key)
        if path is None or self.folder is None:
            return True
        lock = path.with_suffix(".lock")
        for _ in range(2):
            try:
                self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
                return True
            except FileExistsError:
                with contextlib.suppress(OSError):
                    if time.time() - lock.stat().st_mtime < max(self.seconds, 1.0):
                        return False
                    lock.unlink()  # left by a worker that died while counting
            except OSError:
                return False
        return False

    def _release(self, key: Hashable) -> None:
        path = self._path(key)
        if path is not None:
            with contextlib.suppress(OSError):
                path.with_suffix(".lock").unlink()

    def _path(self, key: Hashable) -> Path | None:
        if self.folder is None:
            return None
        return self.folder / (hashlib.sha256(repr((self.salt, key)).encode()).hexdigest() + ".json")

    def _read(self, key: Hashable, codec: Codec[T] | None) -> Counted[T] | None:
        """Another worker's count of this key, if its file is younger than the window."""
        path = self._path(key)
        if path is None or codec is None:
            return None
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            born = float(entry["born"])
            if not 0 <= self.clock() - born < self.seconds or entry["key"] != repr(key):
                return None
            found = Counted(codec.load(entry["value"]), datetime.fromisoformat(entry["at"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # none yet, half written by another worker, or from an older release: count again
        self._put(key, found, born)
        return found

    def _write(self, key: Hashable, counted: Counted[T], codec: Codec[T] | None) -> None:
        """Leave the count for the node's other workers (written whole, then renamed into place)."""
        path, folder = self._path(key), self.folder
        if path is None or folder is None or codec is None:
            return
        entry = {"key": repr(key), "born": self.clock(), "at": counted.at.isoformat(),
                 "value": codec.dump(counted.value)}
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(entry, out, ensure_ascii=False)
            os.replace(temporary, path)
            self._sweep(folder)
        except OSError:
            log.warning("board cache: cannot write %s", path, exc_info=True)

    def _sweep(self, folder: Path) -> None:
        """Remove expired files once there are many (filters come from the address)."""
        files = list(folder.iterdir())
        if len(files) <= MAX_ENTRIES:
            return
        for file in files:
            with contextlib.suppress(OSError):  # another worker swept it first
                if time.time() - file.stat().st_mtime >= max(self.seconds, 1.0):
                    file.unlink()

    def _fresh(self, key: Hashable) -> Counted[Any] | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or not 0 <= self.clock() - entry[0] < self.seconds:
            return None
        return entry[1]

    def _put(self, key: Hashable, counted: Counted[Any], now: float) -> None:
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
        folder = app.config.get("MONITOR_CACHE_DIR") or Path(app.instance_path) / "board-cache"
        refresh = app.config.get("MONITOR_CACHE_REFRESH", DEFAULT_REFRESH)
        found = ShortCache(float(app.config.get("MONITOR_CACHE_SECONDS", DEFAULT_SECONDS)), folder=Path(folder),
                           salt=str(app.config.get("DATABASE_URL") or ""),
                           refresh=None if refresh is None else float(refresh))
        found.context = app.app_context  # the refresher counts outside any request
        found.background = found.refresh is not None
        app.extensions[EXTENSION] = found
    return found


def scope(viewer: Viewer) -> str:
    """The viewer's reach as the SQL that limits their cases, values written in: equal only for the same reach."""
    return str(case_filter(viewer).compile(compile_kwargs={"literal_binds": True}))
