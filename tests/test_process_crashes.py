"""Case state survives process restarts, and a SIGKILL inside a command changes nothing."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from processes.cases.models import CaseText
from processes.cases.models import Requester
from processes.cases.personal import read_requester
from processes.clock import FrozenClock
from processes.runtime import commands
from tests import proc_helpers
from tests.bulk import open_tasks_by_instance
from tests.bulk import start_many
from tests.instance_support import fingerprint
from tests.instance_support import instance
from tests.instance_support import jobs
from tests.instance_support import kinds
from tests.instance_support import tasks
from tests.proc_helpers import open_task_id
from tests.proc_helpers import wait_until
from tests.support import deploy
from tests.support import make_runtime

ROOT = Path(__file__).resolve().parents[1]
CRASHES = 20  # per fault point and backend; the slow variant runs 100
WAIT = 60.0


def run_step(step: str, url: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run one step of a case in a fresh Python process."""
    done = subprocess.run([sys.executable, "-m", "tests.proc_helpers", step, url, json.dumps(args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_case_state_survives_process_restarts(db_url: str, clock: FrozenClock) -> None:
    opened = run_step("open", db_url, {"actor": "op1", "data": {
        "requester_phone": "13812345678", "requester_name": "张三", "content": "夜间施工噪音",
        "lead_department": "区住建局"}})
    iid = opened["instance_id"]
    signed = run_step("complete", db_url, {"instance_id": iid, "bpmn_id": "sign_for", "actor": "h1",
                                           "data": {"signed": True}})
    replied = run_step("complete", db_url, {"instance_id": iid, "bpmn_id": "reply", "actor": "h2",
                                            "data": {"reply_text": "已协调施工方停工"}})
    assert (opened["status"], signed["status"], replied["status"]) == ("running", "running", "completed")
    assert len({opened["pid"], signed["pid"], replied["pid"], os.getpid()}) == 4

    rt = make_runtime(db_url, clock)
    try:
        row = instance(rt, iid)
        assert (row.status, row.version, row.next_due_at, row.error) == ("completed", 3, None, None)
        assert kinds(rt, iid) == ["started", "task_completed", "task_completed", "completed"]
        found = tasks(rt, iid)
        assert {b: (t.status, t.completed_by) for b, t in found.items()} == {
            "sign_for": ("completed", "h1"), "reply": ("completed", "h2")}
        assert [j.status for j in jobs(rt, iid)] == ["cancelled"]  # the 1 h warning never fired
        with rt.read() as session:
            assert read_requester(session.scalars(sa.select(Requester)).one())["phone"] == "13812345678"
            assert session.scalar(sa.select(CaseText.value).where(CaseText.field == "reply_text")) == "已协调施工方停工"
        assert "13812345678" not in row.snapshot and "已协调" not in row.snapshot
    finally:
        rt.db.dispose()


def crash_repetitions(url: str, tmp_path: Path, fault: str, repetitions: int) -> None:
    """Kill a process inside its command `repetitions` times; each time nothing changes and the case goes on."""
    rt = make_runtime(url, registry=proc_helpers.blocking_registry())
    deploy(rt, "blocking_service", "blocking_service.bpmn")
    ids = start_many(rt, "blocking_service", repetitions)
    prepare = open_tasks_by_instance(rt, "prepare")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tests.proc_helpers"])
    try:
        for n, iid in enumerate(ids):
            before, version = fingerprint(rt, iid), instance(rt, iid).version
            ready = tmp_path / f"ready-{fault}-{n}"
            child = context.Process(target=proc_helpers.crash_inside_command, name=f"crash-{n}",
                                    args=(url, iid, prepare[iid], str(ready), fault))
            child.start()
            try:
                assert wait_until(lambda child=child, ready=ready: ready.exists() or not child.is_alive())
                assert ready.exists(), f"the child exited ({child.exitcode}) before reaching {fault}"
            finally:
                child.kill()  # SIGKILL, by the child's pid
                child.join(WAIT)
            assert child.exitcode == -signal.SIGKILL

            assert fingerprint(rt, iid) == before  # version, snapshot, tasks, jobs, history: all unchanged
            restarted = make_runtime(url, registry=proc_helpers.blocking_registry())  # cold caches
            try:
                status = commands.complete_task(restarted, iid, prepare[iid], {"prepared": True}, actor="h")
                assert status == "running"
                confirm = open_task_id(restarted, iid, "confirm")
                assert commands.complete_task(restarted, iid, confirm, {}, actor="h") == "completed"
            finally:
                restarted.db.dispose()
            assert instance(rt, iid).version == version + 2
            events = kinds(rt, iid)  # (cloned instances have no "started" row)
            assert events[-3:] == ["task_completed", "task_completed", "completed"]
            assert events.count("task_completed") == 2 and "error" not in events
    finally:
        rt.db.dispose()


@pytest.mark.parametrize("fault", ["in_handler", "before_commit"])
def test_sigkill_inside_a_command_changes_nothing(db_url: str, tmp_path: Path, fault: str) -> None:
    crash_repetitions(db_url, tmp_path, fault, CRASHES)


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["in_handler", "before_commit"])
def test_sigkill_inside_a_command_changes_nothing_100_times(db_url: str, tmp_path: Path, fault: str) -> None:
    crash_repetitions(db_url, tmp_path, fault, 100)
