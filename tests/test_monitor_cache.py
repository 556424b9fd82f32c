"""The board's short shared cache (督办台): one count per filters and reach, never across reaches, gone after 30 s."""

from __future__ import annotations

import re
import threading
from datetime import UTC
from datetime import datetime
from pathlib import Path

from flask.testing import FlaskClient

from processes.cases.access import Viewer
from tests.workspace_support import Workspace
from webapp.monitor import cache
from webapp.monitor.cache import Codec
from webapp.monitor.cache import Counted
from webapp.monitor.cache import ShortCache

TOTAL = re.compile(r"在办工单 (\d+) 件 · 截至 (\d\d:\d\d:\d\d)")


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def total(client: FlaskClient, path: str = "/monitor") -> tuple[int, str]:
    """The board's number of open cases and the time it says it was counted at."""
    response = client.get(path)
    assert response.status_code == 200
    found = TOTAL.search(response.get_data(as_text=True))
    assert found is not None
    return int(found.group(1)), found.group(2)


def cached(ws: Workspace, folder: Path) -> Ticks:
    """Switch the app's board cache on (the test apps count afresh) with a clock the test moves."""
    ws.app.config["MONITOR_CACHE_SECONDS"] = 30
    ws.app.config["MONITOR_CACHE_DIR"] = str(folder)
    ticks = Ticks()
    cache.of(ws.app).clock = ticks
    cache.of(ws.app).background = False  # no refresher thread on the moved clock: tests run its passes (tick)
    return ticks


def test_counted_once_within_the_window_and_again_after_it() -> None:
    ticks, calls = Ticks(), []

    def count() -> Counted[int]:
        calls.append(1)
        return Counted(len(calls), datetime(2026, 11, 25, tzinfo=UTC))

    short = ShortCache(30, ticks)
    assert short.get("k", count).value == 1
    ticks.now += 29.9
    assert short.get("k", count).value == 1 and short.get("other", count).value == 2
    ticks.now += 0.1
    assert short.get("k", count).value == 3
    assert ShortCache(0, ticks).get("k", count).value == 4  # switched off: every request counts


def test_the_workers_of_a_node_share_counts_through_files_and_offices_never(tmp_path: Path) -> None:
    ticks, calls = Ticks(), []
    codec = Codec(lambda n: {"n": n}, lambda data: int(data["n"]))

    def count() -> Counted[int]:
        calls.append(1)
        return Counted(len(calls), datetime(2026, 11, 25, 1, 0, tzinfo=UTC))

    def worker(database: str = "office") -> ShortCache:
        return ShortCache(30, ticks, folder=tmp_path, salt=database)

    assert worker().get("k", count, codec).value == 1
    found = worker().get("k", count, codec)  # another process: read from the file, not counted again
    assert (found.value, found.at, len(calls)) == (1, datetime(2026, 11, 25, 1, 0, tzinfo=UTC), 1)
    assert worker("another office").get("k", count, codec).value == 2
    ticks.now += 30
    assert worker().get("k", count, codec).value == 3  # the file expired with the window
    for file in tmp_path.glob("*.json"):
        file.write_text("{half written", encoding="utf-8")
    assert worker().get("k", count, codec).value == 4  # unreadable: counted again, never an error


def test_supervisors_asking_at_once_share_one_count() -> None:
    started, release, calls = threading.Event(), threading.Event(), []

    def count() -> Counted[int]:
        calls.append(1)
        started.set()
        release.wait(5)
        return Counted(7, datetime(2026, 11, 25, tzinfo=UTC))

    short, results = ShortCache(30), []
    threads = [threading.Thread(target=lambda: results.append(short.get("k", count).value)) for _ in range(5)]
    threads[0].start()
    assert started.wait(5)
    for thread in threads[1:]:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(5)
    assert results == [7] * 5 and len(calls) == 1


def test_the_scope_key_differs_for_every_reach_and_not_within_one() -> None:
    office = cache.scope(Viewer("sv1", frozenset({"supervisor"}), None))
    assert office == cache.scope(Viewer("sv2", frozenset({"leader"}), None))
    sthj = cache.scope(Viewer("h1", frozenset({"handler"}), "sthj"))
    assert sthj == cache.scope(Viewer("h2", frozenset({"handler"}), "sthj"))
    assert len({office, sthj, cache.scope(Viewer("h3", frozenset({"handler"}), "zjj")),
                cache.scope(Viewer("t1", frozenset({"township_reporter"}), "beiao"))}) == 4


def test_the_board_is_served_from_the_cache_and_says_when_it_was_counted(ws: Workspace, tmp_path: Path) -> None:
    ticks = cached(ws, tmp_path / "cache")
    ws.dispatched("sthj")
    supervisor = ws.user("cache-sup", "supervisor")
    first, counted_at = total(supervisor)
    assert first == 1 and counted_at == "09:00:00"  # the office clock: Beijing 09:00
    ws.dispatched("zjj")
    assert total(supervisor) == (1, "09:00:00")  # within 30 s: the same figures, saying how old they are
    assert total(ws.user("cache-sup2", "leader")) == (1, "09:00:00")  # shared by everyone of the same reach
    assert total(supervisor, "/monitor?department=zjj")[0] == 1  # other filters: a count of their own
    cache.of(ws.app)._entries.clear()  # another worker of the node: from the file the first one wrote
    assert total(supervisor) == (1, "09:00:00")
    ticks.now += 30
    assert total(supervisor)[0] == 2  # expired: counted again


def test_a_unit_never_sees_another_reachs_cached_counts(ws: Workspace, tmp_path: Path) -> None:
    cached(ws, tmp_path / "cache")
    ws.dispatched("sthj")
    ws.dispatched("sthj")
    ws.dispatched("zjj")
    assert total(ws.user("scope-sup", "supervisor"))[0] == 3  # the office's count is in the cache first
    assert total(ws.user("scope-sthj", "handler", department="sthj"))[0] == 2
    zjj = ws.user("scope-zjj", "handler", department="zjj")
    assert total(zjj)[0] == 1
    assert total(zjj, "/monitor/counts")[0] == 1  # the background refresh likewise
