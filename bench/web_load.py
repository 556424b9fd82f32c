"""The web benchmark's load: simulated operators on an open-loop schedule, each request timed from when it was due.

Every operator refreshes the worklist every 15 s and opens and submits a task form every 60 s, starting at a random
offset. Requests start when they are due whether or not earlier ones have answered (open loop), and latency counts
from the due time, so a slow server cannot hide its queue by slowing the load down (coordinated omission).
"""

from __future__ import annotations

import asyncio
import heapq
import random
import re
import time
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import aiohttp

WORKLIST_PATH = "/worklist/rows"
TASK_PATH = "/tasks/{task_id}"
COOKIE = "hotline_session"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
TRIAGE = {"request_type": "consult", "urgency": "normal", "triage_result": "direct_answer", "action": "complete"}
THINK_S = 2.0  # between opening a form and submitting it


@dataclass(frozen=True)
class Sample:
    """One request: what it was, how long from due time to the end of the answer, and its status."""

    kind: str
    latency_ms: float
    status: int


class Operator:
    """One simulated operator's cookie and the task ids still to work."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.headers = {"Cookie": f"{COOKIE}={spec['cookie']}"}
        self.tasks: list[str] = list(spec["tasks"])


async def _timed(samples: list[Sample], kind: str, due: float, call: Awaitable[aiohttp.ClientResponse]) -> str:
    """Await a request, record its latency from `due`, and return the body."""
    try:
        async with await call as response:
            body = await response.text()
            status = response.status
    except (aiohttp.ClientError, TimeoutError):  # a timed-out request is a failure to count, not a lost sample
        body, status = "", 599
    samples.append(Sample(kind, (time.perf_counter() - due) * 1000, status))
    return body


async def refresh_worklist(http: aiohttp.ClientSession, op: Operator, due: float, samples: list[Sample]) -> None:
    """Poll the worklist rows the way the page does (a background refresh)."""
    headers = {**op.headers, "HX-Request": "true", "X-Background-Refresh": "1"}
    await _timed(samples, "worklist", due, http.get(WORKLIST_PATH, headers=headers, allow_redirects=False))


async def work_task(http: aiohttp.ClientSession, op: Operator, due: float, samples: list[Sample]) -> None:
    """Open the next task form, think, submit it."""
    if not op.tasks:
        samples.append(Sample("no_task", 0.0, 0))
        return
    path = TASK_PATH.format(task_id=op.tasks.pop())
    body = await _timed(samples, "task_open", due, http.get(path, headers=op.headers, allow_redirects=False))
    found = TOKEN.search(body)
    if found is None:
        samples.append(Sample("task_submit", 0.0, 598))  # no form came back: counted as an error, not a latency
        return
    submit_due = time.perf_counter() + THINK_S
    await asyncio.sleep(THINK_S)
    form = {**TRIAGE, "csrf_token": found.group(1)}
    await _timed(samples, "task_submit", submit_due,
                 http.post(path, data=form, headers=op.headers, allow_redirects=False))


Action = Callable[[aiohttp.ClientSession, Operator, float, list[Sample]], Coroutine[Any, Any, None]]


def schedule(count: int, seconds: float, rng: random.Random) -> list[tuple[float, int, str]]:
    """Return (offset, operator index, action) for every request due within `seconds`, in time order."""
    events: list[tuple[float, int, str]] = []
    for index in range(count):
        for action, every in (("worklist", 15.0), ("task", 60.0)):
            at = rng.uniform(0, every)
            while at < seconds:
                events.append((at, index, action))
                at += every
    heapq.heapify(events)
    return [heapq.heappop(events) for _ in range(len(events))]


async def run(base_url: str, specs: list[dict[str, Any]], seconds: float, seed: int) -> list[Sample]:
    """Drive `len(specs)` operators for `seconds` against the server; return every sample."""
    operators = [Operator(spec) for spec in specs]
    actions: dict[str, Action] = {"worklist": refresh_worklist, "task": work_task}
    samples: list[Sample] = []
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(base_url, connector=connector, timeout=timeout,
                                     cookie_jar=aiohttp.DummyCookieJar()) as http:
        start = time.perf_counter()
        pending: set[asyncio.Task[None]] = set()
        for offset, index, action in schedule(len(operators), seconds, random.Random(seed)):
            due = start + offset
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            job = asyncio.create_task(actions[action](http, operators[index], due, samples))
            pending.add(job)
            job.add_done_callback(pending.discard)
        if pending:
            await asyncio.wait(pending)
    return samples


def load_process(base_url: str, specs: list[dict[str, Any]], seconds: float, seed: int, results: Any) -> None:
    """Entry point of the load process: run and put the samples (as tuples) on the queue."""
    samples = asyncio.run(run(base_url, specs, seconds, seed))
    results.put([(s.kind, s.latency_ms, s.status) for s in samples])
