"""The demo as a supervisor sees it on day one, in Chromium: the dashboard draws the 90 days, the board the live cases.

`hotline demo` with its default history serves; 吴督办 (sv1) signs in, the dashboard's charts are painted and its
来件量 over the default 30 days is that of an office, not of six sample cases; the 督办台 counts the live cases
(about 50 at work, some overdue with a 督办) at a laptop's 1366x768.
Both pages are saved beside the test; with HOTLINE_SCREENSHOTS=1 the board also goes to
docs/screenshots/monitor-board.png for the README.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from playwright.sync_api import expect

from tests.browser.test_demo_server import accepts
from tests.browser.test_demo_server import free_port
from tests.browser.test_demo_server import sign_in
from tests.browser.test_demo_server import start_demo
from tests.browser.test_demo_server import wait_for

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_a_supervisor_sees_the_demo_s_past_on_the_dashboard(browser: Browser, tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "demo.log"
    demo = start_demo(tmp_path, port)
    try:
        wait_for("serving", lambda: accepts(port), demo, timeout=300)
        assert "wrote 90 days of history" in log.read_text(encoding="utf-8")
        context = browser.new_context(base_url=f"http://127.0.0.1:{port}", locale="zh-CN",
                                      viewport={"width": 1360, "height": 900})
        page = context.new_page()
        sign_in(page, tmp_path, "sv1")
        page.goto("/dashboard/")
        expect(page.locator("canvas")).to_have_count(4)
        volume = page.locator("table tr", has_text="来件量").first.locator("td a").first
        assert int(volume.inner_text()) > 400  # 30 days of an office, not the six sample cases
        page.wait_for_timeout(1500)  # the charts' entry animation
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        page.set_viewport_size({"width": 1366, "height": 768})  # a supervisor's laptop
        page.goto("/monitor")
        expect(page.locator("[data-count='light-overdue']")).to_be_visible()
        open_cases = sum(int(page.locator(f"[data-count='light-{light}'] strong").inner_text())
                         for light in ("overdue", "red", "yellow", "green", "none"))
        assert open_cases >= 48  # the live cases at work (and the samples), not five sample cases
        expect(page.locator("[data-count='stage-supervise-total']")).to_be_visible()  # overdue cases have a 督办
        page.screenshot(path=str(tmp_path / "monitor-board.png"), full_page=True)
        if os.environ.get("HOTLINE_SCREENSHOTS") == "1":
            page.screenshot(path=str(SCREENSHOTS / "monitor-board.png"), full_page=True)
        context.close()
    finally:
        os.killpg(demo.pid, signal.SIGINT)
        demo.wait(timeout=30)
