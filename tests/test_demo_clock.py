"""The demo clock (演示时钟, issue 12 item 10): one moved time for the web, every command and the scheduler.

The clock is set the way a trainer sets it (`HOTLINE_CLOCK`, `hotline clock set|advance|reset`) and read by apps
built as separate processes build them, so each test shows the processes agree through the instance folder. The
timer test runs on SQLite and PostgreSQL; production refuses any clock, in every command and in the web server.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from click.testing import Result
from flask import Flask

from processes.accounts import totp
from processes.accounts.models import UserSession
from processes.cases.models import Case
from processes.clock import FrozenClock
from processes.clock import MovedClock
from processes.runtime.models import TimerJob
from tests.lifecycle_support import Office
from tests.lifecycle_support import at
from tests.lifecycle_support import copy_office
from tests.lifecycle_support import prepare_office
from tests.support import truncate_all
from tests.test_auth_web import enrol
from tests.web_support import CHEAP
from tests.web_support import add_user
from tests.web_support import location
from tests.web_support import login
from tests.web_support import post
from tests.web_support import web_app
from tests.workspace_support import Workspace
from tests.workspace_support import text
from webapp import create_app
from webapp import democlock
from webapp import runtime_of
from webapp.cli import cli
from webapp.config import ConfigError
from webapp.scheduler import SchedulerState
from webapp.scheduler import run_scheduler

BEIJING = democlock.LOCAL
NO_NOTICE = "2027年节假日安排未录入，按周一至周五计算"
PRODUCTION = {"HOTLINE_ENV": "production", "HOTLINE_SECRET_KEY": "k" * 40, "HOTLINE_PII_ENCRYPTION_KEY": "ab" * 32,
              "HOTLINE_AUDIT_HMAC_KEY": "cd" * 32}


def hotline(instance: Path, *args: str, **env: str) -> Result:
    """Run `hotline ARGS` as its own command on the instance folder (a CLI process of its own)."""
    runner = CliRunner(env={"HOTLINE_INSTANCE_PATH": str(instance), "HOTLINE_CLOCK": None, **env})
    return runner.invoke(cli, list(args))


def app_on(instance: Path, url: str, monkeypatch: pytest.MonkeyPatch, *, serving: bool = True,
           **config: object) -> Flask:
    """Build an app the way a separate process does (its own clock reader) on the instance folder."""
    monkeypatch.setenv("HOTLINE_INSTANCE_PATH", str(instance))
    return create_app({"DATABASE_URL": url, "SECRET_KEY": "clock-test-" + "k" * 40, "TESTING": True, **CHEAP,
                       **config}, serving=serving)


def offset_of(app: Flask) -> timedelta:
    """How far an app's clock is from real time now, to the second."""
    return timedelta(seconds=round((runtime_of(app).clock() - datetime.now(UTC)).total_seconds()))


# --- the setting -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "offset"), [
    ("+3d", timedelta(days=3)), ("-2h", timedelta(hours=-2)), ("+1w", timedelta(weeks=1)), ("2d", timedelta(days=2)),
    ("+1d12h", timedelta(days=1, hours=12)), ("90m", timedelta(minutes=90)), ("-1w2d", -timedelta(days=9)),
    (" +3D ", timedelta(days=3)),
])
def test_an_offset_moves_the_clock_by_weeks_days_hours_and_minutes(text: str, offset: timedelta) -> None:
    assert democlock.parse_duration(text) == offset
    assert democlock.parse_setting(text, datetime(2026, 12, 7, tzinfo=UTC)) == offset


def test_a_start_time_is_an_offset_from_now_with_beijing_time_when_no_zone_is_given() -> None:
    now = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)  # 14:00 in Beijing
    assert democlock.parse_setting("2027-01-29T22:00+08:00", now) == datetime(2027, 1, 29, 14, tzinfo=UTC) - now
    assert democlock.parse_setting("2026-12-07T15:30", now) == timedelta(hours=1, minutes=30)
    assert democlock.parse_setting("2026-12-07T05:00:00Z", now) == timedelta(hours=-1)


