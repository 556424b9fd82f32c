"""A failing handler keeps the completed user work, retries on its backoff, then raises an incident."""

from __future__ import annotations

from datetime import timedelta

import pytest

from processes.clock import FrozenClock
from processes.errors import InvalidState
from processes.runtime import commands
from processes.runtime import control
from tests.instance_support import history
from tests.instance_support import instance
from tests.instance_support import jobs
from tests.instance_support import kinds
from tests.instance_support import tasks
from tests.proc_helpers import open_task_id
from tests.support import FlakyHandler
from tests.support import deploy
from tests.support import make_runtime
from tests.support import test_registry


def test_failing_handler_keeps_completed_work_retries_then_raises_an_incident(db_url: str,
                                                                                 clock: FrozenClock) -> None:
    flaky = FlakyHandler()
    rt = make_runtime(db_url, clock, registry=test_registry(flaky), retry_backoff=[60, 300, 900])
    try:
        deploy(rt, "service_after_task", "service_after_task.bpmn")
        iid = commands.start(rt, "service_after_task", {"outcome": "resolved"}, actor="op").instance_id
        finish = open_task_id(rt, iid, "finish")
        t0 = clock()
        assert commands.complete_task(rt, iid, finish, {"closed": True}, actor="h1") == "error"

        def assert_user_work_kept() -> None:
            found = tasks(rt, iid)
            assert list(found) == ["finish"]
            assert (found["finish"].status, found["finish"].completed_by) == ("completed", "h1")
            completed = [e for e in history(rt, iid) if e.kind == "task_completed"]
            assert [(e.task_id, e.actor, e.fields) for e in completed] == [(finish, "h1", ["closed"])]

        assert_user_work_kept()
        row = instance(rt, iid)
        assert row.status == "error" and row.error is not None and "upstream platform unreachable" in row.error
        [job] = jobs(rt, iid)
        assert (job.kind, job.status, job.attempts, job.due_at) == ("retry", "pending", 1, t0 + timedelta(seconds=60))
        assert "upstream platform unreachable" in (job.last_error or "")
        assert row.next_due_at == job.due_at
        assert flaky.calls == 1

        clock.advance(seconds=59)
        assert control.fire_due_timers(rt) == 0  # not due yet
        for attempts, backoff in ((2, 300), (3, 900)):
            clock.advance(seconds=3600)
            assert control.fire_due_timers(rt) == 1
            [job] = jobs(rt, iid)
            assert (job.status, job.attempts, job.due_at) == ("pending", attempts, clock() + timedelta(seconds=backoff))
            assert instance(rt, iid).status == "error" and flaky.calls == attempts
        clock.advance(seconds=900)
        assert control.fire_due_timers(rt) == 1
        [job] = jobs(rt, iid)
        assert (job.status, job.attempts) == ("failed", 4)  # backoff list exhausted: an incident
        row = instance(rt, iid)
        assert row.status == "error" and row.next_due_at is None
        clock.advance(days=3)
        assert control.fire_due_timers(rt) == 0 and flaky.calls == 4  # incidents wait for a person
        assert_user_work_kept()
        assert kinds(rt, iid).count("error") == 4

        flaky.broken = False
        assert control.retry_instance(rt, iid, actor="admin") == "completed"
        [job] = jobs(rt, iid)
        assert job.status == "done"
        row = instance(rt, iid)
        assert (row.status, row.error, row.next_due_at) == ("completed", None, None)
        assert '"write_back_result":{"ok":true,"value":"resolved"}' in row.snapshot
        assert kinds(rt, iid)[-2:] == ["retried", "completed"]
        assert_user_work_kept()
        with pytest.raises(InvalidState):
            control.retry_instance(rt, iid, actor="admin")
    finally:
        rt.db.dispose()
