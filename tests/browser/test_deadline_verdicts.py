"""A case past its limit shows 超期 after archiving, in Chromium (issue 12, item 3).

The case runs through the diagrams on the live server's runtime up to its last step: signed for on Wednesday
11-25, its 5-working-day limit (12-02 23:59) passes, the red light and 督办 fire, the unit replies on 12-04 at
03:00, review and callback follow. The dispatcher then does the last step, 挂网审核, in the browser, and the case
page shows the verdict: 超期 1天3小时 on the case and on the handling stage, 按时 on the others, no countdown, and
the timeline's 办结, 挂网 and 归档 steps with who and when. The page is saved beside the test's other files (and
to docs/screenshots/ with HOTLINE_SCREENSHOTS=1).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser
from playwright.sync_api import Page
from playwright.sync_api import expect

from processes.runtime import commands
from processes.runtime import control
from processes.runtime.core import Runtime
from processes.runtime.models import HumanTask
from tests.browser.conftest import LiveServer
from tests.browser.conftest import login
from tests.browser.test_case_flow import choose
from tests.lifecycle_support import REPLY
from tests.lifecycle_support import at
from tests.web_support import add_user
from webapp import runtime_of

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
USERS = {"dv.disp": ("dispatcher", None, "赵派单"), "dv.sthj": ("handler", "sthj", "李承办"),
         "dv.cb": ("callback", None, "周回访"), "dv.sv": ("supervisor", None, "吴督办")}


@pytest.fixture(scope="module")
def users(live_server: LiveServer) -> Iterator[None]:
    """The people of this case (created once for the module)."""
    for username, (role, unit, name) in USERS.items():
        add_user(live_server.app, username, role, department=unit, real_name=name)
    yield


def complete(rt: Runtime, started: commands.Started, bpmn_id: str, data: dict[str, Any], actor: str) -> None:
    """Complete the case's one open task with this BPMN id, as `actor`."""
    with rt.read() as db:
        task = db.scalars(sa.select(HumanTask).where(HumanTask.case_id == started.case_id,
                                                     HumanTask.bpmn_id == bpmn_id, HumanTask.status == "open")).one()
    commands.complete_task(rt, task.instance_id, task.id, data, actor=actor)


def late_case(live_server: LiveServer) -> commands.Started:
    """A complaint replied to a day and three hours after its limit, reviewed and called back: 挂网审核 waits."""
    rt = runtime_of(live_server.app)
    live_server.clock.now = at("2026-11-25T09:00:00")
    started = commands.open_case(rt, "case_phone", {
        "request_type": "complaint", "urgency": "normal", "township": "beiao", "category": "噪音扰民",
        "requester_name": "陈先生", "requester_phone": "13957766554", "title": "工地夜间施工",
        "content": "中心街工地夜间施工，噪音很大"}, actor="dv.disp", channel="phone")
    complete(rt, started, "triage", {"request_type": "complaint", "urgency": "normal", "triage_result": "dispatch"},
             "dv.disp")
    complete(rt, started, "dispatch", {"dispatch_mode": "department", "lead_department": "sthj"}, "dv.disp")
    complete(rt, started, "sign_for", {"sign_decision": "sign"}, "dv.sthj")
    live_server.clock.now = at("2026-12-04T03:00:00")
    control.fire_timers(rt, started.instance_id)  # yellow, red and 督办 (this case's timers only)
    complete(rt, started, "supervise", {"supervise_action": "urge", "supervision_note": "限当日答复"}, "dv.sv")
    complete(rt, started, "reply", REPLY, "dv.sthj")
    live_server.clock.now = at("2026-12-04T09:30:00")
    complete(rt, started, "review", {"review_result": "accept"}, "dv.disp")
    complete(rt, started, "callback", {"callback_result": "satisfied", "solved": True}, "dv.cb")
    live_server.clock.now = at("2026-12-04T10:00:00")
    return started


def shot(page: Page, directory: Path, name: str) -> None:
    """Save a full-page screenshot beside the test, and for the README when asked to (HOTLINE_SCREENSHOTS=1)."""
    page.screenshot(path=str(directory / name), full_page=True)
    if os.environ.get("HOTLINE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_a_case_past_its_limit_shows_how_late_after_archiving(browser: Browser, live_server: LiveServer,
                                                               users: None, tmp_path: Path) -> None:
    started = late_case(live_server)
    try:
        context = browser.new_context(base_url=live_server.url, locale="zh-CN",
                                      viewport={"width": 1360, "height": 900})
        page = context.new_page()
        login(page, "dv.disp")
        page.goto("/worklist?tab=group")
        row = page.locator("tr", has_text=str(started.case_number)).filter(has_text="挂网审核")
        expect(row).to_have_count(1)
        expect(row.locator(".countdown")).to_contain_text("剩余")  # 挂网 has its own limit, still running
        with page.expect_response(lambda r: "/claim" in r.url):
            row.get_by_role("button", name="认领").click()
        page.goto(f"/cases/{started.case_id}")
        expect(page.locator(".case-panel")).to_contain_text("超期 1天3小时")  # done late, not archived yet
        page.goto("/worklist?tab=mine")
        with page.expect_navigation():
            page.locator("tr", has_text=str(started.case_number)).get_by_role("link", name="办理").click()
        choose(page, "publish", "true")
        page.fill("[name=public_reply]", "经核查，已责令施工单位夜间停止作业。")
        with page.expect_navigation():
            page.get_by_role("button", name="办理完成").click()
        expect(page.locator(".flash").first).to_contain_text("已办理")

        page.goto(f"/cases/{started.case_id}")
        panel = page.locator(".case-panel")
        expect(panel.locator("h2 .badge").first).to_have_text("已归档")
        verdict = panel.locator("dd .countdown")
        expect(verdict).to_have_text("超期 1天3小时")
        expect(verdict).to_have_class("countdown late")
        deadlines = page.locator("table.data").first
        expect(deadlines.locator("tr", has_text="办理")).to_contain_text("超期 1天3小时")
        for stage in ("初审", "派单", "签收", "审核", "回访", "挂网"):
            expect(deadlines.locator("tr", has=page.locator(f"td:text-is('{stage}')"))).to_contain_text("按时")
        expect(page.locator("main")).not_to_contain_text("剩余")
        assert page.locator(".countdown[data-remaining]").count() == 0  # nothing for the page script to tick
        steps = page.locator("table.timeline")
        for step in ("办结", "挂网", "归档"):
            expect(steps.locator("tr", has=page.locator(f"strong:text-is('{step}')"))).to_have_count(1)
        expect(steps.locator("tr", has=page.locator("strong:text-is('归档')"))).to_contain_text("赵派单")
        expect(steps).to_contain_text("回访结果：满意")
        shot(page, tmp_path, "case-verdict.png")
        page.locator("section.panel", has_text="时限情况").screenshot(path=str(tmp_path / "case-verdict-deadlines.png"))
        context.close()
    finally:
        live_server.clock.now = at("2026-11-25T09:00:00")  # the other browser tests start on Wednesday morning
