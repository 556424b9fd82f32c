"""The monitor benchmark's supervisors (督办): each polls the board's counts and clicks through the console.

Every supervisor refreshes `/monitor/counts` in the background every 60 s and clicks every few seconds, in turn:
the board (`/monitor`, sometimes filtered), a count's drill-down (the case search behind it, by deadline), the
instance list (filtered, or a later page) and an instance page. Open loop, as bench/web_load.py: requests start
when due and latency counts from the due time, so a queue on the server shows in the figures.
"""

from __future__ import annotations

import asyncio
import heapq
import random
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

COOKIE = "hotline_session"
POLL_EVERY_S = 60.0  # the board's own background refresh (webapp/monitor/views.py POLL_SECONDS)
CLICKS = ("board", "drilldown", "instances", "instance")
VIEWS = ("board", "counts", "drilldown", "instances", "instance")


@dataclass(frozen=True)
class Plan:
    """What the supervisors ask for: their cookies, and the addresses each kind of view picks from."""

    cookies: list[str]
    paths: dict[str, list[str]]  # view -> candidate paths (board filters, drill links, list pages, instance pages)
    click_every_s: float
    poll_every_s: float = POLL_EVERY_S


def schedule(supervisors: int, seconds: float, click_every_s: float, rng: random.Random,
             clicks: tuple[str, ...] = CLICKS, poll_every_s: float = POLL_EVERY_S) -> list[tuple[float, int, str]]:
    """Return (offset, supervisor, view) for every request due within `seconds`, in time order."""
    events: list[tuple[float, int, str]] = []
    for index in range(supervisors):
        at = rng.uniform(0, poll_every_s)
        while at < seconds:
            events.append((at, index, "counts"))
            at += poll_every_s
        at, turn = rng.uniform(0, click_every_s), index  # each supervisor starts its round at another view
        while at < seconds:
            events.append((at, index, clicks[turn % len(clicks)]))
            at, turn = at + click_every_s, turn + 1
    heapq.heapify(events)
    return [heapq.heappop(events) for _ in range(len(events))]


async def _get(http: aiohttp.ClientSession, view: str, path: str, headers: dict[str, str], due: float,
               samples: list[tuple[str, float, int]]) -> None:
    """Fetch one page and record (view, latency from `due` in ms, status)."""
    try:
        async with http.get(path, headers=headers, allow_redirects=False) as response:
            await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError):
        status = 599
    samples.append((view, (time.perf_counter() - due) * 1000, status))


async def run(base_url: str, plan: Plan, seconds: float, seed: int) -> list[tuple[str, float, int]]:
    """Drive the supervisors for `seconds`; return every sample."""
    rng = random.Random(seed)
    samples: list[tuple[str, float, int]] = []
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(base_url, connector=connector, timeout=timeout,
                                     cookie_jar=aiohttp.DummyCookieJar()) as http:
        start = time.perf_counter()
        pending: set[asyncio.Task[None]] = set()
        clicks = tuple(view for view in CLICKS if plan.paths.get(view))  # the views this console has
        for offset, index, view in schedule(len(plan.cookies), seconds, plan.click_every_s, rng, clicks,
                                            plan.poll_every_s):
            due = start + offset
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            headers = {"Cookie": f"{COOKIE}={plan.cookies[index]}"}
            if view == "counts":  # what the board's background refresh sends
                headers.update({"HX-Request": "true", "X-Background-Refresh": "1"})
            path = rng.choice(plan.paths[view])
            job = asyncio.create_task(_get(http, view, path, headers, due, samples))
            pending.add(job)
            job.add_done_callback(pending.discard)
        if pending:
            await asyncio.wait(pending)
    return samples


def load_process(base_url: str, plan: Plan, seconds: float, seed: int, results: Any) -> None:
    """Entry point of the supervisors' process: run and put the samples on the queue."""
    results.put(asyncio.run(run(base_url, plan, seconds, seed)))
