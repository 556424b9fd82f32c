"""Running cases stay on the diagram version they started on; deploying known content again is a no-op."""

from __future__ import annotations

import sqlalchemy as sa

from processes.runtime import commands
from processes.runtime import definitions
from processes.runtime.core import Runtime
from processes.runtime.models import ProcessDefinition
from tests.instance_support import instance
from tests.instance_support import tasks
from tests.proc_helpers import open_task_id
from tests.support import deploy
from tests.support import read_bundle


def test_running_cases_stay_on_their_version_and_identical_deploys_are_no_ops(runtime: Runtime) -> None:
    v1 = deploy(runtime, "simple", "simple.bpmn")
    old = commands.start(runtime, "simple", {"lead_department": "区住建局"}, actor="op").instance_id
    changed = {"simple.bpmn": read_bundle("simple.bpmn")["simple.bpmn"].replace('name="答复"', 'name="答复（新版）"')}

    def deploy_changed() -> definitions.DeployResult:
        with runtime.write() as session, session.begin():
            return definitions.deploy(session, "simple", changed, actor="analyst", now=runtime.clock(),
                                      operators=runtime.handlers, publish=True)

    v2 = deploy_changed()
    assert (v1.version, v1.created, v2.version, v2.created) == (1, True, 2, True)
    again = deploy_changed()
    assert (again.version, again.definition_id, again.created) == (2, v2.definition_id, False)
    assert deploy(runtime, "simple", "simple.bpmn").created is False  # v1's content is known too
    with runtime.read() as session:
        assert dict(session.execute(sa.select(ProcessDefinition.version, ProcessDefinition.status)).all()) == {
            1: "retired", 2: "published"}

    new = commands.start(runtime, "simple", {"lead_department": "区住建局"}, actor="op").instance_id
    assert (instance(runtime, old).definition_id, instance(runtime, new).definition_id) == (
        v1.definition_id, v2.definition_id)
    for iid in (old, new):
        commands.complete_task(runtime, iid, open_task_id(runtime, iid, "sign_for"), {}, actor="h")
    assert tasks(runtime, old)["reply"].name == "答复"  # still the v1 diagram
    assert tasks(runtime, new)["reply"].name == "答复（新版）"
    for iid in (old, new):
        assert commands.complete_task(runtime, iid, open_task_id(runtime, iid, "reply"), {}, actor="h") == "completed"
    assert instance(runtime, old).definition_id == v1.definition_id
