"""A supervisor opens a case's 流程图, sees the token on 签收 in the unit's 部门办理 run, and the heat map, in Chromium.

In 霓屿街道 (this test's own township on the shared live server) one case is dispatched to 区生态环境分局 and another
to 区生态环境分局 and 区住建局. The supervisor opens the first case's page, follows 流程图, switches from the channel
process to 工单办理 and on to the unit's run, where the token marker and overlay sit on sign_for and the 签收超时 badge
shows its due time; then the heat map shows numbers on sign_for. Screenshots are saved beside the test (and to
docs/screenshots/ with HOTLINE_SCREENSHOTS=1).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser
from playwright.sync_api import expect

from processes.runtime import commands
from processes.runtime.models import HumanTask
from tests.browser.conftest import LiveServer
from tests.browser.conftest import login
from tests.browser.test_deadline_verdicts import complete
from tests.browser.test_deadline_verdicts import shot
from tests.lifecycle_support import at
from tests.web_support import add_user
from webapp import runtime_of

pytestmark = pytest.mark.browser
USERS = {"md.disp": ("dispatcher", None, "吴派单"), "mdg.sv": ("supervisor", None, "郑督办"),
         "md.zjj": ("handler", "zjj", "冯承办")}
TRIAGE = {"request_type": "complaint", "urgency": "normal", "triage_result": "dispatch"}


@pytest.fixture(scope="module")
def users(live_server: LiveServer) -> Iterator[None]:
    """The people of this test (created once for the module)."""
    for username, (role, unit, name) in USERS.items():
        add_user(live_server.app, username, role, department=unit, real_name=name)
    yield


def open_cases(live_server: LiveServer) -> commands.Started:
    """Two dispatched cases in 霓屿街道; the first waits for 签收 at 区生态环境分局."""
    rt = runtime_of(live_server.app)
    live_server.clock.now = at("2026-11-25T09:00:00")
    started = []
    for n, units in enumerate((["sthj"], ["sthj", "zjj"])):
        case = commands.open_case(rt, "case_phone", {
            "request_type": "complaint", "urgency": "normal", "township": "niyu", "category": "噪音扰民",
            "requester_name": "许先生", "requester_phone": f"1395776{6100 + n:04d}", "title": "渔港夜间作业噪音",
            "content": "渔港夜间作业噪音扰民"}, actor="md.disp", channel="phone")
        complete(rt, case, "triage", TRIAGE, "md.disp")
        complete(rt, case, "dispatch", {"dispatch_mode": "department", "lead_department": units[0],
                                        "assisting_departments": units[1:]}, "md.disp")
        started.append(case)
    with rt.read() as db:  # 区住建局 signs the second case: its reply waits
        task = db.scalars(sa.select(HumanTask).where(HumanTask.case_id == started[1].case_id,
                                                     HumanTask.department == "zjj", HumanTask.status == "open")).one()
    live_server.clock.now = at("2026-11-25T11:30:00")  # signed two and a half hours after dispatch
    commands.complete_task(rt, task.instance_id, task.id, {"sign_decision": "sign"}, actor="md.zjj")
    return started[0]


def test_a_supervisor_follows_the_token_into_the_units_run_and_opens_the_heat_map(
        browser: Browser, live_server: LiveServer, users: None, tmp_path: Path) -> None:
    case = open_cases(live_server)
    try:
        walk(browser, live_server, case, tmp_path)
    finally:
        live_server.clock.now = at("2026-11-25T09:00:00")  # the other browser tests start on Wednesday morning


def walk(browser: Browser, live_server: LiveServer, case: commands.Started, tmp_path: Path) -> None:
    """The supervisor's walk from the case page through the diagrams to the heat map."""
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    login(page, "mdg.sv")
    page.goto(f"/cases/{case.case_id}")
    with page.expect_navigation():
        page.get_by_role("link", name="流程图").click()
    diagram = page.locator("[data-diagram]")
    expect(diagram).to_have_attribute("data-shown", "root")
    lifecycle = page.locator('[data-diagram-canvas] [data-element-id="lifecycle"]').first
    expect(lifecycle).to_have_class(has_class("diagram-active"))
    lifecycle.click()  # the call activity leads to 工单办理
    expect(page.locator("[data-diagram-title]")).to_have_text("工单办理")
    page.locator('[data-diagram-canvas] [data-element-id="units_handling"]').first.click()
    expect(page.locator("[data-diagram-title]")).to_contain_text("部门办理")
    sign_for = page.locator('[data-diagram-canvas] g.djs-element[data-element-id="sign_for"]')
    expect(sign_for).to_have_class(has_class("diagram-token"))
    expect(page.locator('.djs-overlays[data-container-id="sign_for"] .diagram-badge.token')).to_have_count(1)
    timer = page.locator('.djs-overlays[data-container-id="sign_late"] .diagram-badge.timer')
    expect(timer).to_have_text("⏰ 11-26 23:59")
    expect(page.locator('[data-diagram-canvas] g.djs-element[data-element-id="notify_unit"]')).to_have_class(
        has_class("diagram-completed"))
    expect(page.locator(".timeline")).to_contain_text("吴派单")
    shot(page, tmp_path, "monitor-instance.png")
    with page.expect_navigation():
        page.get_by_role("link", name="热力图").click()
    page.locator('[data-view="department_handling"]').click()
    expect(page.locator("[data-diagram]")).to_have_attribute("data-shown", "department_handling")
    count = page.locator('.djs-overlays[data-container-id="sign_for"] .heat-count')
    expect(count).to_have_count(1)
    assert int(count.inner_text()) >= 2  # this test's two runs still at 签收, and other tests' cases
    expect(page.locator('[data-diagram-canvas] g.djs-element[data-element-id="sign_for"]')).to_have_class(
        has_class("heat-"))
    shot(page, tmp_path, "monitor-heatmap.png")
    assert not errors, errors
    context.close()


def has_class(name: str) -> re.Pattern[str]:
    """A pattern for a class attribute containing `name`."""
    return re.compile(rf"(^|\s){re.escape(name)}")
