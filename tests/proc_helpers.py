"""Code that runs in other OS processes for the race and durability tests.

Used three ways: as multiprocessing targets (forkserver/spawn: each process builds its own Runtime), and as a
command line, `python -m tests.proc_helpers <step> <url> <json>`, for the restart tests.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg  # noqa: F401  (imported here so forkserver children, which preload this module, start warm)
import sqlalchemy as sa
import sqlalchemy.dialects.postgresql.psycopg
import sqlalchemy.dialects.sqlite.pysqlite

from processes.errors import Conflict
from processes.runtime import commands
from processes.runtime import definitions
from processes.runtime.core import Runtime
from processes.runtime.handler_api import HandlerContext
from processes.runtime.handler_api import HandlerSpec
from processes.runtime.models import HumanTask
from tests.support import make_runtime
from tests.support import read_bundle
from tests.support import test_registry

BLOCK_OPERATOR = "test.block"


def blocking_registry(fn: Callable[..., Any] | None = None) -> dict[str, HandlerSpec]:
    """The test registry plus `test.block` (by default a plain echo, i.e. a handler that works)."""
    registry = test_registry()
    registry[BLOCK_OPERATOR] = HandlerSpec(BLOCK_OPERATOR, fn or (lambda ctx, value=None: {"v": value}), "阻塞")
    return registry


def open_task_id(rt: Runtime, instance_id: str, bpmn_id: str) -> str:
    """Return the id of the one open human task with this BPMN id."""
    with rt.read() as session:
        ids = list(session.scalars(sa.select(HumanTask.id).where(
            HumanTask.instance_id == instance_id, HumanTask.bpmn_id == bpmn_id, HumanTask.status == "open")))
    if len(ids) != 1:
        raise AssertionError(f"expected one open {bpmn_id} task, found {len(ids)}")
    return ids[0]


def wait_until(predicate: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Poll a condition until it holds or the timeout passes; the caller asserts the returned value."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


# --- process races -----------------------------------------------------------------------------------------

def race_worker(url: str, barrier: Any, inbox: Any, outbox: Any) -> None:
    """Take (instance, task, takes_part, actor) jobs; all workers cross the barrier, then the chosen ones race."""
    rt = make_runtime(url)
    try:
        while True:
            job = inbox.get()
            if job is None:
                return
            instance_id, task_id, takes_part, actor = job
            barrier.wait(timeout=60)
            if not takes_part:
                outbox.put((actor, "idle"))
                continue
            try:
                commands.complete_task(rt, instance_id, task_id, {"approved": True}, actor=actor)
                outbox.put((actor, "ok"))
            except Conflict as exc:
                outbox.put((actor, f"conflict:{type(exc).__name__}"))
            except Exception as exc:  # reported to the test, which fails on it
                outbox.put((actor, f"error:{exc!r}"))
    finally:
        rt.db.dispose()


# --- crash inside a command --------------------------------------------------------------------------------

def _signal_and_hang(ready: Path) -> None:
    ready.write_text(str(os.getpid()), encoding="utf-8")
    time.sleep(600)  # the test SIGKILLs this process long before


def crash_inside_command(url: str, instance_id: str, task_id: str, ready: str, fault: str) -> None:
    """Complete a task and hang inside the transaction until killed.

    fault "in_handler": inside the service-task handler that runs after the user task (engine steps running);
    fault "before_commit": after every row of the command was written (snapshot, projections, history), before
    the commit.
    """
    ready_path = Path(ready)

    def hang_in_handler(ctx: HandlerContext, value: Any = None) -> Any:
        _signal_and_hang(ready_path)

    rt = make_runtime(url, registry=blocking_registry(hang_in_handler if fault == "in_handler" else None))
    if fault == "before_commit":
        write_history = rt._write_history

        def write_history_then_hang(ctx: Any) -> None:
            write_history(ctx)
            ctx.session.flush()
            _signal_and_hang(ready_path)

        rt._write_history = write_history_then_hang  # type: ignore[method-assign]
    commands.complete_task(rt, instance_id, task_id, {"prepared": True}, actor="crasher")
    raise AssertionError("the command finished although the test meant to kill it")


# --- restart steps (python -m tests.proc_helpers) ------------------------------------------------------------

def step_open(rt: Runtime, args: dict[str, Any]) -> dict[str, Any]:
    """Deploy and publish simple.bpmn, register a case; return its ids."""
    with rt.write() as session, session.begin():
        definitions.deploy(session, "simple", read_bundle("simple.bpmn"), actor="analyst", now=rt.clock(),
                           operators=rt.handlers, publish=True)
    started = commands.open_case(rt, "simple", args["data"], actor=args["actor"], channel="phone")
    return {"instance_id": started.instance_id, "case_id": started.case_id, "status": started.status,
            "pid": os.getpid()}


def step_complete(rt: Runtime, args: dict[str, Any]) -> dict[str, Any]:
    """Complete the open task with the given BPMN id; return the instance status."""
    task_id = open_task_id(rt, args["instance_id"], args["bpmn_id"])
    status = commands.complete_task(rt, args["instance_id"], task_id, args.get("data", {}), actor=args["actor"])
    return {"status": status, "task_id": task_id, "pid": os.getpid()}


STEPS = {"open": step_open, "complete": step_complete}


def main(argv: list[str]) -> int:
    """Run one step against a database URL in this (fresh) process and print its result as JSON."""
    step, url, raw = argv
    rt = make_runtime(url)
    try:
        print(json.dumps(STEPS[step](rt, json.loads(raw))))
    finally:
        rt.db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
