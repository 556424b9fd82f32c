"""Outbox delivery by HTTP and webhooks (issue 17): signed bodies, retries on 500, giving up, no personal data.

A local HTTP server (threading http.server) plays the upstream platform and a subscriber; it checks each
signature with the receivers' own `verify`. On SQLite and PostgreSQL (`ws`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask.cli import ScriptInfo

from processes.exchange import webhooks
from processes.runtime import outbox
from processes.runtime import outbox_http
from processes.runtime.models import OutboxMessage
from tests.workspace_support import PERSON
from tests.workspace_support import Workspace
from webapp import runtime_of
from webapp.cli import cli
from webapp.config import ConfigError
from webapp.outbox_adapters import outbox_adapters

SECRET = "s" * 40
NO_WAIT = [0.0, 0.0]  # two retries, each due at once, then failed


@dataclass
class Receiver:
    """What the local server got, and the statuses it answers in turn (then 200)."""

    url: str
    answers: list[int] = field(default_factory=list)
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies received, in order."""
        return [json.loads(body) for _, body in self.got]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A local HTTP server on a free port of the loopback interface."""
    state = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.got.append(({k: v for k, v in self.headers.items()}, body))
            status = state.answers.pop(0) if state.answers else 200
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"{}" if status < 400 else b"temporarily down")

        def log_message(self, *args: Any) -> None:
            """Keep the test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def message(ws: Workspace, channel: str, key: str, case_id: str | None = None, **payload: Any) -> None:
    rt = runtime_of(ws.app)
    with rt.write() as db, db.begin():
        outbox.enqueue(db, channel=channel, kind="writeback", payload={"v": 1, **payload}, key=key, now=rt.clock(),
                       case_id=case_id)


def deliver(ws: Workspace, adapters: dict[str, Any]) -> dict[str, int]:
    return outbox.deliver_due(runtime_of(ws.app), adapters, "test", lease=timedelta(seconds=30), backoff=NO_WAIT)


def status_of(ws: Workspace, key: str) -> OutboxMessage:
    with runtime_of(ws.app).read() as db:
        row = db.scalar(sa.select(OutboxMessage).where(OutboxMessage.idempotency_key == key))
        assert row is not None
        return row


def test_a_channel_posts_signed_json_and_retries_after_500(ws: Workspace, receiver: Receiver) -> None:
    adapters = outbox_adapters_for(ws, {"upstream": {"url": receiver.url, "key_id": "k1", "secret": SECRET}})
    message(ws, "upstream", "up-1", upstream_order_id="ZJ1", result="办结")
    receiver.answers = [500]
    assert deliver(ws, adapters) == {"delivered": 0, "retry": 1, "failed": 0}
    assert "HTTP 500" in (status_of(ws, "up-1").last_error or "")
    assert deliver(ws, adapters)["delivered"] == 1
    assert status_of(ws, "up-1").status == "delivered" and status_of(ws, "up-1").delivered_via == "http:upstream"
    assert len(receiver.got) == 2
    headers, body = receiver.got[-1]
    assert headers["X-Hotline-Key-Id"] == "k1" and headers["Idempotency-Key"] == "up-1"
    assert outbox_http.verify(SECRET, headers, body)
    assert not outbox_http.verify("t" * 40, headers, body)  # another secret
    assert not outbox_http.verify(SECRET, headers, body + b" ")  # an altered body
    stale = {**headers, "X-Hotline-Timestamp": str(int(headers["X-Hotline-Timestamp"]) - 3600)}
    assert not outbox_http.verify(SECRET, stale, body)  # outside the replay window
    sent = json.loads(body)
    assert sent["payload"]["upstream_order_id"] == "ZJ1" and sent["kind"] == "writeback"


def test_delivery_gives_up_after_the_retries(ws: Workspace, receiver: Receiver) -> None:
    adapters = outbox_adapters_for(ws, {"upstream": {"url": receiver.url, "secret": SECRET}})
    message(ws, "upstream", "up-2")
    receiver.answers = [500, 503, 502, 500]
    counts = [deliver(ws, adapters) for _ in range(4)]
    assert [c["retry"] for c in counts] == [1, 1, 0, 0] and counts[2]["failed"] == 1
    assert status_of(ws, "up-2").status == "failed" and len(receiver.got) == 3


