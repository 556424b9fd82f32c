"""Real diagrams (tests/bpmn/) parse, and deploy and publish as version 1."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from processes.engine.bundle import parse_bundle
from processes.runtime import definitions
from processes.runtime.core import Runtime
from processes.runtime.models import ProcessDefinition
from tests.support import read_bundle
from tests.upload_support import OPERATORS

BENIGN: dict[str, tuple[str, ...]] = {
    "simple": ("simple.bpmn",),
    "rehandle_loop": ("rehandle_loop.bpmn",),
    "sandbox_probe": ("sandbox_probe.bpmn",),
    "parallel_review": ("parallel_review.bpmn",),
    "event_gateway": ("event_gateway.bpmn",),
    "call_parent": ("call_parent.bpmn", "call_child.bpmn"),
    "multi_instance": ("multi_instance.bpmn",),
    "mi_data_cardinality": ("mi_data_cardinality.bpmn",),
    "form_task": ("form_task.bpmn", "forms/complaint_form.json"),
}


@pytest.mark.parametrize("key", sorted(BENIGN))
def test_benign_diagram_parses(key: str) -> None:
    parsed = parse_bundle(read_bundle(*BENIGN[key]), process_id=None, operators=OPERATORS)
    assert parsed.process_id == key
    if key == "call_parent":
        assert set(parsed.subprocess_specs) == {"call_child"}


def test_benign_diagrams_deploy_and_publish(runtime: Runtime) -> None:
    with runtime.write() as session, session.begin():
        for key, names in sorted(BENIGN.items()):
            result = definitions.deploy(session, key, read_bundle(*names), actor="analyst", now=runtime.clock(),
                                        operators=runtime.handlers, publish=True)
            assert (result.created, result.version, result.status) == (True, 1, "published"), key
    with runtime.read() as session:
        keys = set(session.scalars(sa.select(ProcessDefinition.key)))
    assert keys == set(BENIGN)
