"""Rework loops drawn with sequence flows (审核退回): allowed, flat however often they go round, and budgeted.

Before, every back edge was refused at deploy, because SpiffWorkflow hangs each pass under the last: 100 passes of
the loop below reached task depth 717 and 47 s of engine time, then a RecursionError, and past depth 1,000 a
silent stall. The runtime now prunes the finished history at each command and stops an element past its
per-instance pass budget with an incident.
"""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from processes.cases.access import Viewer
from processes.engine.runtime import task_depth
from processes.engine.validation.check import validate_bundle
from processes.errors import InvalidState
from processes.monitoring import incidents
from processes.runtime import commands
from processes.runtime import control
from processes.runtime.core import Runtime
from processes.runtime.models import HumanTask
from tests.instance_support import history
from tests.instance_support import instance
from tests.instance_support import jobs
from tests.proc_helpers import open_task_id
from tests.support import test_registry
from tests.test_engine_timers_iso import deploy_doc
from tests.upload_support import definitions_doc

OPERATORS = sorted(test_registry())
HANDLER = ('<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="candidate_role" '
           'value="handler"/></spiffworkflow:properties></bpmn:extensionElements>')
REWORK = definitions_doc(  # handle → note → fork(review ∥ side) → join → decide: back to merge, or end
    '<bpmn:process id="rework" name="审核退回" isExecutable="true"><bpmn:startEvent id="start"/>'
    '<bpmn:exclusiveGateway id="merge"/>'
    f'<bpmn:userTask id="handle" name="办理">{HANDLER}</bpmn:userTask>'
    '<bpmn:scriptTask id="note" name="记录"><bpmn:script>rounds = handled</bpmn:script></bpmn:scriptTask>'
    '<bpmn:parallelGateway id="fork"/>'
    f'<bpmn:userTask id="review" name="审核">{HANDLER}</bpmn:userTask>'
    '<bpmn:boundaryEvent id="review_due" name="审核期限" attachedToRef="review">'
    '<bpmn:timerEventDefinition><bpmn:timeDuration>PT4H</bpmn:timeDuration></bpmn:timerEventDefinition>'
    '</bpmn:boundaryEvent><bpmn:endEvent id="late"/>'
    '<bpmn:scriptTask id="side" name="旁路"><bpmn:script>side_note = handled</bpmn:script></bpmn:scriptTask>'
    '<bpmn:parallelGateway id="join"/><bpmn:exclusiveGateway id="decide" default="ok"/><bpmn:endEvent id="end"/>'
    '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="merge"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="merge" targetRef="handle"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="handle" targetRef="note"/>'
    '<bpmn:sequenceFlow id="f3" sourceRef="note" targetRef="fork"/>'
    '<bpmn:sequenceFlow id="p1" sourceRef="fork" targetRef="review"/>'
    '<bpmn:sequenceFlow id="p2" sourceRef="fork" targetRef="side"/>'
    '<bpmn:sequenceFlow id="p3" sourceRef="review" targetRef="join"/>'
    '<bpmn:sequenceFlow id="p4" sourceRef="side" targetRef="join"/>'
    '<bpmn:sequenceFlow id="f4" sourceRef="join" targetRef="decide"/>'
    '<bpmn:sequenceFlow id="f5" sourceRef="review_due" targetRef="late"/>'
    '<bpmn:sequenceFlow id="ok" sourceRef="decide" targetRef="end"/>'
    '<bpmn:sequenceFlow id="back" sourceRef="decide" targetRef="merge">'
    '<bpmn:conditionExpression>verdict == "back"</bpmn:conditionExpression></bpmn:sequenceFlow></bpmn:process>')
SPIN = definitions_doc(  # a loop with no wait state and no way out
    '<bpmn:process id="spin" isExecutable="true"><bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="again"/>'
    '<bpmn:scriptTask id="step" name="空转"><bpmn:script>n = 1</bpmn:script></bpmn:scriptTask>'
    '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="again"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="again" targetRef="step"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="step" targetRef="again"/></bpmn:process>')


def open_tasks(rt: Runtime, iid: str) -> list[str]:
    """BPMN ids of the instance's open human tasks."""
    with rt.read() as session:
        return sorted(session.scalars(sa.select(HumanTask.bpmn_id).where(
            HumanTask.instance_id == iid, HumanTask.status == "open")))


