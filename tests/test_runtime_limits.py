"""Safe code can still exhaust the server (security.md §2.1): loops with no wait state, huge multi-instance
cardinality from data, script errors. A command must end with a clear outcome, never hang or crash.

At the first step (`commands.start`) a failure raises InvalidState and nothing is stored; in a later command the
instance is saved in status `error` with the reason (and a retry is scheduled).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException

from processes.clock import FrozenClock
from processes.engine import runtime as wfops
from processes.engine.bundle import parse_bundle
from processes.engine.runtime import new_workflow
from processes.engine.script_engine import MAX_CARDINALITY
from processes.engine.script_engine import HotlineScriptEngine
from processes.engine.script_environment import RestrictedEnvironment
from processes.errors import InvalidState
from processes.runtime import commands
from processes.runtime.core import Runtime
from processes.runtime.models import HistoryEvent
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessInstance
from tests.support import deploy
from tests.support import make_runtime
from tests.support import read_bundle

BOUND = 30.0  # seconds: a hang guard, not a benchmark (1,000 loop rounds cost SpiffWorkflow about 5 s)



def count(rt: Runtime, model: Any) -> int:
    """Rows of a table."""
    with rt.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def open_task(rt: Runtime, instance_id: str) -> str:
    """The id of the one open human task of an instance."""
    with rt.read() as session:
        [task_id] = session.scalars(sa.select(HumanTask.id).where(
            HumanTask.instance_id == instance_id, HumanTask.status == "open"))
    return str(task_id)


def instance(rt: Runtime, instance_id: str) -> ProcessInstance:
    """The stored instance row."""
    with rt.read() as session:
        row = session.get(ProcessInstance, instance_id)
        assert row is not None
        session.expunge(row)
        return row


@pytest.fixture
def small_cap(db_url: str, clock: FrozenClock) -> Iterator[Runtime]:
    """A runtime with 100 engine steps per command, so runaway loops fail fast in the later-command tests."""
    rt = make_runtime(db_url, clock, max_engine_steps=100)
    yield rt
    rt.db.dispose()


# --- first step: commands.start ----------------------------------------------------------------------------

def test_loop_without_wait_state_fails_start_with_invalid_state(runtime: Runtime) -> None:
    deploy(runtime, "loop_no_wait", "loop_no_wait.bpmn")
    started = time.perf_counter()
    with pytest.raises(InvalidState, match="first step: more than 1000 engine steps"):
        commands.start(runtime, "loop_no_wait", {}, actor="op1")
    assert time.perf_counter() - started < BOUND
    assert count(runtime, ProcessInstance) == 0 and count(runtime, HumanTask) == 0


def test_data_driven_cardinality_over_the_cap_fails_start(runtime: Runtime) -> None:
    deploy(runtime, "mi", "mi_data_cardinality.bpmn")
    started = time.perf_counter()
    with pytest.raises(InvalidState, match="multi-instance cardinality 1000000 from 'count' is over the limit of 500"):
        commands.start(runtime, "mi", {"count": 10**6}, actor="op1")
    assert time.perf_counter() - started < BOUND
    assert count(runtime, ProcessInstance) == 0

    small = commands.start(runtime, "mi", {"count": 3}, actor="op1")
    assert small.status == "running"
    assert instance(runtime, small.instance_id).status == "running"
    open_task(runtime, small.instance_id)  # `confirm`, after three notifications


def test_script_error_at_start_is_invalid_state_not_a_crash(runtime: Runtime) -> None:
    """SpiffWorkflow 3.2.0 turned KeyError(1) into a TypeError in its error formatter."""
    deploy(runtime, "probe", "sandbox_probe.bpmn")
    with pytest.raises(InvalidState, match="NameError"):
        commands.start(runtime, "probe", {}, actor="op1")  # raw_tags missing
    assert count(runtime, ProcessInstance) == 0


# --- later commands: the instance is saved in error ------------------------------------------------------------

@pytest.mark.parametrize(("mode", "extra", "reason"), [
    ("spin", {}, "more than 100 engine steps"),
    ("fanout", {"count": 10**6}, "multi-instance cardinality 1000000 from 'count' is over the limit of 500"),
    ("lookup", {}, "KeyError: 1"),
])
def test_runaway_in_a_later_command_leaves_the_instance_in_error(small_cap: Runtime, mode: str,
                                                                  extra: dict[str, Any], reason: str) -> None:
    rt = small_cap
    deploy(rt, "later", "limits_after_task.bpmn")
    started = commands.start(rt, "later", {}, actor="op1")
    task_id = open_task(rt, started.instance_id)
    began = time.perf_counter()
    status = commands.complete_task(rt, started.instance_id, task_id, {"mode": mode, **extra}, actor="op1")
    assert time.perf_counter() - began < BOUND
    assert status == "error"
    row = instance(rt, started.instance_id)
    assert row.status == "error" and row.error is not None and reason in row.error
    with rt.read() as session:
        kinds = [e.kind for e in session.scalars(sa.select(HistoryEvent).where(
            HistoryEvent.instance_id == started.instance_id).order_by(HistoryEvent.id))]
    assert kinds[-2:] == ["task_completed", "error"]


def test_within_the_cap_a_later_command_completes(small_cap: Runtime) -> None:
    deploy(small_cap, "later", "limits_after_task.bpmn")
    started = commands.start(small_cap, "later", {}, actor="op1")
    status = commands.complete_task(small_cap, started.instance_id, open_task(small_cap, started.instance_id),
                                    {"mode": "fanout", "count": 5}, actor="op1")
    assert status == "running"
    assert instance(small_cap, started.instance_id).error is None


# --- the cardinality cap in the engine (no database) ---------------------------------------------------------------

def run_mi(count_value: int) -> Any:
    """Start mi_data_cardinality with this count."""
    parsed = parse_bundle(read_bundle("mi_data_cardinality.bpmn"), process_id=None, operators=set())
    engine = HotlineScriptEngine(RestrictedEnvironment(), None)
    return new_workflow(parsed.spec, parsed.subprocess_specs, {"count": count_value}, engine)


def test_cardinality_cap_boundary() -> None:
    wf = run_mi(MAX_CARDINALITY)
    assert [t.bpmn_id for t in wfops.open_tasks(wf)] == ["confirm"]
    with pytest.raises(WorkflowTaskException) as info:
        run_mi(MAX_CARDINALITY + 1)
    assert info.value.error_type == "ScriptRejected"
    assert "cardinality 501" in str(info.value)


def test_cardinality_cap_applies_only_to_cardinality() -> None:
    """Other expressions may return big numbers: only the multi-instance count is capped."""
    wf = run_mi(3)
    [confirm] = [t for t in wfops.all_tasks(wf) if t.task_spec.bpmn_id == "confirm"]
    confirm.data["count"] = 10**6
    assert wf.script_engine.evaluate(confirm, "count") == 10**6
    assert wf.script_engine.evaluate(confirm, "count * 2 > 1000") is True
