"""The dashboard benchmark's analysts (统计分析员): each clicks through the dashboard every few seconds.

In turn an analyst opens the page (`/dashboard` with combined filters), asks for its numbers (`/dashboard/data`, what
a filter change fetches) and opens the cases behind a figure (`/dashboard/cases`, the drill-down). Open loop, as
bench/monitor_load.py: requests start when due and latency counts from the due time, so a queue shows.
"""

from __future__ import annotations

import asyncio
import heapq
import random
import time
from typing import Any

import aiohttp

from bench.monitor_load import COOKIE

VIEWS = ("page", "data", "drilldown")


def schedule(analysts: int, seconds: float, click_every_s: float, rng: random.Random) -> list[tuple[float, int, str]]:
    """Return (offset, analyst, view) for every click due within `seconds`, in time order."""
    events: list[tuple[float, int, str]] = []
    for index in range(analysts):
        at, turn = rng.uniform(0, click_every_s), index  # each analyst starts its round at another view
        while at < seconds:
            events.append((at, index, VIEWS[turn % len(VIEWS)]))
            at, turn = at + click_every_s, turn + 1
    heapq.heapify(events)
    return [heapq.heappop(events) for _ in range(len(events))]


async def _get(http: aiohttp.ClientSession, view: str, path: str, cookie: str, due: float,
               samples: list[tuple[str, float, int]]) -> None:
    """Fetch one address and record (view, latency from `due` in ms, status); a timeout counts as 599."""
    try:
        async with http.get(path, headers={"Cookie": f"{COOKIE}={cookie}"}, allow_redirects=False) as response:
            await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError):
        status = 599
    samples.append((view, (time.perf_counter() - due) * 1000, status))


async def run(base_url: str, cookies: list[str], paths: dict[str, list[str]], seconds: float,
              click_every_s: float, seed: int) -> list[tuple[str, float, int]]:
    """Drive the analysts for `seconds`; return every sample."""
    rng = random.Random(seed)
    samples: list[tuple[str, float, int]] = []
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(base_url, connector=aiohttp.TCPConnector(limit=0), timeout=timeout,
                                     cookie_jar=aiohttp.DummyCookieJar()) as http:
        start = time.perf_counter()
        pending: set[asyncio.Task[None]] = set()
        for offset, index, view in schedule(len(cookies), seconds, click_every_s, rng):
            due = start + offset
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            job = asyncio.create_task(_get(http, view, rng.choice(paths[view]), cookies[index], due, samples))
            pending.add(job)
            job.add_done_callback(pending.discard)
        if pending:
            await asyncio.wait(pending)
    return samples


def load_process(base_url: str, cookies: list[str], paths: dict[str, list[str]], seconds: float,
                 click_every_s: float, seed: int, results: Any) -> None:
    """Entry point of the analysts' process: run and put the samples on the queue."""
    results.put(asyncio.run(run(base_url, cookies, paths, seconds, click_every_s, seed)))