def one_pass(rt: Runtime, iid: str, n: int, verdict: str) -> str:
    """Handle, then review with a verdict; every command restores the workflow from its stored snapshot."""
    for bpmn_id, data in (("handle", {"handled": n}), ("review", {"verdict": verdict})):
        assert open_tasks(rt, iid) == [bpmn_id]
        rt.workflows.drop(iid)  # no in-process cache: deserialize what was stored
        status = commands.complete_task(rt, iid, open_task_id(rt, iid, bpmn_id), data, actor="h")
    return status


def test_validate_accepts_a_rework_loop() -> None:
    report = validate_bundle({"rework.bpmn": REWORK}, operators=OPERATORS)
    assert report.ok, [p.one_line() for p in report.errors]


def test_fifty_rework_passes_stay_flat_and_finish(runtime: Runtime) -> None:
    deploy_doc(runtime, "rework", REWORK)
    iid = commands.start(runtime, "rework", {}, actor="op").instance_id
    depths, sizes = {}, {}
    began = time.perf_counter()
    for n in range(1, 51):
        status = one_pass(runtime, iid, n, "back" if n < 50 else "ok")
        assert status == ("completed" if n == 50 else "running")
        if n in (2, 25, 49):
            depths[n] = task_depth(runtime_workflow(runtime, iid))
            sizes[n] = len(instance(runtime, iid).snapshot)
    elapsed = time.perf_counter() - began
    assert depths[2] == depths[25] == depths[49] < 20, depths  # unpruned: depth 7 per pass, 350 at pass 50
    assert sizes[49] <= sizes[2] * 1.1, sizes  # ~9 KB whatever the pass; unpruned it grows ~3.3 KB a pass
    assert elapsed < 30, elapsed  # a hang guard: about 1 s for 100 commands on SQLite
    row = instance(runtime, iid)
    assert (row.status, row.error) == ("completed", None)
    timers = [j for j in jobs(runtime, iid) if j.kind == "timer"]
    assert len(timers) == 50 and {j.status for j in timers} == {"cancelled"}  # one review deadline per pass
    assert [e.kind for e in history(runtime, iid)].count("task_completed") == 100


def runtime_workflow(rt: Runtime, iid: str) -> object:
    """The stored workflow (restored from its snapshot)."""
    from tests.instance_support import stored_workflow

    return stored_workflow(rt, iid)


def test_a_loop_past_its_pass_budget_becomes_an_incident(runtime: Runtime) -> None:
    runtime.max_element_passes = 5
    deploy_doc(runtime, "rework", REWORK)
    iid = commands.start(runtime, "rework", {}, actor="op").instance_id
    for n in range(1, 5):
        assert one_pass(runtime, iid, n, "back") == "running"
    commands.complete_task(runtime, iid, open_task_id(runtime, iid, "handle"), {"handled": 5}, actor="h")
    status = commands.complete_task(runtime, iid, open_task_id(runtime, iid, "review"), {"verdict": "back"},
                                    actor="h")
    assert status == "error"  # `decide` ran 5 times; the sixth run of `merge` is refused
    row = instance(runtime, iid)
    assert row.error is not None and row.error.startswith(
        "element merge would run 6 times, over the pass budget of 5 per instance")
    with runtime.read() as session:
        [found] = incidents.listing(session, Viewer("supervisor", frozenset({"supervisor"}), None))
    assert found.element_id == "merge"
    assert found.cause.startswith("环节 merge 将第 6 次执行，超过每个流程实例 5 次的上限")
    control.retry_instance(runtime, iid, actor="supervisor")
    assert instance(runtime, iid).status == "error"  # a retry meets the same budget: it stays an incident
    control.terminate(runtime, iid, actor="supervisor", reason="循环无法结束")
    assert instance(runtime, iid).status == "terminated"


def test_a_loop_without_a_wait_state_stops_at_the_budget_not_in_a_stall(runtime: Runtime) -> None:
    deploy_doc(runtime, "spin", SPIN)
    began = time.perf_counter()
    with pytest.raises(InvalidState, match=r"element (again|step) would run 201 times"):
        commands.start(runtime, "spin", {}, actor="op")
    assert time.perf_counter() - began < 10
