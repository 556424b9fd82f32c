"""Browser tests: the real app on a loopback port, driven through Playwright by Debian's /usr/bin/chromium.

Never `playwright install` (it downloads a browser). Without chromium or a CJK font the tests skip with a bold
line in the summary; with HOTLINE_REQUIRE_BROWSER=1 (set by .ci/run) they fail instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser
from playwright.sync_api import Page
from playwright.sync_api import Playwright
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from processes.clock import FrozenClock
from tests.lifecycle_support import at
from tests.lifecycle_support import copy_office
from tests.web_support import PASSWORD
from tests.web_support import web_app
from webapp import assets

CHROMIUM = Path("/usr/bin/chromium")
# No sandbox: CI runs as root. The rest stop chromium from calling home (the network is closed).
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync"]
_STATUS: dict[str, str] = {}


def cjk_font() -> bool:
    """Return whether fontconfig knows a Chinese font (else screenshots show empty boxes)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    found = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True, check=False)
    return bool(found.stdout.strip())


def browser_problem() -> str | None:
    """Return why browser tests cannot run here, or None."""
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is missing (apt-get install chromium fonts-noto-cjk)"
    if not cjk_font():
        return "no CJK font (apt-get install fonts-noto-cjk)"
    return None


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """Start Playwright once per run; skip (or fail under HOTLINE_REQUIRE_BROWSER=1) without a browser."""
    problem = browser_problem()
    if problem is not None:
        _STATUS["skipped"] = problem
        if os.environ.get("HOTLINE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests required (HOTLINE_REQUIRE_BROWSER=1) but cannot run: {problem}")
        pytest.skip(f"browser tests did not run: {problem}")
    problems = assets.check_assets()
    if problems:
        pytest.fail(f"vendor assets are not current (run ./scripts/assets.sh): {problems[0]}")
    _STATUS["ran"] = str(CHROMIUM)
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's chromium, headless, launched once per run."""
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
    yield launched
    launched.close()


@dataclass(frozen=True)
class LiveServer:
    """The app served on a loopback port: its base URL, the app (to add users) and its frozen clock."""

    url: str
    app: Flask
    clock: FrozenClock


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve an app from a thread on a free 127.0.0.1 port; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def live_server(office_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The real app on a copy of the prepared office (migrated, reference data, diagrams), Wed 2026-11-25 09:00."""
    clock = FrozenClock(at("2026-11-25T09:00:00"))
    url = copy_office(office_template, tmp_path_factory.mktemp("live"))
    with contextmanager(web_app)(url, clock) as app, serving(app) as base:
        yield LiveServer(base, app, clock)


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A fresh browser context (own cookies) with a page on the live server, Chinese browser locale."""
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 1280, "height": 800})
    yield context.new_page()
    context.close()


def login(page: Page, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form, as a person would."""
    page.goto("/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("main form button[type=submit]")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say clearly whether the browser tests ran."""
    if "skipped" in _STATUS:
        terminalreporter.write_line(f"*** Browser tests did NOT run: {_STATUS['skipped']} ***", yellow=True,
                                    bold=True)
    elif "ran" in _STATUS:
        terminalreporter.write_line(f"Browser tests ran in {_STATUS['ran']}.", green=True)
