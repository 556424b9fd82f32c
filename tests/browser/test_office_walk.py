"""What a day of office work in Chromium tripped over (H6), where only a browser shows it: confirmations, the
fields of a form's choice (分支字段) shown, sent and checked only while it is made."""

from __future__ import annotations

import re
from datetime import date
from datetime import time

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser
from playwright.sync_api import Dialog
from playwright.sync_api import expect

from handlers.reference.settings import get_setting
from processes.cases.models import Case
from processes.reference.models import DutyRoster
from processes.runtime import commands
from processes.runtime.models import HumanTask
from tests.browser.conftest import LiveServer
from tests.browser.conftest import login
from tests.browser.test_case_flow import choose
from tests.browser.test_case_flow import open_task
from tests.browser.test_case_flow import submit
from tests.web_support import add_user
from tests.web_support import audit_rows
from webapp import runtime_of

pytestmark = pytest.mark.browser


def emergency(live_server: LiveServer) -> bool:
    """Whether emergency duty (应急值守) is on."""
    with runtime_of(live_server.app).read() as db:
        return bool(get_setting(db, "emergency_mode"))


def test_emergency_duty_is_switched_only_after_a_confirmation(browser: Browser, live_server: LiveServer) -> None:
    add_user(live_server.app, "walk.dl", "duty_leader", real_name="卫值班长")
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 1366, "height": 768})
    page = context.new_page()
    login(page, "walk.dl")
    page.goto("/reference/roster?month=2026-12")
    asked: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="开启应急值守").click()
    page.wait_for_timeout(300)
    assert asked and "应急值守" in asked[0]
    assert not emergency(live_server) and page.url.endswith("/reference/roster?month=2026-12")
    try:
        page.once("dialog", lambda dialog: dialog.accept())
        with page.expect_navigation():
            page.get_by_role("button", name="开启应急值守").click()
        expect(page.locator("[data-emergency=on]")).to_be_visible()
        assert emergency(live_server)
        page.once("dialog", lambda dialog: dialog.accept())
        with page.expect_navigation():
            page.get_by_role("button", name="结束应急值守").click()
        expect(page.locator("[data-emergency=on]")).to_have_count(0)
    finally:
        assert not emergency(live_server)
        context.close()


def signed_case(live_server: LiveServer, unit: str) -> str:
    """A complaint triaged, dispatched to `unit` and signed for there (through the runtime); return its number."""
    rt = runtime_of(live_server.app)
    opened = commands.open_case(rt, "case_phone", {
        "requester_name": "陈先生", "requester_phone": "13957700009", "request_type": "complaint",
        "urgency": "normal", "township": "beiao", "category": "噪音扰民", "title": "夜间施工噪音",
        "content": "工地夜间施工。", "location": "北岙街道"}, actor="walk.disp", channel="phone")
    steps = [("triage", {"request_type": "complaint", "urgency": "normal", "triage_result": "dispatch"}),
             ("dispatch", {"dispatch_mode": "department", "lead_department": unit}),
             ("sign_for", {"sign_decision": "sign"})]
    for bpmn_id, data in steps:
        with rt.read() as db:
            task = db.scalars(sa.select(HumanTask).where(HumanTask.case_id == opened.case_id,
                                                         HumanTask.bpmn_id == bpmn_id,
                                                         HumanTask.status == "open")).one()
        commands.complete_task(rt, task.instance_id, task.id, data, actor="walk.disp")
    with rt.read() as db:
        return str(db.scalar(sa.select(Case.number).where(Case.id == opened.case_id)))


def test_the_reply_form_shows_sends_and_checks_only_the_chosen_actions_fields(
        browser: Browser, live_server: LiveServer) -> None:
    add_user(live_server.app, "walk.disp", "dispatcher", real_name="许派单")
    add_user(live_server.app, "walk.hzj", "handler", department="zjj", real_name="钱承办")
    number = signed_case(live_server, "zjj")
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 1366, "height": 768})
    page = context.new_page()
    try:
        login(page, "walk.hzj")
        open_task(page, number, "办理答复")
        reply_fields = page.locator("#field-reply_text, #field-public_reply, #field-claim_true")
        extension = page.locator("#field-extension_days, #field-extension_reason")
        expect(page.locator("#field-reply_action")).to_be_visible()
        for i in range(3):
            expect(reply_fields.nth(i)).to_be_hidden()  # nothing chosen yet: only the choice
        choose(page, "reply_action", "reply")
        expect(page.locator("#field-reply_text")).to_be_visible()
        expect(page.locator("#field-extension_days")).to_be_hidden()
        expect(page.locator("#field-not_solved_reason")).to_be_hidden()
        choose(page, "solved", "false")  # a branch inside the branch
        expect(page.locator("#field-not_solved_reason")).to_be_visible()
        page.fill("[name=reply_text]", "已现场查看")  # typed, then the handler changes their mind
        choose(page, "reply_action", "extend")
        for i in range(2):
            expect(extension.nth(i)).to_be_visible()
        for name in ("reply_text", "public_reply", "solved", "not_solved_reason"):
            expect(page.locator(f"#field-{name}")).to_be_hidden()
            assert page.locator(f"#field-{name} [name={name}]").first.is_disabled(), name  # not sent
        page.fill("[name=extension_days]", "3")
        page.fill("[name=extension_reason]", "需协调住建、执法两家单位联合整治")
        submit(page)
        row = [r for r in audit_rows(live_server.app, "task.complete")
               if r["result"] == "success" and r["actor"] == "walk.hzj"][-1]
        assert row["detail"]["fields"] == ["extension_days", "extension_reason", "reply_action"]
    finally:
        context.close()


@pytest.mark.parametrize("size", [{"width": 1366, "height": 768}, {"width": 1920, "height": 1080}])
def test_the_longest_menus_and_the_roster_fit_a_1366_screen(browser: Browser, live_server: LiveServer,
                                                           size: dict[str, int]) -> None:
    day = date(2026, 12, 8 if size["width"] == 1366 else 9)
    with runtime_of(live_server.app).write() as db, db.begin():  # the longest post's name on the busiest shift
        db.add(DutyRoster(day=day, role="dispatcher", username="walk.disp", shift_start=time(8), shift_end=time(20)))
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport=size)
    page = context.new_page()
    try:
        for role in ("supervisor", "leader", "duty_leader"):  # the longest menus, and the roster's owner last
            username = f"walk.{role}.{size['width']}"
            add_user(live_server.app, username, role, real_name="严督办")
            page.context.clear_cookies()
            login(page, username)
            page.goto("/reference/roster?month=2026-12")
            links = page.locator("nav.mainnav a")
            tops = {round(links.nth(i).bounding_box()["y"]) for i in range(links.count())}  # type: ignore[index]
            assert len(tops) == 1 and links.count() >= 8, (role, tops)  # the menu on one line
            expect(page.locator(".account-links")).to_be_hidden()
        page.locator("summary.who").click()
        expect(page.get_by_role("button", name="退出登录")).to_be_visible()
        shifts = page.locator(".roster-month .shift .time")
        expect(page.locator('.roster-month .shift[data-user="walk.disp"]').first).to_contain_text("08:00-20:00")
        cut = page.evaluate("""() => [...document.querySelectorAll('.roster-month .shift')]
            .filter(s => s.scrollWidth > s.clientWidth + 1).length""")
        assert cut == 0 and re.fullmatch(r"\d\d:\d\d-\d\d:\d\d", shifts.first.inner_text())
    finally:
        context.close()
