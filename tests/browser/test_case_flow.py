"""A whole case through the pages in Chromium: 来电登记 → 初审 → 派单 → 签收 → 答复 → 审核 → 回访 → 办结.

Each step is done by the role that does it in the office, signed in through the login page in its own browser
context; a second dispatcher who submits a task already completed sees the conflict message. With
HOTLINE_SCREENSHOTS=1 the worklist and a task form are saved to docs/screenshots/ for the README.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.browser.conftest import LiveServer
from tests.browser.conftest import login
from tests.web_support import add_user

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = "13957712345"
USERS = {"e2e.op": ("operator", None, "王小燕"), "e2e.disp": ("dispatcher", None, "张伟"),
         "e2e.disp2": ("dispatcher", None, "李娜"), "e2e.sthj": ("handler", "sthj", "生态环境分局联络员"),
         "e2e.cb": ("callback", None, "周回访")}


@pytest.fixture(scope="module")
def users(live_server: LiveServer) -> Iterator[None]:
    """One account per role of the flow (created once for the module)."""
    for username, (role, unit, name) in USERS.items():
        add_user(live_server.app, username, role, department=unit, real_name=name)
    yield


def as_user(browser: Browser, live_server: LiveServer, username: str) -> Page:
    """A signed-in page of its own (own cookies) for one user."""
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 1360, "height": 900})
    page = context.new_page()
    login(page, username)
    return page


def choose(page: Page, name: str, value: str) -> None:
    """Pick a value of a form field, whether drawn as radio buttons or as a select."""
    select = page.locator(f"main select[name={name}]")
    if select.count():
        select.select_option(value)
    else:
        page.check(f"main input[name={name}][value='{value}']")


def open_task(page: Page, number: str, task_name: str, tab: str = "group") -> None:
    """Open a task of the case from the worklist, claiming it first when it sits in the group's list."""
    page.goto(f"/worklist?tab={tab}")
    row = page.locator("tr", has_text=number).filter(has_text=task_name)
    expect(row).to_have_count(1)
    claim = row.get_by_role("button", name="认领")
    if claim.count():
        with page.expect_response(lambda r: "/claim" in r.url) as claimed:  # htmx swaps the rows in place
            claim.click()
        assert claimed.value.status == 200
        page.goto("/worklist?tab=mine")
        row = page.locator("tr", has_text=number).filter(has_text=task_name)
    with page.expect_navigation():
        row.get_by_role("link", name="办理").click()
    expect(page.locator("h1")).to_contain_text(task_name)


def submit(page: Page) -> None:
    """Press 办理完成 and check the task went through (back on the worklist with 已办理)."""
    with page.expect_navigation():
        page.get_by_role("button", name="办理完成").click()
    expect(page.locator(".flash").first).to_contain_text("已办理")


def shot(page: Page, name: str) -> None:
    """Save a screenshot for the README when asked to (HOTLINE_SCREENSHOTS=1)."""
    if os.environ.get("HOTLINE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def register_call(browser: Browser, live_server: LiveServer) -> str:
    """The operator registers a phone call; return the new case number."""
    page = as_user(browser, live_server, "e2e.op")
    page.goto("/intake/phone")
    page.fill("#f-requester_name", "陈先生")
    page.fill("#f-requester_phone", PHONE)
    choose(page, "request_type", "complaint")
    choose(page, "urgency", "normal")
    choose(page, "township", "beiao")
    page.fill("#f-category", "噪音扰民")
    page.fill("#f-content", "中心街工地夜间施工，噪音很大<script>alert(1)</script>")
    page.fill("#f-location", "北岙街道中心街")
    with page.expect_navigation():
        page.locator("main form button[value=register]").last.click()
    flash = page.locator(".flash").first.inner_text()
    number = re.search(r"DT\d{8}-\d{4}", flash)
    assert number is not None, flash
    body = page.content()
    assert PHONE not in body and "139****2345" in body  # the operator sees the number masked from now on
    assert "<script>alert(1)</script>" not in body  # stored as typed, rendered as text
    page.context.close()
    return number.group(0)


def test_a_call_goes_through_every_desk_to_closure(browser: Browser, live_server: LiveServer, users: None) -> None:
    number = register_call(browser, live_server)

    dispatcher = as_user(browser, live_server, "e2e.disp")
    second = as_user(browser, live_server, "e2e.disp2")
    dispatcher.goto("/worklist?tab=group")
    expect(dispatcher.locator("tr", has_text=number)).to_contain_text("初审")
    shot(dispatcher, "worklist.png")
    # Two dispatchers open the same unclaimed triage form; the second to submit is told, not shown an error page.
    dispatcher.goto("/worklist?tab=group")
    link = dispatcher.locator("tr", has_text=number).get_by_role("link", name="办理")
    href = link.get_attribute("href")
    assert href is not None
    dispatcher.goto(href)
    second.goto(href)
    for page in (dispatcher, second):
        choose(page, "request_type", "complaint")
        choose(page, "urgency", "normal")
        choose(page, "triage_result", "dispatch")
    shot(dispatcher, "task-form.png")
    submit(dispatcher)
    response = None
    with second.expect_response(lambda r: r.request.method == "POST") as answer:
        second.get_by_role("button", name="办理完成").click()
    response = answer.value
    assert response.status == 409
    expect(second.locator("main")).to_contain_text("该任务已由他人办理")
    second.context.close()

    open_task(dispatcher, number, "派单")
    choose(dispatcher, "dispatch_mode", "department")
    choose(dispatcher, "lead_department", "sthj")
    preselected = dispatcher.locator("main input[name=assisting_departments]:checked")
    while preselected.count():  # the 派单目录 preselects 协办 units; this call goes to the lead unit alone
        preselected.first.uncheck()
    submit(dispatcher)

    unit = as_user(browser, live_server, "e2e.sthj")
    open_task(unit, number, "签收")
    expect(unit.locator("main")).to_contain_text(PHONE)  # holding the task: the unit may call the requester
    choose(unit, "sign_decision", "sign")
    submit(unit)
    open_task(unit, number, "答复")
    choose(unit, "reply_action", "reply")
    for name in ("claim_true", "solved", "contacted"):
        choose(unit, name, "true")
    unit.fill("[name=reply_text]", "已责令施工单位夜间停工，并安排人员现场复查。")
    unit.fill("[name=contact_record]", "电话联系诉求人，告知处理情况。")
    unit.fill("[name=public_reply]", "经核查，已责令施工单位夜间停止作业。")
    submit(unit)
    unit.context.close()

    open_task(dispatcher, number, "审核")
    choose(dispatcher, "review_result", "accept")
    submit(dispatcher)
    dispatcher.context.close()

    callback = as_user(browser, live_server, "e2e.cb")
    open_task(callback, number, "回访")
    choose(callback, "callback_result", "satisfied")
    choose(callback, "solved", "true")
    submit(callback)
    callback.goto("/search")
    callback.fill("input[name=number]", number)
    with callback.expect_navigation():
        callback.locator("main form button[type=submit]").first.click()
    expect(callback.locator("tr", has_text=number)).to_contain_text("已办结")