@pytest.mark.parametrize("text", ["3", "+3x", "tomorrow", "", "+d", "2027-13-01T00:00"])
def test_anything_else_is_refused_with_examples(text: str) -> None:
    with pytest.raises(democlock.ClockSettingError, match=r"\+3d"):
        democlock.parse_setting(text, datetime.now(UTC))


def test_a_bad_hotline_clock_stops_commands_with_one_line(tmp_path: Path) -> None:
    result = hotline(tmp_path, "clock", "show", HOTLINE_CLOCK="next week")
    assert result.exit_code == 1 and "HOTLINE_CLOCK: not an offset nor a start time" in result.output
    assert "Traceback" not in result.output and not (tmp_path / democlock.FILE_NAME).exists()


# --- refused in production -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [["--help"], ["tasks"], ["clock", "show"], ["db", "current"], ["run"],
                                  ["scheduler", "--once"], ["demo", "--no-serve"]])
def test_production_refuses_a_clock_setting_in_every_command(tmp_path: Path, args: list[str]) -> None:
    result = hotline(tmp_path, *args, HOTLINE_CLOCK="+3d", **PRODUCTION)
    assert result.exit_code == 1, result.output
    assert "Error: HOTLINE_CLOCK / CLOCK (the demo clock) is set" in result.output
    assert "HOTLINE_ENV=production runs on real time only" in result.output and "Traceback" not in result.output
    assert not (tmp_path / democlock.FILE_NAME).exists()


def test_production_refuses_a_recorded_clock_file_too(tmp_path: Path) -> None:
    assert hotline(tmp_path, "clock", "set", "+2d").exit_code == 0  # a demo once ran in this instance folder
    result = hotline(tmp_path, "db", "current", **PRODUCTION)
    assert result.exit_code == 1 and f"{tmp_path / democlock.FILE_NAME} (the demo clock) exists" in result.output
    assert "delete the file" in result.output
    assert hotline(tmp_path, "clock", "reset").exit_code == 0  # outside production it can be removed
    assert hotline(tmp_path, "db", "current", **PRODUCTION).exit_code == 0


def test_production_web_app_refuses_a_clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    production = {"ENV": "production", "SECRET_KEY": "k" * 40, "PII_ENCRYPTION_KEY": "ab" * 32}
    with pytest.raises(ConfigError, match="HOTLINE_ENV=production runs on real time only"):
        app_on(tmp_path, f"sqlite:///{tmp_path / 'x.sqlite'}", monkeypatch, CLOCK="-2h", **production)
    with pytest.raises(ConfigError, match="HOTLINE_ENV=production runs on real time only"):
        app_on(tmp_path, f"sqlite:///{tmp_path / 'x.sqlite'}", monkeypatch, serving=False, CLOCK="+1w",
               **production)
    app = app_on(tmp_path, f"sqlite:///{tmp_path / 'x.sqlite'}", monkeypatch, **production)
    assert runtime_of(app).clock is democlock.system_clock  # production reads no clock file at all


def test_production_web_server_exits_with_the_reason(tmp_path: Path) -> None:
    env = {**os.environ, **PRODUCTION, "HOTLINE_CLOCK": "2027-01-29T22:00+08:00",
           "HOTLINE_INSTANCE_PATH": str(tmp_path), "HOTLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"}
    server = subprocess.run([sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:0", "--workers", "1",
                             "webapp:create_app()"], env=env, capture_output=True, text=True, timeout=120,
                            check=False)
    assert server.returncode != 0
    assert "HOTLINE_ENV=production runs on real time only" in server.stderr


# --- one time for every process ------------------------------------------------------------------------------------

