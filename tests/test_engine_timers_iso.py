"""ISO 8601 timer values work as written (P7D, 2026-12-24T09:00:00+08:00, R6/P1D); expressions still work.

Before, every value was evaluated as Python: `R6/P1D` failed at the first step with `NameError: name 'R6' is not
defined` although validate said ok, and a literal date did not even parse.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from processes.engine.bundle import parse_bundle
from processes.engine.validation.check import validate_bundle
from processes.errors import DefinitionInvalid
from processes.errors import InvalidState
from processes.runtime import commands
from processes.runtime import control
from processes.runtime.core import Runtime
from tests.instance_support import instance
from tests.instance_support import jobs
from tests.instance_support import kinds
from tests.proc_helpers import open_task_id
from tests.support import test_registry
from tests.upload_support import definitions_doc

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # FrozenClock's start
OPERATORS = sorted(test_registry())


def timer_doc(tag: str, value: str) -> str:
    """A user task `wait` guarded by a non-interrupting boundary timer `t` whose value is written as given."""
    return definitions_doc(
        '<bpmn:process id="p" name="定时" isExecutable="true"><bpmn:startEvent id="start"/>'
        '<bpmn:userTask id="wait" name="等待"/><bpmn:endEvent id="end"/>'
        '<bpmn:boundaryEvent id="t" name="提醒" attachedToRef="wait" cancelActivity="false">'
        f'<bpmn:timerEventDefinition><bpmn:{tag}>{value}</bpmn:{tag}></bpmn:timerEventDefinition>'
        '</bpmn:boundaryEvent><bpmn:endEvent id="reminded"/>'
        '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="wait"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="wait" targetRef="end"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="reminded"/></bpmn:process>')


def deploy_doc(rt: Runtime, key: str, text: str) -> None:
    """Deploy and publish a one-file bundle."""
    from processes.runtime import definitions

    with rt.write() as session, session.begin():
        definitions.deploy(session, key, {f"{key}.bpmn": text}, actor="analyst", now=rt.clock(),
                           operators=rt.handlers, publish=True)


def timer_due(rt: Runtime, iid: str) -> datetime:
    """The due time of the instance's one pending timer job."""
    [job] = [j for j in jobs(rt, iid) if j.kind == "timer" and j.status == "pending"]
    due = job.due_at
    return due if due.tzinfo else due.replace(tzinfo=UTC)


LITERALS = [
    ("timeDuration", "P7D", NOW + timedelta(days=7)),
    ("timeDuration", "PT4H", NOW + timedelta(hours=4)),
    ("timeDuration", "P1DT2H", NOW + timedelta(days=1, hours=2)),
    ("timeDuration", " pt30m ", NOW + timedelta(minutes=30)),
    ("timeDate", "2026-12-24T09:00:00+08:00", datetime(2026, 12, 24, 1, 0, tzinfo=UTC)),
    ("timeDate", "2026-12-24T09:00:00", datetime(2026, 12, 24, 1, 0, tzinfo=UTC)),  # no offset: Asia/Shanghai
    ("timeDate", "2026-12-24T09:00:00Z", datetime(2026, 12, 24, 9, 0, tzinfo=UTC)),
    ("timeCycle", "R6/P1D", NOW + timedelta(days=1)),
    ("timeCycle", "R/PT1H", NOW + timedelta(hours=1)),
    ("timeCycle", "R3/2026-12-24T09:00:00+08:00/P1D", datetime(2026, 12, 24, 1, 0, tzinfo=UTC)),
    # expressions keep working: the project's own diagrams compute deadlines from task data
    ("timeDuration", '"P%dD" % days', NOW + timedelta(days=3)),
    ("timeDuration", '"PT5S"', NOW + timedelta(seconds=5)),
    ("timeDate", "due", datetime(2026, 12, 1, 1, 0, tzinfo=UTC)),
    ("timeCycle", "cycle", NOW + timedelta(hours=2)),
]


