"""`hotline demo` serves what it set up: the web app on 127.0.0.1 and a scheduler process; Ctrl-C stops both."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from playwright.sync_api import Page

pytestmark = pytest.mark.browser
HOTLINE = "from webapp.cli import cli; cli(prog_name='hotline')"  # the `hotline` command, this interpreter


def free_port() -> int:
    """Return a loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(what: str, ready: Callable[[], bool], process: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait until `ready()` (the demo seeds first, then serves); fail if the demo exits or takes too long."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the demo exited before {what}"
        if ready():
            return
        time.sleep(0.5)
    pytest.fail(f"the demo did not get to {what} within {timeout} s")


def accepts(port: int) -> bool:
    """Return whether something accepts connections on the loopback port."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def start_demo(folder: Path, port: int) -> subprocess.Popen[bytes]:
    """Start `hotline demo` in its own process group with the instance in `folder`, its output in demo.log there."""
    env = {**os.environ, "HOTLINE_INSTANCE_PATH": str(folder), "HOTLINE_DATABASE_URL": "", "PYTHONUNBUFFERED": "1"}
    with (folder / "demo.log").open("wb") as out:
        return subprocess.Popen([sys.executable, "-c", HOTLINE, "demo", "--port", str(port)], env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def sign_in(page: Page, folder: Path, username: str) -> None:
    """Sign in through the login form with the password the demo printed for the account."""
    lines = (folder / "demo-users.txt").read_text(encoding="utf-8").splitlines()
    password = next(line.split("\t")[2] for line in lines if line.startswith(f"{username}\t"))
    page.goto("/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("main form button[type=submit]")


def test_demo_serves_the_app_with_a_scheduler_until_ctrl_c(browser: Browser, tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "demo.log"
    demo = start_demo(tmp_path, port)
    try:
        wait_for("serving", lambda: accepts(port), demo, timeout=240)
        wait_for("the scheduler", lambda: "scheduler demo started" in log.read_text(encoding="utf-8"), demo, 60)
        username = (tmp_path / "demo-users.txt").read_text(encoding="utf-8").splitlines()[0].split("\t")[0]
        context = browser.new_context(base_url=f"http://127.0.0.1:{port}", locale="zh-CN")
        page = context.new_page()
        sign_in(page, tmp_path, username)
        assert page.locator("main h1").inner_text() == "您好，王小燕"
        context.close()
    finally:
        os.killpg(demo.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group, as in a terminal
        demo.wait(timeout=30)
    output = log.read_text(encoding="utf-8")
    assert demo.returncode == 0, output
    assert f"web server at http://127.0.0.1:{port}/" in output
    assert "scheduler demo stopped after" in output and "scheduler stopped (exit 0)" in output
