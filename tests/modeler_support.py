"""Versions of the test diagram `simple` for the modeler tests: one with a task added, one with a task renamed."""

from __future__ import annotations

from processes.runtime import definitions
from processes.runtime.core import Runtime
from tests.support import read_bundle

SIMPLE = read_bundle("simple.bpmn")["simple.bpmn"]


def with_check() -> str:
    """`simple` with a 核对 task between 通知 and 答复, and 答复 renamed."""
    return (SIMPLE.replace('name="答复"', 'name="答复（新版）"')
            .replace('<bpmn:sequenceFlow id="f3" sourceRef="notify" targetRef="reply"/>',
                     '<bpmn:sequenceFlow id="f3" sourceRef="notify" targetRef="check"/>'
                     '<bpmn:sequenceFlow id="f3b" sourceRef="check" targetRef="reply"/>')
            .replace('<bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>',
                     '<bpmn:incoming>f3b</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>')
            .replace('<bpmn:userTask id="reply"',
                     '<bpmn:userTask id="check" name="核对"><bpmn:extensionElements><spiffworkflow:properties>'
                     '<spiffworkflow:property name="candidate_role" value="dispatcher"/>'
                     '</spiffworkflow:properties></bpmn:extensionElements>'
                     '<bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f3b</bpmn:outgoing></bpmn:userTask>\n'
                     '    <bpmn:userTask id="reply"'))


def sign_for_renamed() -> str:
    """`simple` whose 签收 task has a new BPMN id: open 签收 tasks cannot map to it."""
    return SIMPLE.replace('"sign_for"', '"sign_for_new"').replace(">sign_for<", ">sign_for_new<")


def deploy_text(rt: Runtime, text: str, *, publish: bool, actor: str = "an1") -> definitions.DeployResult:
    """Deploy one text of simple.bpmn as a new version of `simple`."""
    with rt.write() as session, session.begin():
        return definitions.deploy(session, "simple", {"simple.bpmn": text}, actor=actor, now=rt.clock(),
                                  operators=rt.handlers, publish=publish)


def scripted(text: str) -> str:
    """A version whose 通知 step is a script instead of the test-only service handler (for the web app's registry)."""
    start = text.index('<bpmn:serviceTask id="notify"')
    end = text.index("</bpmn:serviceTask>") + len("</bpmn:serviceTask>")
    return (text[:start] + '<bpmn:scriptTask id="notify" name="通知"><bpmn:incoming>f2</bpmn:incoming>'
            '<bpmn:outgoing>f3</bpmn:outgoing><bpmn:script>notified = True</bpmn:script></bpmn:scriptTask>'
            + text[end:])
