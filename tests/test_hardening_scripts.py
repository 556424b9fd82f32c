"""Issue 16, finding 5: a script that would run for seconds inside a command stops at the CPU-time budget
(SCRIPT_CPU_SECONDS) as an incident naming the element, with a Chinese cause; quick scripts are untouched."""

from __future__ import annotations

import time

import pytest

from processes.cases.access import Viewer
from processes.engine.cpu_budget import CpuBudget
from processes.engine.cpu_budget import ScriptTimeExceeded
from processes.monitoring import incidents
from processes.runtime import commands
from processes.runtime import control
from processes.runtime.core import Runtime
from tests.instance_support import instance
from tests.proc_helpers import open_task_id
from tests.test_engine_timers_iso import deploy_doc
from tests.upload_support import definitions_doc

HANDLER = ('<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="candidate_role" '
           'value="handler"/></spiffworkflow:properties></bpmn:extensionElements>')
# Nested loops over a list of 20,000 with a membership test and a sort inside: 28,000 loop rounds (under the
# 100,000-round step budget), yet about 2 s of CPU time without a time budget (measured 1.9 s).
SLOW = ("items = [a * 1000 + b for a in range(size) for b in range(500)]\nhits = 0\n"
        "for a in items[:8000]:\n    if -a in items:\n        hits = hits + 1\n    x = sorted(items, reverse=True)")
DOC = definitions_doc(
    '<bpmn:process id="slowscript" name="慢脚本" isExecutable="true"><bpmn:startEvent id="start"/>'
    f'<bpmn:userTask id="fill" name="填写">{HANDLER}</bpmn:userTask>'
    f'<bpmn:scriptTask id="crunch" name="统计重复件"><bpmn:script>{SLOW}</bpmn:script></bpmn:scriptTask>'
    f'<bpmn:userTask id="after" name="之后">{HANDLER}</bpmn:userTask><bpmn:endEvent id="end"/>'
    '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fill"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="fill" targetRef="crunch"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="crunch" targetRef="after"/>'
    '<bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/></bpmn:process>')


def test_a_slow_script_stops_at_the_cpu_budget_as_an_incident(runtime: Runtime) -> None:
    runtime.script_cpu_seconds = 0.2
    deploy_doc(runtime, "slowscript", DOC)
    iid = commands.start(runtime, "slowscript", {}, actor="op").instance_id
    status = commands.complete_task(runtime, iid, open_task_id(runtime, iid, "fill"), {"size": 40}, actor="h")
    assert status == "error"  # before the budget: "running", after about 2 s of CPU in the command
    row = instance(runtime, iid)
    assert row.error is not None and row.error.startswith("element crunch: scripts used more than 0.2 s of CPU time")
    with runtime.read() as session:
        [found] = incidents.listing(session, Viewer("supervisor", frozenset({"supervisor"}), None))
    assert found.element_id == "crunch"
    assert found.cause.startswith("环节 crunch 的脚本或表达式超出每次操作 0.2 秒的 CPU 时间上限"), found.cause
    control.terminate(runtime, iid, actor="supervisor", reason="脚本过慢")


def test_a_quick_script_is_not_held_up(runtime: Runtime) -> None:
    deploy_doc(runtime, "slowscript", DOC)
    iid = commands.start(runtime, "slowscript", {}, actor="op").instance_id
    status = commands.complete_task(runtime, iid, open_task_id(runtime, iid, "fill"), {"size": 2}, actor="h")
    assert status == "running" and open_task_id(runtime, iid, "after")


def test_the_budget_is_shared_by_the_runs_of_one_command() -> None:
    budget = CpuBudget(0.05)
    with budget.running():
        end = time.thread_time() + 0.06
        while time.thread_time() < end:
            pass
    with pytest.raises(ScriptTimeExceeded), budget.running():
        pass  # the next script of the same command finds it used up
    assert CpuBudget(0).used() == 0.0  # 0 turns it off
    with CpuBudget(0).running():
        CpuBudget(0).check()
