"""Going round the re-handle loop many times keeps the task depth flat and the snapshot small."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from processes.engine.runtime import task_depth
from processes.runtime import commands
from processes.runtime.core import Runtime
from processes.runtime.models import HumanTask
from tests.instance_support import instance
from tests.instance_support import kinds
from tests.instance_support import stored_workflow
from tests.proc_helpers import open_task_id
from tests.support import deploy


def loop_rounds(rt: Runtime, rounds: int) -> None:
    """Go round the re-handle loop `rounds` times; the depth stays flat and the snapshot grows slowly."""
    deploy(rt, "rehandle_loop", "rehandle_loop.bpmn")
    iid = commands.start(rt, "rehandle_loop", {}, actor="op").instance_id
    depths: dict[int, int] = {}
    sizes: dict[int, int] = {}
    checkpoints = {1, 2, rounds // 2, rounds}
    for n in range(1, rounds + 1):
        commands.complete_task(rt, iid, open_task_id(rt, iid, "reply"), {"handled": n}, actor="h")
        status = commands.complete_task(rt, iid, open_task_id(rt, iid, "callback"), {"rehandle": n < rounds},
                                        actor="c")
        assert status == ("completed" if n == rounds else "running")
        if n in checkpoints:
            depths[n] = task_depth(stored_workflow(rt, iid))
            sizes[n] = len(instance(rt, iid).snapshot.encode("utf-8"))
    assert max(depths.values()) == depths[1] < 20, depths  # flat, far from the engine's depth-1000 stall
    per_round = (sizes[rounds] - sizes[2]) / (rounds - 2)
    assert per_round < 1024, sizes  # 1,000 rounds stay well under a few MB
    row = instance(rt, iid)
    assert (row.status, row.version, row.error) == ("completed", 1 + 2 * rounds, None)
    with rt.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(HumanTask).where(
            HumanTask.instance_id == iid, HumanTask.status != "completed")) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(HumanTask).where(
            HumanTask.instance_id == iid)) == 2 * rounds
    assert kinds(rt, iid).count("task_completed") == 2 * rounds


def test_rehandle_loop_100_rounds(runtime: Runtime) -> None:
    loop_rounds(runtime, 100)


@pytest.mark.slow
def test_rehandle_loop_1000_rounds(runtime: Runtime) -> None:
    runtime.max_element_passes = 1000  # each round runs `reply` once: the default budget (200) would stop it
    loop_rounds(runtime, 1000)