def test_web_commands_and_scheduler_share_the_moved_time_and_follow_moves_without_restart(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'clock.sqlite'}"
    first = hotline(tmp_path, "clock", "show", HOTLINE_CLOCK="+3d")  # `HOTLINE_CLOCK=+3d hotline demo` records it
    assert first.exit_code == 0 and "演示时钟：" in first.output and "（已调快 3天）" in first.output
    web = app_on(tmp_path, url, monkeypatch)  # started later, without the setting
    scheduler = app_on(tmp_path, url, monkeypatch, serving=False)
    assert offset_of(web) == offset_of(scheduler) == timedelta(days=3)

    moved = hotline(tmp_path, "clock", "advance", "2d")
    assert moved.exit_code == 0 and "（已调快 5天）" in moved.output
    assert offset_of(web) == offset_of(scheduler) == timedelta(days=5)  # no restart

    again = app_on(tmp_path, url, monkeypatch, CLOCK="+3d")  # restarted with the same setting: the moves stay
    assert offset_of(again) == offset_of(web) == timedelta(days=5)
    started = time.monotonic()
    other = app_on(tmp_path, url, monkeypatch, CLOCK="2027-01-29T22:00+08:00")  # a new setting takes over
    # The moved clock runs on from 22:00 as real time does: at most the real time since the setting was made.
    ran = runtime_of(web).clock() - datetime(2027, 1, 29, 22, tzinfo=BEIJING)
    assert timedelta() <= ran <= timedelta(seconds=time.monotonic() - started + 1)
    assert abs(runtime_of(scheduler).clock() - runtime_of(other).clock()) < timedelta(seconds=1)

    assert "（已调慢 2小时）" in hotline(tmp_path, "clock", "set", "-2h").output
    assert offset_of(web) == timedelta(hours=-2)
    refused = hotline(tmp_path, "clock", "advance", "-1d")
    assert refused.exit_code == 2 and "advance moves forward" in refused.output
    assert hotline(tmp_path, "clock", "advance", "soon").exit_code == 2
    assert "back to real time" in hotline(tmp_path, "clock", "reset").output
    assert offset_of(web) == offset_of(scheduler) == timedelta()
    assert "实际时间（未使用演示时钟）" in hotline(tmp_path, "clock", "show").output


