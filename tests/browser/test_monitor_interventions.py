"""A supervisor urges and hands over an open task from the instance page, and retries an incident, in Chromium.

In 东屏街道, one case waits for 签收 at 区生态环境分局: the supervisor opens its instance page, sends a 催办 with a
reason and hands the task to a named handler of the unit. Another case stops in error because the SMS gateway is
down when it is dispatched; once the gateway is back, the supervisor retries it from the incidents page (故障) and
it runs again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser
from playwright.sync_api import Page
from playwright.sync_api import expect

from processes.runtime import commands
from processes.runtime.core import Runtime
from processes.runtime.handler_api import HandlerError
from processes.runtime.models import HumanTask
from processes.runtime.models import OutboxMessage
from processes.runtime.models import ProcessInstance
from tests.browser.conftest import LiveServer
from tests.browser.conftest import login
from tests.browser.test_deadline_verdicts import complete
from tests.lifecycle_support import at
from tests.web_support import add_user
from webapp import runtime_of

pytestmark = pytest.mark.browser
USERS = {"iv.disp": ("dispatcher", None, "钱派单"), "iv.sthj": ("handler", "sthj", "孙承办"),
         "iv.sthj2": ("handler", "sthj", "钱承办"), "iv.sv": ("supervisor", None, "周督办")}
DISPATCH = {"request_type": "complaint", "urgency": "normal", "triage_result": "dispatch"}


@pytest.fixture(scope="module")
def users(live_server: LiveServer) -> Iterator[None]:
    """The people of these interventions (created once for the module)."""
    for username, (role, unit, name) in USERS.items():
        add_user(live_server.app, username, role, department=unit, real_name=name)
    yield


def dispatched(live_server: LiveServer, title: str, phone: str) -> commands.Started:
    """A complaint in 东屏街道 triaged and dispatched to 区生态环境分局 (a requester of its own: no 并单 offer)."""
    rt = runtime_of(live_server.app)
    started = commands.open_case(rt, "case_phone", {
        "request_type": "complaint", "urgency": "normal", "township": "dongping", "category": "噪音扰民",
        "requester_name": "吴先生", "requester_phone": phone, "title": title, "content": title},
        actor="iv.disp", channel="phone")
    complete(rt, started, "triage", DISPATCH, "iv.disp")
    complete(rt, started, "dispatch", {"dispatch_mode": "department", "lead_department": "sthj"}, "iv.disp")
    return started


def status(rt: Runtime, instance_id: str) -> str:
    """The instance's stored status."""
    with rt.read() as db:
        found = db.scalar(sa.select(ProcessInstance.status).where(ProcessInstance.id == instance_id))
    return str(found)


def signed_in(browser: Browser, live_server: LiveServer) -> Page:
    """A fresh browser context signed in as the supervisor."""
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 1360, "height": 900})
    page = context.new_page()
    login(page, "iv.sv")
    return page


def intervene(page: Page, row: str, action: str, reason: str, **choices: str) -> None:
    """Open one intervention of a task row, fill it in and submit it."""
    details = page.locator(f"{row} details[data-action={action}]")
    details.locator("summary").click()
    for name, label in choices.items():
        details.locator(f"select[name={name}]").select_option(label=label)
    details.locator("input[name=reason]").fill(reason)
    with page.expect_navigation():
        details.locator("button[type=submit]").click()


def test_a_supervisor_urges_and_hands_over_from_the_instance_page(browser: Browser, live_server: LiveServer,
                                                                  users: None) -> None:
    live_server.clock.now = at("2026-11-25T09:00:00")
    started = dispatched(live_server, "东屏码头夜间噪音", "13957711223")
    rt = runtime_of(live_server.app)
    with rt.read() as db:
        sign = db.scalars(sa.select(HumanTask).where(HumanTask.case_id == started.case_id,
                                                     HumanTask.status == "open")).one()
    page = signed_in(browser, live_server)
    page.goto(f"/monitor/instances/{started.instance_id}")
    row = f"tr[data-task='{sign.id}']"
    expect(page.locator(row)).to_contain_text("签收")
    intervene(page, row, "urge", "请今天下班前签收")
    expect(page.locator(".flash-success")).to_contain_text("已催办 区生态环境分局：签收")
    intervene(page, row, "reassign", "孙承办请假，由钱承办办理", to_user="钱承办（iv.sthj2）")
    expect(page.locator(".flash-success")).to_contain_text("已转交给 钱承办（iv.sthj2）：签收")
    with rt.read() as db:
        assert db.scalar(sa.select(HumanTask.assignee).where(HumanTask.id == sign.id)) == "iv.sthj2"
        urged = db.scalars(sa.select(OutboxMessage).where(OutboxMessage.case_id == started.case_id,
                                                          OutboxMessage.kind == "manual_urging")).one()
    assert "请今天下班前签收" in urged.payload["text"]
    page.goto(f"/cases/{started.case_id}")
    expect(page.locator("main")).to_contain_text("请今天下班前签收")
    page.context.close()


def test_an_instance_in_error_is_retried_from_the_incidents_page(browser: Browser, live_server: LiveServer,
                                                                 users: None) -> None:
    live_server.clock.now = at("2026-11-25T09:00:00")
    rt = runtime_of(live_server.app)
    original = rt.handlers
    spec = original["outbox.send"]

    def gateway_down(ctx: Any, **params: Any) -> Any:
        raise HandlerError("SMS gateway unreachable")

    rt.handlers = {**original, "outbox.send": replace(spec, fn=gateway_down)}
    try:
        started = dispatched(live_server, "东屏路灯不亮", "13957711224")
    finally:
        rt.handlers = original  # the gateway is back
    assert status(rt, started.instance_id) == "error"
    page = signed_in(browser, live_server)
    page.goto("/monitor/incidents")
    incident = page.locator(f"tr[data-incident='{started.instance_id}']")
    expect(incident).to_contain_text("短信通知承办单位")
    expect(incident).to_contain_text("SMS gateway unreachable")
    with page.expect_navigation():
        incident.get_by_role("button", name="重试").click()
    expect(page.locator(".flash-success")).to_contain_text(f"{started.case_number}：已恢复运行")
    expect(page.locator(f"tr[data-incident='{started.instance_id}']")).to_have_count(0)
    assert status(rt, started.instance_id) == "running"
    page.context.close()
