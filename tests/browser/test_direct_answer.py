"""A direct answer in one screen, in Chromium: the operator registers a consultation answered on the phone, ticks
直接答复, types the answer and lands on the closed case; no dispatcher ever sees it. A complaint is refused on the same
screen with everything typed still there.

The form and the closed case are saved beside the test's other files; with HOTLINE_SCREENSHOTS=1 also to
docs/screenshots/ for the README.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.browser.conftest import LiveServer
from tests.browser.conftest import login
from tests.browser.test_case_flow import choose
from tests.web_support import add_user

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = "13957700888"
ANSWER = "社保卡丢失可到区行政服务中心一楼社保窗口补办，工作日 9:00-17:00，请带身份证。"
USERS = {"da.op": ("operator", "陈静"), "da.disp": ("dispatcher", "赵磊")}


@pytest.fixture(scope="module")
def users(live_server: LiveServer) -> Iterator[None]:
    """The operator at the phone desk and a dispatcher (created once for the module)."""
    for username, (role, name) in USERS.items():
        add_user(live_server.app, username, role, real_name=name)
    yield


def signed_in(browser: Browser, live_server: LiveServer, username: str) -> Page:
    """A signed-in page of its own (own cookies) for one user."""
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 1360, "height": 900})
    page = context.new_page()
    login(page, username)
    return page


def shot(page: Page, directory: Path, name: str) -> None:
    """Save a full-page screenshot beside the test, and for the README when asked to (HOTLINE_SCREENSHOTS=1)."""
    page.screenshot(path=str(directory / name), full_page=True)
    if os.environ.get("HOTLINE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def fill_call(page: Page, request_type: str) -> None:
    """Type a call into the phone intake screen and the answer given on the phone."""
    page.goto("/intake/phone")
    page.fill("#f-requester_name", "林女士")
    page.fill("#f-requester_phone", PHONE)
    choose(page, "request_type", request_type)
    page.fill("#f-category", "社会保障")
    page.fill("#f-title", "社保卡补办地点")
    page.fill("#f-content", "社保卡丢了，问去哪里补办、要带什么")
    button = page.locator("main form button.register")
    expect(button).to_have_text("登记", use_inner_text=True)
    page.check("#answer-now")
    expect(button).to_have_text("登记并办结（直接答复）", use_inner_text=True)  # the button says what it will do
    page.fill("#f-direct_answer", ANSWER)
    page.select_option("#f-answer_source", "policy")


def test_a_direct_answer_closes_in_one_screen(browser: Browser, live_server: LiveServer, users: None,
                                              tmp_path: Path) -> None:
    operator = signed_in(browser, live_server, "da.op")
    fill_call(operator, "consult")
    shot(operator, tmp_path, "direct-answer-form.png")
    with operator.expect_navigation():
        operator.locator("main form button.register").click()

    flash = operator.locator(".flash").first
    expect(flash).to_contain_text("已登记并办结（直接答复），已归档")
    number = operator.locator(".case-panel h2 a").inner_text().strip()
    expect(operator.locator(".case-panel .badge").first).to_have_text("已归档")
    expect(operator.get_by_text("没有进行中的任务。")).to_be_visible()
    expect(operator.locator("dd.text", has_text="区行政服务中心一楼社保窗口")).to_be_visible()
    expect(operator.locator("main")).not_to_contain_text(PHONE)  # the requester is masked from now on
    shot(operator, tmp_path, "direct-answer-case.png")

    dispatcher = signed_in(browser, live_server, "da.disp")
    for tab in ("group", "mine"):
        dispatcher.goto(f"/worklist?tab={tab}")
        expect(dispatcher.locator("main")).not_to_contain_text(number)  # nothing to triage, dispatch or publish
    for page in (operator, dispatcher):
        page.context.close()


def test_a_complaint_is_refused_on_the_same_screen_with_everything_kept(browser: Browser, live_server: LiveServer,
                                                                        users: None) -> None:
    operator = signed_in(browser, live_server, "da.op")
    fill_call(operator, "complaint")
    with operator.expect_navigation():
        operator.locator("main form button.register").click()
    expect(operator.locator("#e-request_type")).to_contain_text("只有咨询类诉求可以当场直接答复并办结")
    expect(operator.locator("#f-requester_phone")).to_have_value(PHONE)
    expect(operator.locator("#f-direct_answer")).to_have_value(ANSWER)
    expect(operator.locator("#answer-now")).to_be_checked()
    operator.context.close()
