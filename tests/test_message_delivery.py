"""A message reaches the case waiting for it (by case, instance or correlation); unwanted ones change nothing."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from processes.errors import FormDataInvalid
from processes.errors import InvalidState
from processes.errors import NotFound
from processes.runtime import commands
from processes.runtime.core import Runtime
from processes.runtime.models import InstanceCorrelation
from tests.instance_support import fingerprint
from tests.instance_support import history
from tests.instance_support import instance
from tests.instance_support import tasks
from tests.proc_helpers import open_task_id
from tests.support import deploy

FEEDBACK = "feedback_110"


def open_incident(rt: Runtime, incident_no: str) -> commands.Started:
    return commands.open_case(rt, "message_wait", {"incident_no": incident_no}, actor="op", channel="110")


@pytest.mark.parametrize("by", ["case_id", "instance_id", "correlation"])
def test_message_reaches_the_waiting_case(runtime: Runtime, by: str) -> None:
    deploy(runtime, "message_wait", "message_wait.bpmn")
    target = open_incident(runtime, "110-2026-0001")
    other = open_incident(runtime, "110-2026-0002")
    assert target.status == "waiting" and tasks(runtime, target.instance_id) == {}
    with runtime.read() as session:
        assert session.execute(sa.select(InstanceCorrelation.name, InstanceCorrelation.value).where(
            InstanceCorrelation.instance_id == target.instance_id)).all() == [("incident_no", "110-2026-0001")]
    untouched = fingerprint(runtime, other.instance_id)

    address: dict[str, Any] = {
        "case_id": {"case_id": target.case_id}, "instance_id": {"instance_id": target.instance_id},
        "correlation": {"correlation": ("incident_no", "110-2026-0001")}}[by]
    delivered = commands.deliver_message(runtime, FEEDBACK, {"incident_no": "110-2026-0001", "result": "resolved"},
                                         actor="system:110", **address)
    assert delivered == target.instance_id
    row = instance(runtime, target.instance_id)
    assert (row.status, row.version) == ("running", 2)
    assert '"feedback":{"incident_no":"110-2026-0001","result":"resolved"}' in row.snapshot
    assert list(tasks(runtime, target.instance_id)) == ["review_feedback"]
    [received] = [e for e in history(runtime, target.instance_id) if e.kind == "message_received"]
    assert (received.actor, received.detail, received.fields) == (
        "system:110", {"message": FEEDBACK}, ["incident_no", "result"])
    assert fingerprint(runtime, other.instance_id) == untouched

    review = open_task_id(runtime, target.instance_id, "review_feedback")
    assert commands.complete_task(runtime, target.instance_id, review, {}, actor="op") == "completed"


def test_message_nobody_waits_for_is_refused_and_changes_nothing(runtime: Runtime) -> None:
    deploy(runtime, "message_wait", "message_wait.bpmn")
    case = open_incident(runtime, "110-2026-0001")
    iid = case.instance_id
    before = fingerprint(runtime, iid)
    payload = {"incident_no": "110-2026-0001", "result": "resolved"}

    with pytest.raises(InvalidState, match="no task waits for message 'unknown'"):
        commands.deliver_message(runtime, "unknown", payload, actor="system:110", instance_id=iid)
    with pytest.raises(InvalidState, match="correlation"):  # right message, another incident's key
        commands.deliver_message(runtime, FEEDBACK, {"incident_no": "110-2026-9999"}, actor="system:110",
                                 instance_id=iid)
    with pytest.raises(NotFound):
        commands.deliver_message(runtime, FEEDBACK, payload, actor="system:110",
                                 correlation=("incident_no", "110-2026-9999"))
    with pytest.raises(NotFound):
        commands.deliver_message(runtime, FEEDBACK, payload, actor="system:110", instance_id="no-such-instance")
    with pytest.raises(FormDataInvalid):
        commands.deliver_message(runtime, FEEDBACK, payload, actor="system:110")
    assert fingerprint(runtime, iid) == before

    commands.deliver_message(runtime, FEEDBACK, payload, actor="system:110", case_id=case.case_id)
    caught = fingerprint(runtime, iid)
    with pytest.raises(InvalidState, match="no task waits"):  # delivered twice: nobody waits any more
        commands.deliver_message(runtime, FEEDBACK, payload, actor="system:110", case_id=case.case_id)
    assert fingerprint(runtime, iid) == caught

    commands.complete_task(runtime, iid, open_task_id(runtime, iid, "review_feedback"), {}, actor="op")
    with pytest.raises(NotFound):  # the case is closed: no active instance
        commands.deliver_message(runtime, FEEDBACK, payload, actor="system:110", case_id=case.case_id)
