"""Service tasks run in a savepoint only where one is needed, and a failing handler still leaves nothing behind."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from processes.clock import FrozenClock
from processes.errors import InvalidState
from processes.reference.models import Setting
from processes.runtime import commands
from processes.runtime.core import Runtime
from processes.runtime.handler_api import HandlerContext
from processes.runtime.handler_api import HandlerError
from processes.runtime.handler_api import HandlerSpec
from processes.runtime.models import ProcessInstance
from tests.instance_support import history
from tests.instance_support import instance
from tests.instance_support import jobs
from tests.instance_support import tasks
from tests.proc_helpers import open_task_id
from tests.support import deploy
from tests.support import make_runtime
from tests.support import test_registry


class Probe:
    """A test handler: writes a setting row, records an event, then fails or succeeds; counts its calls."""

    def __init__(self, *, fail: bool, write: bool = True, bad_sql: bool = False) -> None:
        self.fail, self.write, self.bad_sql, self.calls = fail, write, bad_sql, 0

    def __call__(self, ctx: HandlerContext, value: Any = None) -> dict[str, Any]:
        self.calls += 1
        if self.write:
            ctx.session.add(Setting(name=f"probe_{self.calls}", value="orm"))
            ctx.session.flush()
            ctx.session.execute(sa.insert(Setting).values(name=f"probe_core_{self.calls}", value="core"))
        ctx.record("probe_ran")
        if self.bad_sql:
            ctx.session.execute(sa.text("SELECT no_such_column FROM setting"))
        if self.fail:
            raise HandlerError("probe failed after writing")
        return {"ok": True}


def runtime_with(db_url: str, clock: FrozenClock, probe: Probe, *, writes: bool = True) -> Runtime:
    """A runtime whose test.flaky operator is the probe."""
    registry = test_registry()
    registry["test.flaky"] = HandlerSpec("test.flaky", probe, "探针", writes=writes)
    return make_runtime(db_url, clock, registry=registry, retry_backoff=[60])


def probe_rows(rt: Runtime) -> list[str]:
    with rt.read() as session:
        return sorted(session.scalars(sa.select(Setting.name).where(Setting.name.like("probe%"))))


@contextmanager
def savepoints(rt: Runtime) -> Iterator[list[str]]:
    """Collect the SAVEPOINT names the runtime's engine sends while the block runs."""
    names: list[str] = []

    def on_savepoint(conn: object, name: str) -> None:
        names.append(name)

    event.listen(rt.db, "savepoint", on_savepoint)
    try:
        yield names
    finally:
        event.remove(rt.db, "savepoint", on_savepoint)


def test_a_writing_handler_failing_at_a_start_leaves_no_instance_and_none_of_its_writes(
        db_url: str, clock: FrozenClock) -> None:
    probe = Probe(fail=True)
    rt = runtime_with(db_url, clock, probe)
    try:
        deploy(rt, "service_at_start", "service_at_start.bpmn")
        with savepoints(rt) as sent, pytest.raises(InvalidState, match="probe failed after writing"):
            commands.open_case(rt, "service_at_start", {"outcome": "x"}, actor="op", channel="phone")
        assert probe.calls == 1 and sent == []  # no savepoint: the whole registration rolled back instead
        assert probe_rows(rt) == []
        with rt.read() as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(ProcessInstance)) == 0
        probe.fail = False
        with savepoints(rt) as sent:
            started = commands.open_case(rt, "service_at_start", {"outcome": "x"}, actor="op", channel="phone")
        assert sent == [] and probe_rows(rt) == ["probe_2", "probe_core_2"]
        assert "probe_ran" in [e.kind for e in history(rt, started.instance_id)]
    finally:
        rt.db.dispose()


def test_a_writing_handler_failing_in_a_command_rolls_back_only_its_own_writes(
        db_url: str, clock: FrozenClock) -> None:
    probe = Probe(fail=True)
    rt = runtime_with(db_url, clock, probe)
    try:
        deploy(rt, "service_after_task", "service_after_task.bpmn")
        iid = commands.start(rt, "service_after_task", {"outcome": "resolved"}, actor="op").instance_id
        finish = open_task_id(rt, iid, "finish")
        with savepoints(rt) as sent:
            assert commands.complete_task(rt, iid, finish, {"closed": True}, actor="h1") == "error"
        assert len(sent) == 1 and probe.calls == 1
        assert probe_rows(rt) == []  # neither the ORM nor the Core row of the failed handler
        assert (tasks(rt, iid)["finish"].status, instance(rt, iid).status) == ("completed", "error")
        assert [j.kind for j in jobs(rt, iid)] == ["retry"]
        assert "probe_ran" not in [e.kind for e in history(rt, iid)]
    finally:
        rt.db.dispose()


def test_a_read_only_handler_runs_without_a_savepoint(db_url: str, clock: FrozenClock) -> None:
    probe = Probe(fail=False, write=False)
    rt = runtime_with(db_url, clock, probe, writes=False)
    try:
        deploy(rt, "service_after_task", "service_after_task.bpmn")
        iid = commands.start(rt, "service_after_task", {"outcome": "resolved"}, actor="op").instance_id
        with savepoints(rt) as sent:
            assert commands.complete_task(rt, iid, open_task_id(rt, iid, "finish"), {}, actor="h1") == "completed"
        assert sent == [] and probe.calls == 1
        assert "probe_ran" in [e.kind for e in history(rt, iid)]
    finally:
        rt.db.dispose()


@pytest.mark.parametrize("fail", [lambda p: setattr(p, "bad_sql", True), lambda p: setattr(p, "fail", True)],
                         ids=["database_error", "handler_error"])
def test_a_read_only_handler_failing_puts_the_instance_in_error_with_a_retry(
        db_url: str, clock: FrozenClock, fail: Callable[[Probe], None]) -> None:
    probe = Probe(fail=False, write=False)
    fail(probe)
    rt = runtime_with(db_url, clock, probe, writes=False)
    try:
        deploy(rt, "service_after_task", "service_after_task.bpmn")
        iid = commands.start(rt, "service_after_task", {"outcome": "resolved"}, actor="op").instance_id
        finish = open_task_id(rt, iid, "finish")
        assert commands.complete_task(rt, iid, finish, {"closed": True}, actor="h1") == "error"
        row = instance(rt, iid)
        assert row.status == "error" and row.error is not None
        assert (tasks(rt, iid)["finish"].status, [j.kind for j in jobs(rt, iid)]) == ("completed", ["retry"])
        # a database error aborts a PostgreSQL transaction: the command ran again with the handler guarded
        again = probe.bad_sql and rt.db.dialect.name == "postgresql"
        assert probe.calls == (2 if again else 1)
        assert "probe_ran" not in [e.kind for e in history(rt, iid)]
    finally:
        rt.db.dispose()
