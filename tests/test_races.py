"""R1 concurrency: races on one task, parallel joins, independence of instances, forced interleaving.

Every race is one instance: the instances are made in bulk first (one started through the product path, the
rest cloned), then N contenders released together complete the same task through `commands.complete_task`.
"""

from __future__ import annotations

import multiprocessing
import random
import threading
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from processes.clock import FrozenClock
from processes.errors import Conflict
from processes.errors import TaskNotReady
from processes.runtime import assignment
from processes.runtime import commands
from processes.runtime.core import Runtime
from processes.runtime.models import HistoryEvent
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessInstance
from tests import proc_helpers
from tests.bulk import history_counts
from tests.bulk import open_tasks_by_instance
from tests.bulk import start_many
from tests.bulk import statuses
from tests.bulk import task_rows
from tests.bulk import versions
from tests.proc_helpers import wait_until
from tests.support import deploy
from tests.support import make_runtime

# Repetitions per backend: 800 + 200 = 1,000 races on PostgreSQL, 150 + 50 = 200 on SQLite.
THREAD_RACES = {"postgresql": 800, "sqlite": 150}
PROCESS_RACES = {"postgresql": 200, "sqlite": 50}
JOIN_RACES = {"postgresql": 100, "sqlite": 50}
PROCESSES = 4
WAIT = 60.0  # seconds before a stuck race fails the test instead of hanging it


def backend(rt: Runtime) -> str:
    return rt.db.dialect.name


def race(contenders: list[Callable[[], Any]]) -> list[Any]:
    """Run the callables in threads released together by a barrier; return each result or exception."""
    barrier = threading.Barrier(len(contenders))
    results: list[Any] = [None] * len(contenders)

    def run(i: int) -> None:
        barrier.wait(timeout=WAIT)
        try:
            results[i] = contenders[i]()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,), name=f"racer-{i}") for i in range(len(contenders))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
        assert not thread.is_alive(), "a racer hung"
    return results


def assert_single_completion(rt: Runtime, winners: dict[str, str], tasks: dict[str, str]) -> None:
    """Per instance: one task_completed row, the task completed once by the winner, one next task, version 2."""
    completed = history_counts(rt, "task_completed")
    assert {key: n for key, n in completed.items() if n != 1} == {}
    assert set(completed) == {(iid, tasks[iid]) for iid in winners}
    rows = task_rows(rt, ["approve", "archive"])
    approve = {r.instance_id: (r.id, r.status, r.completed_by) for r in rows if r.bpmn_id == "approve"}
    assert approve == {iid: (tasks[iid], "completed", winners[iid]) for iid in winners}
    archive = Counter((r.instance_id, r.status) for r in rows if r.bpmn_id == "archive")
    assert archive == {(iid, "open"): 1 for iid in winners}
    assert versions(rt) == dict.fromkeys(winners, 2)  # 1 after start, +1 for the one successful command


def test_threads_completing_the_same_task_have_exactly_one_winner(runtime: Runtime) -> None:
    deploy(runtime, "two_step", "two_step.bpmn")
    ids = start_many(runtime, "two_step", THREAD_RACES[backend(runtime)])
    tasks = open_tasks_by_instance(runtime, "approve")
    rng = random.Random(20261125)
    winners: dict[str, str] = {}
    sizes = Counter()
    for iid in ids:
        n = rng.randint(2, 5)
        sizes[n] += 1
        actors = [f"u{i}" for i in range(n)]
        results = race([partial(commands.complete_task, runtime, iid, tasks[iid], {"approved": True}, actor=a)
                        for a in actors])
        ok = [a for a, r in zip(actors, results, strict=True) if r == "running"]
        lost = [r for r in results if isinstance(r, Conflict)]
        assert len(ok) == 1 and len(lost) == n - 1, results  # never "database is locked", never two winners
        winners[iid] = ok[0]
    assert set(sizes) == {2, 3, 4, 5}
    assert_single_completion(runtime, winners, tasks)


