"""The demo clock in Chromium: a trainer moves it forward from another terminal, a scheduler process fires the timers
that fell due, and the handler's worklist row turns red, under the banner that says the time is not real.

Three processes share the instance folder as in a demo: the web app (served here), `hotline scheduler` and
`hotline clock advance` (each its own interpreter). With HOTLINE_SCREENSHOTS=1 the red worklist is saved to
docs/screenshots/demo-clock.png for the README; it is always saved beside the test's other files.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser
from playwright.sync_api import expect

from processes.cases.models import Case
from tests.browser.conftest import login
from tests.browser.conftest import serving
from tests.lifecycle_support import Office
from tests.lifecycle_support import copy_office
from tests.web_support import CHEAP
from tests.web_support import add_user
from tests.workspace_support import DISPATCH
from webapp import create_app
from webapp import runtime_of

pytestmark = pytest.mark.browser
HOTLINE = "from webapp.cli import cli; cli(prog_name='hotline')"  # the `hotline` command, this interpreter
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def hotline(env: dict[str, str], *args: str) -> str:
    """Run one `hotline` command in a process of its own; return what it printed."""
    done = subprocess.run([sys.executable, "-c", HOTLINE, *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def scheduler(office_template: Path, tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    """The environment of a demo on a copy of the office (clock set to Wed 2026-11-25 09:00) and its scheduler."""
    env = {**os.environ, "HOTLINE_INSTANCE_PATH": str(tmp_path / "instance"),
           "HOTLINE_DATABASE_URL": copy_office(office_template, tmp_path), "PYTHONUNBUFFERED": "1"}
    env.pop("HOTLINE_CLOCK", None)
    assert "已调慢" in hotline(env, "clock", "set", "2026-11-25T09:00+08:00")
    log = tmp_path / "scheduler.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-c", HOTLINE, "scheduler", "--owner", "browser"],
                                   env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "scheduler browser started" not in log.read_text(encoding="utf-8"):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text(encoding="utf-8")
            time.sleep(0.1)
        yield env, log
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_demo_clock_moved_forward_fires_a_timer_and_the_row_turns_red(
        browser: Browser, scheduler: tuple[dict[str, str], Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    env, log = scheduler
    monkeypatch.setenv("HOTLINE_INSTANCE_PATH", env["HOTLINE_INSTANCE_PATH"])
    app = create_app({"DATABASE_URL": env["HOTLINE_DATABASE_URL"], "SECRET_KEY": "browser-" + "k" * 40, **CHEAP})
    office = Office(env["HOTLINE_DATABASE_URL"], runtime_of(app).clock)  # type: ignore[arg-type]  # the demo clock
    add_user(app, "h.sthj", "handler", department="sthj", real_name="生态环境分局承办人")
    case = office.open("case_phone", "phone", title="夜间施工噪音", township="beiao", requester_phone="13957700001")
    office.complete(case, "triage", DISPATCH)
    office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "sthj"})
    office.complete(case, "sign_for", {"sign_decision": "sign"}, department="sthj", actor="h.sthj")
    reply = office.task(case, "reply", "sthj")
    assert reply.due_at is not None
    shots = [tmp_path / "before.png", tmp_path / "after.png"]
    try:
        with serving(app) as base:
            context = browser.new_context(base_url=base, locale="zh-CN", viewport={"width": 1360, "height": 800})
            page = context.new_page()
            login(page, "h.sthj")
            page.goto("/worklist?tab=unit")
            row = page.locator(f"#task-{reply.id}")
            expect(page.locator(".demo-clock")).to_contain_text("演示时钟：2026-11-25 09:")
            expect(row.locator(".countdown")).to_contain_text("剩余 7天")  # Wed 11-25 to Wed 12-02 23:59
            expect(row).not_to_have_class("warn-red")
            page.screenshot(path=str(shots[0]), full_page=True)

            minutes = int((reply.due_at - runtime_of(app).clock()).total_seconds() // 60) + 5
            moved = hotline(env, "clock", "advance", f"{minutes}m")  # from "another terminal"
            assert "演示时钟：2026-12-03 00:0" in moved
            deadline = time.monotonic() + 30
            while _light(office, case.case_id) != "red":
                assert time.monotonic() < deadline, log.read_text(encoding="utf-8")
                time.sleep(0.1)

            page.goto("/worklist?tab=unit")
            expect(row).to_have_class("warn-red")  # the whole row
            expect(row.locator(".countdown")).to_have_class("countdown overdue")
            expect(row.locator(".countdown")).to_contain_text("超期")
            expect(page.locator(".demo-clock")).to_contain_text("演示时钟：2026-12-03 00:0")
            page.screenshot(path=str(shots[1]), full_page=True)
            if os.environ.get("HOTLINE_SCREENSHOTS") == "1":
                page.screenshot(path=str(SCREENSHOTS / "demo-clock.png"), full_page=True)
            page.goto(f"/cases/{case.case_id}")
            expect(page.locator(".case-panel .badge.warn-red")).to_be_visible()  # 红灯: set by the red timer
            context.close()
    finally:
        office.close()
        runtime_of(app).db.dispose()
    assert "演示时钟：" in log.read_text(encoding="utf-8")  # the scheduler said which clock it follows


def _light(office: Office, case_id: str | None) -> str | None:
    """The case's warning light (set by the yellow and red timers)."""
    with office.rt.read() as db:
        return db.scalar(sa.select(Case.warning_level).where(Case.id == case_id))
