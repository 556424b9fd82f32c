"""Deploy-time checks of exclusive-gateway conditions (排他网关条件): parsed, sandbox-checked, never crash the lint."""

from __future__ import annotations

import pytest

from processes.engine import parse_bundle
from processes.errors import DefinitionInvalid

GATEWAY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="choice" name="条件分支" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="gw" default="f3">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:endEvent id="yes"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="no"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw"/>
    <bpmn:sequenceFlow id="f2" sourceRef="gw" targetRef="yes">
      <bpmn:conditionExpression>CONDITION</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="no"/>
  </bpmn:process>
</bpmn:definitions>
"""


def bundle(condition: str) -> dict[str, str]:
    """A one-gateway bundle with this condition on its non-default flow."""
    return {"choice.bpmn": GATEWAY.replace("CONDITION", condition)}


def test_a_plain_condition_deploys() -> None:
    assert parse_bundle(bundle("triage_result == 'dispatch'"), process_id=None, operators=[]).process_id == "choice"


@pytest.mark.parametrize("condition", ["().__class__.__base__", "__import__('os').getcwd() == ''"])
def test_a_condition_the_sandbox_forbids_is_refused_at_deploy(condition: str) -> None:
    with pytest.raises(DefinitionInvalid, match="rejected"):
        parse_bundle(bundle(condition), process_id=None, operators=[])