def test_processes_completing_the_same_task_have_exactly_one_winner(runtime: Runtime, db_url: str) -> None:
    deploy(runtime, "two_step", "two_step.bpmn")
    ids = start_many(runtime, "two_step", PROCESS_RACES[backend(runtime)])
    tasks = open_tasks_by_instance(runtime, "approve")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.proc_helpers"])
    barrier = ctx.Barrier(PROCESSES)
    inboxes = [ctx.Queue() for _ in range(PROCESSES)]
    outbox = ctx.Queue()
    workers = [ctx.Process(target=proc_helpers.race_worker, args=(db_url, barrier, inboxes[i], outbox),
                           name=f"race-worker-{i}", daemon=True) for i in range(PROCESSES)]
    for worker in workers:
        worker.start()
    winners: dict[str, str] = {}
    sizes = Counter()
    rng = random.Random(7)
    try:
        for iid in ids:
            racers = set(rng.sample(range(PROCESSES), rng.randint(2, PROCESSES)))
            sizes[len(racers)] += 1
            for i, inbox in enumerate(inboxes):
                inbox.put((iid, tasks[iid], i in racers, f"p{i}"))
            results = dict(outbox.get(timeout=WAIT) for _ in workers)
            ok = [actor for actor, result in results.items() if result == "ok"]
            lost = [result for result in results.values() if result.startswith("conflict:")]
            assert len(ok) == 1 and len(lost) == len(racers) - 1, results
            winners[iid] = ok[0]
    finally:
        for inbox in inboxes:
            inbox.put(None)
        for worker in workers:
            worker.join(WAIT)
            if worker.is_alive():
                worker.kill()
    assert all(worker.exitcode == 0 for worker in workers)
    assert set(sizes) == set(range(2, PROCESSES + 1))
    assert_single_completion(runtime, winners, tasks)


def test_both_branches_of_a_parallel_join_completed_at_once(runtime: Runtime) -> None:
    deploy(runtime, "parallel_join", "parallel_join.bpmn")
    ids = start_many(runtime, "parallel_join", JOIN_RACES[backend(runtime)])
    lead, assist = open_tasks_by_instance(runtime, "lead_reply"), open_tasks_by_instance(runtime, "assist_reply")
    for iid in ids:
        results = race([
            partial(commands.complete_task, runtime, iid, lead[iid], {"lead_done": True}, actor="lead"),
            partial(commands.complete_task, runtime, iid, assist[iid], {"assist_done": True}, actor="assist"),
        ])
        assert results == ["running", "running"]  # different tasks: the case lock serialises, both succeed

    rows = task_rows(runtime, ["review"])
    assert Counter(r.instance_id for r in rows) == dict.fromkeys(ids, 1)  # the join fired exactly once
    assert {r.status for r in rows} == {"open"}
    assert versions(runtime) == dict.fromkeys(ids, 3)
    completed = history_counts(runtime, "task_completed")
    assert completed == {(iid, t[iid]): 1 for iid in ids for t in (lead, assist)}
    with runtime.read() as session:  # both branches' data reached the join
        data = session.execute(sa.select(ProcessInstance.id, ProcessInstance.snapshot)).all()
    assert all('"lead_done":true' in snap and '"assist_done":true' in snap for _, snap in data)

    review = {r.instance_id: r.id for r in rows}
    for iid in ids:  # nothing stuck: every case runs to its end
        assert commands.complete_task(runtime, iid, review[iid], {}, actor="reviewer") == "completed"
    assert statuses(runtime) == dict.fromkeys(ids, "completed")
    with runtime.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(HumanTask).where(
            HumanTask.status != "completed")) == 0


class Gate:
    """A blocking service-task handler: signals that it runs, then waits until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, ctx: Any, value: Any = None) -> dict[str, Any]:
        self.entered.set()
        assert self.release.wait(WAIT), "never released"
        return {"v": value}


@pytest.fixture
def gated(db_url: str, clock: FrozenClock) -> Iterator[tuple[Runtime, Gate]]:
    """A runtime whose `test.block` handler waits on a gate inside the command's transaction."""
    gate = Gate()
    rt = make_runtime(db_url, clock, registry=proc_helpers.blocking_registry(gate))
    yield rt, gate
    gate.release.set()
    rt.db.dispose()


class SqlTrace:
    """Watch one thread's SQL: has it sent its locking statement, and has that statement returned?"""

    def __init__(self, rt: Runtime, thread_name: str) -> None:
        self.rt, self.thread_name = rt, thread_name
        self.sent, self.returned = threading.Event(), threading.Event()

    def _is_lock(self, statement: str) -> bool:
        return "FOR UPDATE" in statement if self.rt.db.dialect.name == "postgresql" else \
            statement.startswith("BEGIN IMMEDIATE")

    def before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threading.current_thread().name == self.thread_name and self._is_lock(statement):
            self.sent.set()

    def after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threading.current_thread().name == self.thread_name and self._is_lock(statement):
            self.returned.set()

    @contextmanager
    def installed(self) -> Iterator[SqlTrace]:
        event.listen(self.rt.db, "before_cursor_execute", self.before)
        event.listen(self.rt.db, "after_cursor_execute", self.after)
        try:
            yield self
        finally:
            event.remove(self.rt.db, "before_cursor_execute", self.before)
            event.remove(self.rt.db, "after_cursor_execute", self.after)


def pg_lock_waiters(rt: Runtime) -> int:
    """How many sessions of this database wait for a lock (PostgreSQL)."""
    with rt.db.connect() as conn:
        return int(conn.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'")).scalar_one())


def run_in_thread(name: str, fn: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any], threading.Event]:
    """Start fn in a named thread; its result or exception lands in the dict, the event says it finished."""
    out: dict[str, Any] = {}
    finished = threading.Event()

    def target() -> None:
        try:
            out["result"] = fn()
        except Exception as exc:
            out["error"] = exc
        finally:
            finished.set()

    thread = threading.Thread(target=target, name=name)
    thread.start()
    return thread, out, finished