@pytest.mark.parametrize(("tag", "value", "due"), LITERALS, ids=[f"{t}:{v.strip()}" for t, v, _ in LITERALS])
def test_timer_value_runs_as_written(runtime: Runtime, tag: str, value: str, due: datetime) -> None:
    text = timer_doc(tag, value)
    assert validate_bundle({"p.bpmn": text}, operators=OPERATORS).ok
    deploy_doc(runtime, "p", text)
    data = {"days": 3, "due": "2026-12-01T09:00:00+08:00", "cycle": "R2/PT2H"}
    started = commands.start(runtime, "p", data, actor="op")
    assert started.status == "running"
    assert timer_due(runtime, started.instance_id) == due


def test_a_literal_cycle_fires_on_time_and_counts_down(runtime: Runtime) -> None:
    deploy_doc(runtime, "p", timer_doc("timeCycle", "R2/PT1H"))
    iid = commands.start(runtime, "p", {}, actor="op").instance_id
    runtime.clock.advance(minutes=59)  # type: ignore[attr-defined]
    control.fire_timers(runtime, iid)
    assert kinds(runtime, iid).count("timer_fired") == 0
    for hour in (1, 2):
        runtime.clock.advance(hours=1)  # type: ignore[attr-defined]
        control.fire_timers(runtime, iid)
        assert kinds(runtime, iid).count("timer_fired") == hour
    assert not [j for j in jobs(runtime, iid) if j.kind == "timer" and j.status == "pending"]  # R2: two and done
    commands.complete_task(runtime, iid, open_task_id(runtime, iid, "wait"), {}, actor="op")
    assert instance(runtime, iid).status == "completed"


BAD = [  # (tag, value, problem code, words of the Chinese message)
    ("timeDuration", "P7X", "timer.iso", "P7X"),
    ("timeDuration", "P", "timer.iso", "“P”"),
    ("timeDuration", "P1.5DT2H", "timer.iso", "P1.5DT2H"),  # a fraction only on the last part
    ("timeDate", "2026-12-24", "timer.iso", "日期时间"),
    ("timeDate", "2026-13-24T09:00:00+08:00", "timer.iso", "2026-13-24"),
    ("timeCycle", "R6", "timer.iso", "周期"),
    ("timeCycle", "R0/P1D", "timer.iso", "R0/P1D"),
    ("timeCycle", "R/PT0S", "timer.iso", "R/PT0S"),  # a zero interval would fire without end
    ("timeCycle", "R3/P1D/P2D", "timer.iso", "R3/P1D/P2D"),
    ("timeDuration", "__import__('os').getcwd()", "timer.expression", "__import__"),
    ("timeDuration", "days +", "timer.expression", "days +"),
    ("timeDuration", '"P%dX" % 3', "timer.result", "P3X"),
    ("timeDate", '"next week"', "timer.result", "next week"),
]


@pytest.mark.parametrize(("tag", "value", "code", "words"), BAD, ids=[f"{t}:{v}" for t, v, _, _ in BAD])
def test_validate_refuses_a_bad_timer_value_naming_the_element(tag: str, value: str, code: str, words: str) -> None:
    text = timer_doc(tag, value)
    report = validate_bundle({"p.bpmn": text}, operators=OPERATORS)
    assert not report.ok
    [problem] = [p for p in report.errors if p.code.startswith("timer.")]
    assert (problem.code, problem.element_id, problem.element_name, problem.file) == (code, "t", "提醒", "p.bpmn")
    assert problem.line and words in problem.text() and "定时器" in problem.text()
    assert "ISO 8601" in problem.text() + problem.hint_text()
    with pytest.raises(DefinitionInvalid, match="定时器") as refused:  # deploy without validate refuses too
        parse_bundle({"p.bpmn": text}, process_id=None, operators=OPERATORS)
    assert refused.value.element == "t"


def test_an_expression_giving_no_iso_value_fails_clearly_at_run_time(runtime: Runtime) -> None:
    deploy_doc(runtime, "p", timer_doc("timeDuration", "wait_for"))
    with pytest.raises(InvalidState, match="定时器表达式 “wait_for” 的结果 “7 days” 不是 ISO 8601 期限"):
        commands.start(runtime, "p", {"wait_for": "7 days"}, actor="op")
    ok = commands.start(runtime, "p", {"wait_for": "P7D"}, actor="op")
    assert timer_due(runtime, ok.instance_id) == NOW + timedelta(days=7)
