"""What a day of office work in Chromium tripped over (H6), where only a browser shows it: confirmations."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser
from playwright.sync_api import Dialog
from playwright.sync_api import expect

from handlers.reference.settings import get_setting
from tests.browser.conftest import LiveServer
from tests.browser.conftest import login
from tests.web_support import add_user
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