def test_personal_values_go_only_to_a_channel_that_needs_them(ws: Workspace, receiver: Receiver) -> None:
    case = ws.case()
    pointer = {"requester_phone": {"ref": "requester", "field": "phone"}}
    adapters = outbox_adapters_for(ws, {
        "upstream": {"url": receiver.url, "secret": SECRET, "personal": True},
        "township": {"url": receiver.url, "secret": SECRET}})
    message(ws, "upstream", "p-1", case.case_id, personal=pointer)
    message(ws, "township", "p-2", case.case_id, personal=pointer)
    message(ws, "sms", "p-3", case.case_id, personal=pointer)  # not configured: the in-app spool
    assert deliver(ws, adapters)["delivered"] == 3
    by_channel = {b["channel"]: b for b in receiver.bodies()}
    assert set(by_channel) == {"upstream", "township"}
    assert by_channel["upstream"]["personal"]["requester_phone"].startswith("13812")
    assert "personal" not in by_channel["township"]
    assert "13812" not in json.dumps(by_channel["township"]) and "ref" not in json.dumps(by_channel["upstream"])
    assert status_of(ws, "p-3").delivered_via == "spool"


def test_unusable_endpoints_stop_the_app_at_start(ws: Workspace) -> None:
    for spec in ({"url": "http://example.org/x", "secret": SECRET}, {"url": "https://example.org/x", "secret": "short"},
                 {"secret": SECRET}):
        ws.app.config["OUTBOX_HTTP"] = {"upstream": spec}
        with pytest.raises(ConfigError):
            outbox_adapters(ws.app)


def test_webhooks_send_signed_case_events_without_personal_data(ws: Workspace, receiver: Receiver) -> None:
    rt = runtime_of(ws.app)
    with rt.write() as db, db.begin():
        sub = webhooks.subscribe(db, webhooks.NewSubscription("dev", receiver.url, SECRET, ("started",
                                                                                            "task_completed")),
                                 actor="admin", now=rt.clock())
        sub_id = sub.id
    case = ws.case(title="噪音", content="王小明家楼下施工", location="中心街88号")
    ws.office.complete(case, "triage", {"request_type": "complaint", "urgency": "normal",
                                        "triage_result": "dispatch"})
    assert webhooks.fan_out(rt, lag=timedelta(0)) >= 2
    assert webhooks.fan_out(rt, lag=timedelta(0)) == 0  # the cursor moved on: nothing queued twice
    adapters = outbox_adapters(ws.app)
    receiver.answers = [500]
    deliver(ws, adapters)
    deliver(ws, adapters)
    kinds = sorted({b["event"]["kind"] for b in receiver.bodies()})
    assert kinds == ["started", "task_completed"]
    for headers, body in receiver.got:
        assert headers["X-Hotline-Key-Id"] == sub_id and outbox_http.verify(SECRET, headers, body)
        text = body.decode()
        for personal in (PERSON["requester_name"], "王小明", "13812", "中心街", "施工"):
            assert personal not in text
    assert all(b["event"]["case_number"] == case.case_number for b in receiver.bodies())


def test_a_removed_subscription_receives_nothing_more(ws: Workspace, receiver: Receiver) -> None:
    rt = runtime_of(ws.app)
    with rt.write() as db, db.begin():
        webhooks.subscribe(db, webhooks.NewSubscription("dev", receiver.url, SECRET, ("started",)), actor="a",
                           now=rt.clock())
    ws.case()
    assert webhooks.fan_out(rt, lag=timedelta(0)) == 1
    with rt.write() as db, db.begin():
        assert webhooks.remove(db, "dev")
    assert deliver(ws, outbox_adapters(ws.app))["delivered"] == 1
    assert receiver.got == []


def test_subscriptions_are_checked_and_managed_from_the_command_line(ws: Workspace, receiver: Receiver) -> None:
    bad = [("dev", "http://example.org/h", SECRET, ("started",)), ("dev", receiver.url, "short", ("started",)),
           ("dev", receiver.url, SECRET, ("everything",)), ("dev", receiver.url, SECRET, ())]
    for args in bad:
        with pytest.raises(webhooks.SubscriptionInvalid):
            webhooks.check(webhooks.NewSubscription(*args))
    run = CliRunner()
    info = ScriptInfo(create_app=lambda: ws.app)
    added = run.invoke(cli, ["platform", "webhook", "add", "dev", receiver.url, "--event", "started,completed"],
                       input=SECRET + "\n", obj=info)
    assert added.exit_code == 0, added.output
    assert SECRET not in added.output
    listed = run.invoke(cli, ["platform", "webhook", "list"], obj=info)
    assert "dev" in listed.output and "started" in listed.output and SECRET not in listed.output
    assert run.invoke(cli, ["platform", "webhook", "remove", "dev"], obj=info).exit_code == 0
    assert run.invoke(cli, ["platform", "webhook", "remove", "dev"], obj=info).exit_code == 1


def outbox_adapters_for(ws: Workspace, channels: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The adapters the app builds from these OUTBOX_HTTP settings."""
    ws.app.config["OUTBOX_HTTP"] = channels
    return dict(outbox_adapters(ws.app))
