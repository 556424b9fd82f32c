"""The outbox: written in the command's transaction, delivered after commit, at least once, idempotent."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from processes.clock import FrozenClock
from processes.runtime import commands
from processes.runtime import definitions
from processes.runtime import outbox
from processes.runtime.core import Runtime
from processes.runtime.models import OutboxMessage
from tests.support import read_bundle

LEASE = timedelta(seconds=30)


class FailingGateway:
    """A gateway that is down until repaired; counts deliveries."""

    name = "sms-gateway"

    def __init__(self) -> None:
        self.down = True
        self.delivered: list[str] = []

    def deliver(self, message: outbox.Message) -> None:
        """Fail while down."""
        if self.down:
            raise ConnectionError("sms gateway unreachable")
        self.delivered.append(message.idempotency_key)


def started(rt: Runtime) -> str:
    """Deploy the notify diagram and start one case."""
    with rt.write() as session, session.begin():
        definitions.deploy(session, "notify", read_bundle("notify_department.bpmn"), actor="analyst",
                           now=rt.clock(), operators=rt.handlers, publish=True)
    return commands.start(rt, "notify", {"lead_department": "区住建局"}, actor="op").instance_id


def test_service_task_queues_a_message_in_its_transaction_and_the_spool_delivers_it(runtime: Runtime) -> None:
    instance_id = started(runtime)
    [queued] = outbox.messages(runtime)
    assert (queued.channel, queued.kind, queued.status) == ("sms", "dispatch_notice", "pending")
    assert queued.instance_id == instance_id
    assert {k: queued.payload[k] for k in ("schema", "v", "target", "case_id", "case_number", "personal")} == {
        "schema": "hotline.outbox.sms", "v": 1, "target": "区住建局", "case_id": None, "case_number": None,
        "personal": {}}  # no case: an envelope only (shapes per channel: tests/test_outbox_payloads.py)
    assert outbox.deliver_due(runtime, {}, "s1", lease=LEASE) == {"delivered": 1, "retry": 0, "failed": 0}
    [sent] = outbox.messages(runtime)
    assert (sent.status, sent.delivered_via, sent.attempts) == ("delivered", "spool", 1)
    assert outbox.deliver_due(runtime, {}, "s1", lease=LEASE)["delivered"] == 0


def test_same_key_is_queued_once(runtime: Runtime, clock: FrozenClock) -> None:
    with runtime.write() as session, session.begin():
        first = outbox.enqueue(session, channel="police110", kind="feedback", payload={}, key="k1", now=clock())
        again = outbox.enqueue(session, channel="police110", kind="feedback", payload={}, key="k1", now=clock())
    assert (first, again) == (True, False)
    assert len(outbox.messages(runtime)) == 1


def test_a_rolled_back_command_leaves_no_message(runtime: Runtime) -> None:
    with pytest.raises(RuntimeError), runtime.write() as session, session.begin():
        outbox.enqueue(session, channel="sms", kind="x", payload={}, key="k2", now=runtime.clock())
        raise RuntimeError("crash before commit")
    assert outbox.messages(runtime) == []


def test_failing_gateway_backs_off_then_fails_and_resend_delivers(runtime: Runtime, clock: FrozenClock) -> None:
    started(runtime)
    gateway = FailingGateway()
    adapters = {"sms": gateway}
    assert outbox.deliver_due(runtime, adapters, "s", lease=LEASE, backoff=[60, 300])["retry"] == 1
    assert outbox.deliver_due(runtime, adapters, "s", lease=LEASE, backoff=[60, 300]) == {
        "delivered": 0, "retry": 0, "failed": 0}  # not due again for a minute
    clock.advance(seconds=61)
    assert outbox.deliver_due(runtime, adapters, "s", lease=LEASE, backoff=[60, 300])["retry"] == 1
    clock.advance(seconds=301)
    assert outbox.deliver_due(runtime, adapters, "s", lease=LEASE, backoff=[60, 300])["failed"] == 1
    [failed] = outbox.messages(runtime, status="failed")
    assert failed.attempts == 3 and "unreachable" in (failed.last_error or "")
    gateway.down = False
    outbox.resend(runtime, failed.id)
    assert outbox.deliver_due(runtime, adapters, "s", lease=LEASE)["delivered"] == 1
    assert len(gateway.delivered) == 1


def test_a_runner_that_died_after_claiming_is_taken_over(runtime: Runtime, clock: FrozenClock) -> None:
    started(runtime)
    assert len(outbox.claim(runtime, "dead", lease=LEASE)) == 1  # claimed, then the process died
    assert outbox.deliver_due(runtime, {}, "alive", lease=LEASE)["delivered"] == 0
    clock.advance(seconds=31)
    assert outbox.deliver_due(runtime, {}, "alive", lease=LEASE)["delivered"] == 1
    with runtime.read() as session:
        assert session.scalar(sa.select(OutboxMessage.status)) == "delivered"
