"""A supervisor opens the office board (督办台), sees an overdue case counted, and drills down to it, in Chromium.

In 鹿西乡, one case is signed for on Wednesday 11-25 and left past its limit (12-02 23:59); another waits for 初审.
On 12-03 the supervisor's board counts one overdue case under the unit and the 办理 stage; its tile leads to the
search list of exactly that case, and the case opens from there. The board is saved beside the test (the README's
docs/screenshots/monitor-board.png shows the demo's board instead: tests/browser/test_demo_history.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from playwright.sync_api import expect

from processes.runtime import commands
from processes.runtime import control
from tests.browser.conftest import LiveServer
from tests.browser.conftest import login
from tests.browser.test_deadline_verdicts import complete
from tests.lifecycle_support import at
from tests.web_support import add_user
from webapp import runtime_of

pytestmark = pytest.mark.browser
USERS = {"mb.disp": ("dispatcher", None, "钱派单"), "mb.sthj": ("handler", "sthj", "孙承办"),
         "mb.sv": ("supervisor", None, "周督办")}


@pytest.fixture(scope="module")
def users(live_server: LiveServer) -> Iterator[None]:
    """The people of this board (created once for the module)."""
    for username, (role, unit, name) in USERS.items():
        add_user(live_server.app, username, role, department=unit, real_name=name)
    yield


def open_cases(live_server: LiveServer) -> tuple[commands.Started, commands.Started]:
    """An overdue case at 区生态环境分局 and a fresh one waiting for 初审; the clock ends on 12-03 10:00."""
    rt = runtime_of(live_server.app)
    live_server.clock.now = at("2026-11-25T09:00:00")
    late = commands.open_case(rt, "case_phone", {
        "request_type": "complaint", "urgency": "normal", "township": "luxi", "category": "噪音扰民",
        "requester_name": "陈先生", "requester_phone": "13957766554", "title": "码头夜间装卸噪音",
        "content": "码头夜间装卸，噪音很大"}, actor="mb.disp", channel="phone")
    complete(rt, late, "triage", {"request_type": "complaint", "urgency": "normal", "triage_result": "dispatch"},
             "mb.disp")
    complete(rt, late, "dispatch", {"dispatch_mode": "department", "lead_department": "sthj"}, "mb.disp")
    complete(rt, late, "sign_for", {"sign_decision": "sign"}, "mb.sthj")
    live_server.clock.now = at("2026-12-03T10:00:00")
    control.fire_timers(rt, late.instance_id)  # yellow, red and 督办 of this case
    fresh = commands.open_case(rt, "case_phone", {
        "request_type": "consult", "urgency": "normal", "township": "luxi", "category": "社会保障",
        "requester_name": "林女士", "requester_phone": "13857766554", "title": "社保转移咨询",
        "content": "咨询社保关系转移"}, actor="mb.disp", channel="phone")
    return late, fresh


def test_a_supervisor_sees_the_overdue_case_on_the_board_and_drills_down(
        browser: Browser, live_server: LiveServer, users: None, tmp_path: Path) -> None:
    late, fresh = open_cases(live_server)
    try:
        context = browser.new_context(base_url=live_server.url, locale="zh-CN",
                                      viewport={"width": 1360, "height": 900})
        page = context.new_page()
        login(page, "mb.sv")
        page.goto("/monitor?township=luxi")  # the live server is shared: count only this test's township
        overdue = page.locator("[data-count='light-overdue']")
        expect(overdue).to_contain_text("1")
        expect(page.locator("[data-count^='department-sthj-overdue']")).to_have_text("1")
        page.screenshot(path=str(tmp_path / "monitor-board.png"), full_page=True)
        with page.expect_navigation():
            overdue.click()
        assert "/search" in page.url and "light=overdue" in page.url and "township=luxi" in page.url
        rows = page.locator("table.results tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(str(late.case_number))
        expect(page.locator("main")).not_to_contain_text(str(fresh.case_number))
        with page.expect_navigation():
            rows.first.get_by_role("link", name=str(late.case_number)).click()
        expect(page.locator(".case-panel")).to_contain_text("红灯")
        context.close()
    finally:
        live_server.clock.now = at("2026-11-25T09:00:00")  # the other browser tests start on Wednesday morning
