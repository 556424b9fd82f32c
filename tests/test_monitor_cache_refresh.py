"""The board cache recounted ahead of expiry (提前刷新): old figures served meanwhile, one recount per key and node."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC
from datetime import datetime
from pathlib import Path

from tests.test_monitor_cache import Ticks
from tests.test_monitor_cache import cached
from tests.test_monitor_cache import total
from tests.workspace_support import Workspace
from webapp.monitor import cache
from webapp.monitor.cache import Codec
from webapp.monitor.cache import Counted
from webapp.monitor.cache import ShortCache

CODEC: Codec[int] = Codec(lambda n: {"n": n}, lambda data: int(data["n"]))


class Counter:
    """A count that numbers its calls and, when held, waits inside until released (a slow count at 1 M cases)."""

    def __init__(self) -> None:
        self.calls = 0
        self.inside, self.release = threading.Event(), threading.Event()
        self.release.set()

    def hold(self) -> None:
        """Make the next counts wait for release()."""
        self.inside.clear()
        self.release.clear()

    def __call__(self) -> Counted[int]:
        self.calls += 1
        self.inside.set()
        assert self.release.wait(5)
        return Counted(self.calls, datetime(2026, 11, 25, tzinfo=UTC))


def in_background(short: ShortCache) -> threading.Thread:
    """Run one refresher pass of `short` in a thread, as its worker's refresher does."""
    thread = threading.Thread(target=short.tick)
    thread.start()
    return thread


def test_the_old_figures_are_served_until_the_recount_is_in() -> None:
    ticks, count = Ticks(), Counter()
    short = ShortCache(30, ticks, refresh=25)
    assert short.get("k", count).value == 1
    ticks.now += 24.9
    assert short.tick() == 0 and count.calls == 1  # not old enough to recount
    ticks.now += 0.1
    count.hold()
    thread = in_background(short)
    assert count.inside.wait(5)
    assert short.get("k", count).value == 1  # asked while it recounts: the old figures at once, no second count
    assert short.tick() == 0  # one recount per key at a time
    count.release.set()
    thread.join(5)
    assert short.get("k", count).value == 2 and count.calls == 2
    ticks.now += 29.9
    assert short.get("k", count).value == 2  # the recount's own window
    ticks.now += 0.1
    assert short.get("k", count).value == 3  # never older than 30 s: a miss counts, even if no refresher ran


def test_only_keys_asked_lately_are_kept_warm() -> None:
    ticks, count = Ticks(), Counter()
    short = ShortCache(30, ticks, refresh=25)
    short.get("k", count)
    ticks.now += 60
    assert short.tick() == 1 and count.calls == 2  # asked a minute ago: counted again so the next ask is a hit
    ticks.now += cache.WARM_SECONDS
    assert short.tick() == 0 and count.calls == 2  # nobody asked for long: left to expire
    assert ShortCache(30, ticks).tick() == 0  # refresh off: counted on a miss only


def test_one_worker_of_the_node_recounts_and_the_others_take_its_file(tmp_path: Path) -> None:
    ticks, count = Ticks(), Counter()
    first, second = (ShortCache(30, ticks, folder=tmp_path, salt="office", refresh=25) for _ in range(2))
    assert first.get("k", count, CODEC).value == 1
    assert second.get("k", count, CODEC).value == 1 and count.calls == 1  # from the first one's file
    ticks.now += 26
    count.hold()
    thread = in_background(first)
    assert count.inside.wait(5)
    assert second.tick() == 0  # the first worker holds the key's lock file
    assert second.get("k", count, CODEC).value == 1 and count.calls == 2
    count.release.set()
    thread.join(5)
    assert second.tick() == 0 and count.calls == 2  # the first worker's recount, read from its file
    assert second.get("k", count, CODEC).value == 2
    assert not list(tmp_path.glob("*.lock"))


def test_a_lock_left_by_a_dead_worker_is_taken_over(tmp_path: Path) -> None:
    ticks, count = Ticks(), Counter()
    short = ShortCache(30, ticks, folder=tmp_path, salt="office", refresh=25)
    short.get("k", count, CODEC)
    (lock,) = [file.with_suffix(".lock") for file in tmp_path.glob("*.json")]
    lock.touch()
    ticks.now += 26
    assert short.tick() == 0 and count.calls == 1  # a worker is counting it now
    os.utime(lock, (time.time() - 31, time.time() - 31))
    assert short.tick() == 1 and count.calls == 2  # its lock outlived the window: that worker died


def test_each_reach_is_recounted_with_its_own_scope(ws: Workspace, tmp_path: Path) -> None:
    ticks = cached(ws, tmp_path / "cache")
    short = cache.of(ws.app)
    ws.dispatched("sthj")
    ws.dispatched("zjj")
    office, sthj = ws.user("warm-sup", "supervisor"), ws.user("warm-sthj", "handler", department="sthj")
    assert (total(office)[0], total(sthj)[0]) == (2, 1)
    ws.dispatched("sthj")
    ticks.now += 25
    assert total(office)[0] == 2  # not yet recounted: the old figures
    assert short.tick() >= 2  # the office's and the unit's boards (and the filters' choices)
    assert (total(office)[0], total(sthj)[0]) == (3, 2)  # each its own reach, served from the recount
    assert (total(office, "/monitor/counts")[0], total(sthj, "/monitor/counts")[0]) == (3, 2)