def test_work_on_another_instance_is_not_blocked(gated: tuple[Runtime, Gate]) -> None:
    rt, gate = gated
    deploy(rt, "blocking_service", "blocking_service.bpmn")
    deploy(rt, "two_step", "two_step.bpmn")
    a = commands.start(rt, "blocking_service", {}, actor="op").instance_id
    b = commands.start(rt, "two_step", {}, actor="op").instance_id
    task_a = proc_helpers.open_task_id(rt, a, "prepare")
    task_b = proc_helpers.open_task_id(rt, b, "approve")

    thread_a, out_a, done_a = run_in_thread("holder", lambda: commands.complete_task(rt, a, task_a, {}, actor="x"))
    assert gate.entered.wait(WAIT)  # A's command holds A's lock, inside its transaction, in the handler
    trace = SqlTrace(rt, "other")
    with trace.installed():
        thread_b, out_b, done_b = run_in_thread(
            "other", lambda: commands.complete_task(rt, b, task_b, {}, actor="y"))
        if backend(rt) == "postgresql":
            assert done_b.wait(WAIT), "a command on instance B waited for instance A's lock"
            assert out_b == {"result": "running"} and not done_a.is_set()
        else:
            # SQLite has one writer at a time (BEGIN IMMEDIATE takes the database write lock), so B queues
            # behind A: it must wait, not fail with "database is locked", and succeed once A commits.
            assert trace.sent.wait(WAIT)
            assert not trace.returned.wait(0.3) and not done_b.is_set()
        gate.release.set()
        thread_a.join(WAIT)
        thread_b.join(WAIT)
    assert out_a == {"result": "running"} and out_b == {"result": "running"}
    assert versions(rt) == {a: 2, b: 2}


@pytest.mark.parametrize("second", ["complete", "assign"])
def test_forced_interleaving_second_writer_waits_then_conflicts(runtime: Runtime, second: str) -> None:
    """R1.4: thread 1 pauses inside its command after locking; thread 2 on the same task waits, then loses."""
    deploy(runtime, "two_step", "two_step.bpmn")
    iid = commands.start(runtime, "two_step", {}, actor="op").instance_id
    task = proc_helpers.open_task_id(runtime, iid, "approve")
    locked, release = threading.Event(), threading.Event()
    load = runtime._workflow

    def load_then_pause(session: Any, row: Any) -> Any:
        workflow = load(session, row)  # the row is locked and the snapshot read
        if threading.current_thread().name == "first":
            locked.set()
            assert release.wait(WAIT)
        return workflow

    runtime._workflow = load_then_pause  # type: ignore[method-assign]
    first, out1, _ = run_in_thread("first", lambda: commands.complete_task(
        runtime, iid, task, {"approved": True}, actor="u1"))
    assert locked.wait(WAIT)
    with runtime.read() as session:
        before = session.execute(sa.select(ProcessInstance.version, ProcessInstance.snapshot).where(
            ProcessInstance.id == iid)).one()
    trace = SqlTrace(runtime, "second")
    with trace.installed():
        action = (lambda: commands.complete_task(runtime, iid, task, {"approved": False}, actor="u2")) \
            if second == "complete" else (lambda: assignment.assign(runtime, iid, task, "u3", actor="boss"))
        second_thread, out2, done2 = run_in_thread("second", action)
        assert trace.sent.wait(WAIT)  # thread 2 asked for the lock ...
        if backend(runtime) == "postgresql":
            assert wait_until(lambda: pg_lock_waiters(runtime) >= 1)  # ... and PostgreSQL has it waiting
        assert not trace.returned.wait(0.3) and not done2.is_set()  # ... and it is still waiting
        release.set()
        first.join(WAIT)
        second_thread.join(WAIT)
    assert out1 == {"result": "running"}
    assert isinstance(out2.get("error"), TaskNotReady), out2

    with runtime.read() as session:
        row = session.execute(sa.select(ProcessInstance.version, ProcessInstance.snapshot).where(
            ProcessInstance.id == iid)).one()
        assert row.version == before.version + 1 == 2  # only thread 1's command counted
        assert '"approved":true' in row.snapshot and '"approved":false' not in row.snapshot
        approve = session.get(HumanTask, task)
        assert approve is not None and (approve.status, approve.completed_by, approve.assignee) == (
            "completed", "u1", None)
        kinds = list(session.scalars(sa.select(HistoryEvent.kind).where(HistoryEvent.instance_id == iid)
                                     .order_by(HistoryEvent.id)))
        assert kinds == ["started", "task_completed"]  # thread 2 left no trace