def test_every_page_carries_the_banner_while_the_clock_is_moved(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    web = app_on(tmp_path, f"sqlite:///{tmp_path / 'x.sqlite'}", monkeypatch)
    client = web.test_client()
    assert "demo-clock" not in text(client.get("/auth/login"))
    hotline(tmp_path, "clock", "set", "2027-01-29T22:00+08:00")
    page = text(client.get("/auth/login"))
    assert re.search(r'class="demo-clock".*演示时钟：2027-01-29 2[12]:\d\d（已调快 \d+天\d*小?时?\d*分?）', page)
    assert "不是真实时间" in page
    assert "演示时钟：" in text(client.get("/no-such-page"))  # the error pages too
    post(client, "/lang", {"lang": "en"})
    hotline(tmp_path, "clock", "set", "+3d")
    english = text(client.get("/auth/login"))
    assert "Demo clock:" in english and "(3d ahead)" in english
    hotline(tmp_path, "clock", "reset")
    assert "demo-clock" not in text(client.get("/auth/login"))


def test_moving_the_clock_signs_nobody_out_and_second_factors_keep_real_time(sqlite_url: str) -> None:
    real = FrozenClock(at("2026-12-07T09:00:00"))
    shift = {"by": timedelta()}
    for web in web_app(sqlite_url, real):
        runtime_of(web).clock = MovedClock(lambda: shift["by"], base=real)  # what democlock.install builds
        add_user(web, "mfauser")
        client = web.test_client()
        assert location(login(client, "mfauser")) == "/"
        secret = enrol(client, real)  # the phone's codes follow real time
        shift["by"] = timedelta(days=3)
        assert client.get("/").status_code == 200  # three days of demo time passed: still signed in
        post(client, "/auth/logout")
        assert location(login(client, "mfauser")) == "/auth/totp"
        real.advance(seconds=30)  # the next code: no reuse
        assert location(post(client, "/auth/totp", {"code": totp.code_at(secret, real())})) == "/"
        with runtime_of(web).read() as db:  # while the office's time (audit, sessions) is the moved one
            opened = db.scalars(sa.select(UserSession.created_at).order_by(UserSession.created_at.desc())).first()
        assert opened == real() + timedelta(days=3)
        real.advance(minutes=31)  # real idle time still ends a session
        assert location(client.get("/")) == "/auth/login"


# --- timers fire when the moved clock passes them ------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgres"])
def office_url(request: pytest.FixtureRequest, office_template: Path, tmp_path: Path) -> str:
    """A prepared office database (reference data, diagrams) on SQLite or PostgreSQL."""
    if request.param == "sqlite":
        return copy_office(office_template, tmp_path)
    url: str = request.getfixturevalue("pg_url")
    truncate_all(url)
    prepare_office(url)
    return url


@pytest.fixture
def demo(office_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """The web app on the office with the demo clock of a fresh instance folder (its office uses the same clock)."""
    instance = tmp_path / "instance"
    assert hotline(instance, "clock", "set", "2026-11-25T09:00+08:00").exit_code == 0  # a Wednesday
    web = app_on(instance, office_url, monkeypatch)
    office = Office(office_url, runtime_of(web).clock)  # type: ignore[arg-type]  # a moved clock, not a frozen one
    yield Workspace(office, web)
    office.close()
    runtime_of(web).db.dispose()


def test_advancing_the_clock_fires_due_timers_through_the_scheduler(demo: Workspace, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    request: pytest.FixtureRequest) -> None:
    instance = tmp_path / "instance"
    handler = demo.user("h.sthj", "handler", department="sthj", real_name="生态环境分局承办人")
    case = demo.dispatched("sthj")
    demo.office.complete(case, "sign_for", {"sign_decision": "sign"}, department="sthj")
    reply = demo.office.task(case, "reply", "sthj")
    assert reply.due_at is not None
    row = re.compile(rf'<tr id="task-{reply.id}"( class="([^"]*)")?>')
    found = row.search(text(handler.get("/worklist?tab=group")))
    assert found and found.group(2) is None  # days left: no colour yet
    pending = demo.office.timers(case)
    assert {"yellow_timer", "red_timer"} <= set(pending)

    scheduler = app_on(instance, runtime_of(demo.app).db.url.render_as_string(hide_password=False),
                       monkeypatch, serving=False)
    request.addfinalizer(runtime_of(scheduler).db.dispose)
    state = run_scheduler(scheduler, SchedulerState("clock-test"), once=True)
    assert state.done == 0  # nothing is due at the demo's time yet

    minutes = int((reply.due_at - runtime_of(demo.app).clock()).total_seconds() // 60) + 2
    assert hotline(instance, "clock", "advance", f"{minutes}m").exit_code == 0
    assert demo.office.timers(case)["red_timer"]  # moving the clock fires nothing by itself...
    state = run_scheduler(scheduler, SchedulerState("clock-test"), once=True)
    assert state.done >= 1  # ...the scheduler claims what fell due and fires it (yellow and red, in order)
    fired = demo.office.timers(case, "done")
    assert {"yellow_timer", "red_timer"} <= set(fired)
    with demo.office.rt.read() as db:
        assert db.scalar(sa.select(Case.warning_level).where(Case.id == case.case_id)) == "red"
        assert not db.scalar(sa.select(sa.func.count()).select_from(TimerJob).where(
            TimerJob.instance_id == case.instance_id, TimerJob.bpmn_id.in_(("yellow_timer", "red_timer")),
            TimerJob.status == "pending"))
    page = text(handler.get("/worklist?tab=group"))
    found = row.search(page)
    assert found and found.group(2) == "warn-red"  # the row turned red
    assert re.search(rf'id="task-{reply.id}".*?class="countdown overdue"', page, re.S)
    assert "演示时钟：" in page  # (set back to November: 已调慢)


def test_a_sleeping_scheduler_wakes_up_when_the_clock_moves(demo: Workspace, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            request: pytest.FixtureRequest) -> None:
    case = demo.dispatched("sthj")
    sign = demo.office.task(case, "sign_for", "sthj")
    assert sign.due_at is not None
    scheduler = app_on(tmp_path / "instance", runtime_of(demo.app).db.url.render_as_string(hide_password=False),
                       monkeypatch, serving=False, SCHEDULER_FALLBACK_WAKEUP_SECONDS=300)
    state = SchedulerState("sleeper")
    loop = threading.Thread(target=run_scheduler, args=(scheduler, state), name="sleeper", daemon=True)
    loop.start()

    def stop() -> None:
        state.stop.set()
        loop.join(timeout=30)
        runtime_of(scheduler).db.dispose()

    request.addfinalizer(stop)
    time.sleep(0.5)  # asleep now: nothing is due for a day of demo time, and it would sleep up to 300 s
    minutes = int((sign.due_at - runtime_of(demo.app).clock()).total_seconds() // 60) + 2
    moved = time.monotonic()
    url = runtime_of(demo.app).db.url.render_as_string(hide_password=False)  # the command wakes this database's
    assert hotline(tmp_path / "instance", "clock", "advance", f"{minutes}m", HOTLINE_DATABASE_URL=url).exit_code == 0
    while not demo.office.timers(case, "done").get("sign_late") and time.monotonic() - moved < 30:
        time.sleep(0.05)
    assert demo.office.timers(case, "done").get("sign_late"), "the sleeping scheduler did not see the clock move"
    assert time.monotonic() - moved < 30 and state.done >= 1  # PostgreSQL: NOTIFY; SQLite: its 0.25 s poll


# --- the 'holidays not entered' warning wherever such a deadline shows ---------------------------------------------

def test_a_deadline_in_a_year_without_a_holiday_notice_carries_the_warning_on_every_page(
        demo: Workspace, tmp_path: Path) -> None:
    assert hotline(tmp_path / "instance", "clock", "set", "2026-12-31T09:00+08:00").exit_code == 0  # Thursday
    dispatcher = demo.user("d1", "dispatcher")
    handler = demo.user("h.sthj", "handler", department="sthj")
    case = demo.dispatched("sthj")
    sign = demo.office.task(case, "sign_for", "sthj")
    assert sign.due_at is not None and sign.due_at.astimezone(BEIJING).date().isoformat() == "2027-01-01"
    warned = rf'class="calendar-warning">{NO_NOTICE}<'
    worklist = text(handler.get("/worklist?tab=group"))
    assert re.search(rf'id="task-{sign.id}".*?{warned}', worklist, re.S) and worklist.count(NO_NOTICE) == 1
    assert re.search(rf"办理时限.*?{warned}", text(handler.get(f"/tasks/{sign.id}")), re.S)
    case_page = text(dispatcher.get(f"/cases/{case.case_id}"))
    assert re.search(rf"当前待办.*?签收.*?{warned}", case_page, re.S)  # the open task's limit
    assert re.search(rf"工单时限.*?{warned}", case_page, re.S)  # the case's own (handling) limit, in 2027 too

    demo.office.complete(case, "sign_for", {"sign_decision": "sign"}, department="sthj")
    reply = demo.office.task(case, "reply", "sthj")
    assert re.search(rf'id="task-{reply.id}".*?{warned}', text(handler.get("/worklist?tab=group")), re.S)

    before = demo.dispatched("sthj")  # counted before the year turns: no warning on its rows
    assert hotline(tmp_path / "instance", "clock", "set", "2026-12-07T09:00+08:00").exit_code == 0
    early = demo.dispatched("sthj")
    rows = text(handler.get("/worklist?tab=group"))
    assert NO_NOTICE in rows and before.case_id
    assert not re.search(rf'id="task-{demo.office.task(early, "sign_for", "sthj").id}".*?</tr>', rows, re.S
                         ).group(0).count(NO_NOTICE)  # type: ignore[union-attr]
