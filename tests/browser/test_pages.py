"""A person at the browser: signs in, sees the Chinese home page and its navigation, switches to English."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage
from playwright.sync_api import Page

from tests.browser.conftest import LiveServer
from tests.browser.conftest import login
from tests.web_support import add_user

pytestmark = pytest.mark.browser


def console_errors(page: Page) -> list[str]:
    """Collect the page's console errors and failed loads (a CSP violation or a missing file shows up here)."""
    errors: list[str] = []

    def note(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"{message.text} {message.location.get('url', '')}")

    page.on("console", note)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return errors


def test_operator_signs_in_sees_chinese_home_and_switches_to_english(
        page: Page, live_server: LiveServer, tmp_path: Path) -> None:
    add_user(live_server.app, "browser.op", "operator", real_name="王小燕")
    errors = console_errors(page)
    login(page, "browser.op")
    assert page.url == f"{live_server.url}/"
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("main h1").inner_text() == "您好，王小燕"
    active = page.locator("nav.mainnav a.active")
    assert active.inner_text() == "首页" and active.get_attribute("aria-current") == "page"
    assert page.locator(".account").inner_text().startswith("王小燕")
    assert page.evaluate("() => typeof htmx === 'object' && typeof window.Hotline.csrfToken() === 'string'")
    chinese = tmp_path / "home-zh.png"
    page.screenshot(path=str(chinese), full_page=True)

    with page.expect_navigation():
        page.click(".lang-switch button[value=en]")
    assert page.url == f"{live_server.url}/"
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("main h1").inner_text() == "Hello, 王小燕"
    assert page.locator("nav.mainnav a.active").inner_text() == "Home"
    assert "Sign out" not in page.locator("header").inner_text()  # folded under the name (one-line menu at 1366)
    page.locator("summary.who").click()
    assert "Sign out" in page.locator("header").inner_text()
    english = tmp_path / "home-en.png"
    page.screenshot(path=str(english), full_page=True)
    for shot in (chinese, english):
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    assert errors == []


def test_htmx_requests_carry_the_csrf_token_and_polls_are_marked_background(
        page: Page, live_server: LiveServer) -> None:
    add_user(live_server.app, "browser.htmx", "operator")
    login(page, "browser.htmx")
    # A button that posts with htmx (no token in the form data: only app.js's header can pass CSRF) and a poller.
    page.evaluate("""() => {
        const button = document.createElement("button");
        button.id = "probe";
        button.setAttribute("hx-post", "/lang");
        button.setAttribute("hx-vals", '{"lang": "en"}');
        button.setAttribute("hx-swap", "none");
        const poller = document.createElement("div");
        poller.setAttribute("hx-get", "/");
        poller.setAttribute("hx-trigger", "every 1s");
        poller.setAttribute("hx-swap", "none");
        document.querySelector("main").append(button, poller);
        htmx.process(button);
        htmx.process(poller);
    }""")
    with page.expect_response(lambda r: r.url.endswith("/lang")) as posted:
        page.click("#probe")
    assert posted.value.status == 302  # accepted: a refused token answers 400
    assert posted.value.request.headers["x-csrftoken"] and "x-background-refresh" not in posted.value.request.headers
    with page.expect_request(lambda r: r.headers.get("hx-trigger") is None and r.headers.get("hx-request") == "true"
                             and r.method == "GET", timeout=5000) as poll:
        pass  # the poller fires within a second
    assert poll.value.headers.get("x-background-refresh") == "1"
    page.reload()
    assert page.locator("html").get_attribute("lang") == "en"
