"""Reference pages in Chromium (基础数据, issue 15): a duty leader edits the roster and the next 110 hand-over at night
goes to the new person on duty; the system administrator enters 2027's holidays on the calendar page, the dry run
lists the open case whose deadline moves, and applying says how many cases moved. The live server is shared, so
the test uses its own people, day and case, and puts the roster day and the 2027 calendar back afterwards.
The calendar is saved beside the test (and to docs/screenshots/calendar.png with HOTLINE_SCREENSHOTS=1).
"""

from __future__ import annotations

import re
from datetime import date
from datetime import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser
from playwright.sync_api import Page
from playwright.sync_api import expect

from handlers.reference.reschedule import reschedule_open_deadlines
from processes.accounts import totp
from processes.cases.models import Case
from processes.reference.models import CalendarDay
from processes.reference.models import CalendarYear
from processes.reference.models import DutyRoster
from processes.runtime import commands
from processes.runtime.models import HumanTask
from tests.admin_support import enrol_totp
from tests.browser.conftest import LiveServer
from tests.browser.conftest import login
from tests.browser.test_deadline_verdicts import complete
from tests.browser.test_deadline_verdicts import shot
from tests.lifecycle_support import at
from tests.web_support import add_user
from webapp import runtime_of

pytestmark = pytest.mark.browser
NIGHT = date(2026, 12, 16)  # a Wednesday: only its night is duty time


def new_page(browser: Browser, live_server: LiveServer) -> Page:
    """A page of a fresh context on the live server."""
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 1360, "height": 900})
    return context.new_page()


def test_a_duty_leader_edits_the_roster_and_the_night_110_case_follows(browser: Browser,
                                                                         live_server: LiveServer) -> None:
    app, rt = live_server.app, runtime_of(live_server.app)
    live_server.clock.now = at("2026-12-16T20:30:00")
    for username, role, name in (("rp.dl", "duty_leader", "韩值班长"), ("rp.na", "dispatcher", "夜班甲"),
                                 ("rp.nb", "dispatcher", "夜班乙")):
        add_user(app, username, role, real_name=name)
    with rt.write() as db, db.begin():
        db.execute(sa.delete(DutyRoster).where(DutyRoster.day == NIGHT, DutyRoster.role == "dispatcher"))
        db.add_all([DutyRoster(day=NIGHT, role="dispatcher", username="rp.na", shift_start=time(0),
                               shift_end=time(8, 30)),
                    DutyRoster(day=NIGHT, role="dispatcher", username="rp.na", shift_start=time(17, 30),
                               shift_end=time(8, 30))])
    try:
        page = new_page(browser, live_server)
        login(page, "rp.dl")
        page.goto("/reference/roster?month=2026-12")
        cell = page.locator(f"td[data-day='{NIGHT.isoformat()}']")
        expect(cell.locator("[data-user='rp.na']")).to_have_count(2)
        with page.expect_navigation():
            cell.get_by_role("link", name="排班").click()
        page.locator("select[name=username]").nth(1).select_option("rp.nb")  # the evening-to-morning shift
        with page.expect_navigation():
            page.get_by_role("button", name="保存排班").click()
        expect(page.locator(".flash-success")).to_contain_text("已保存")
        expect(page.locator(f"td[data-day='{NIGHT.isoformat()}'] [data-user='rp.nb']")).to_have_count(1)
        expect(page.locator("[data-duty-role='dispatcher'] strong")).to_have_text("夜班乙")  # on duty now

        live_server.clock.now = at("2026-12-16T20:40:00")
        case = commands.open_case(rt, "case_110", {"request_type": "help", "urgency": "urgent", "township": "luxi",
                                                   "category": "市政设施", "content": "井盖缺失", "upstream_order_id":
                                                   "110-20261216-0900"}, actor="rp.na", channel="police110")
        with rt.read() as db:
            assignee = db.scalar(sa.select(HumanTask.assignee).where(HumanTask.case_id == case.case_id,
                                                                     HumanTask.bpmn_id == "accept_110"))
        assert assignee == "rp.nb"
        page.context.close()
    finally:
        with rt.write() as db, db.begin():
            db.execute(sa.delete(DutyRoster).where(DutyRoster.day == NIGHT, DutyRoster.role == "dispatcher"))


def test_2027_holidays_entered_on_the_calendar_move_an_open_deadline(browser: Browser, live_server: LiveServer,
                                                                      tmp_path: Path) -> None:
    app, rt = live_server.app, runtime_of(live_server.app)
    live_server.clock.now = at("2026-12-28T10:00:00")
    add_user(app, "rp.disp", "dispatcher", real_name="钱派单")
    add_user(app, "rp.sthj", "handler", department="sthj", real_name="孙承办")
    add_user(app, "rp.admin", "sysadmin", real_name="系统管理员")
    secret = enrol_totp(app, "rp.admin")
    case = commands.open_case(rt, "case_phone", {
        "request_type": "complaint", "urgency": "normal", "township": "luxi", "category": "噪音扰民",
        "requester_name": "陈先生", "requester_phone": "13957766001", "title": "跨年施工噪音",
        "content": "元旦前后夜间施工"}, actor="rp.disp", channel="phone")
    complete(rt, case, "triage", {"request_type": "complaint", "urgency": "normal", "triage_result": "dispatch"},
             "rp.disp")
    complete(rt, case, "dispatch", {"dispatch_mode": "department", "lead_department": "sthj"}, "rp.disp")
    complete(rt, case, "sign_for", {"sign_decision": "sign"}, "rp.sthj")
    with rt.read() as db:
        assert db.scalar(sa.select(Case.deadline).where(Case.id == case.case_id)) == at("2027-01-04T23:59:59")
    try:
        page = new_page(browser, live_server)
        login(page, "rp.admin")
        page.fill("input[name=code]", totp.code_at(secret, live_server.clock()))
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        live_server.clock.advance(seconds=30)
        page.goto("/reference/calendar?year=2027")
        expect(page.locator(".calendar-banner")).to_contain_text("2027")
        page.fill("#notice", "国办发明电（测试）2027年节假日")
        page.fill("#holidays", "2027-01-01~2027-01-03 元旦\n2027-02-06~2027-02-13 春节\n2027-10-01~2027-10-07 国庆节")
        page.fill("#makeups", "2027-02-20\n2027-10-09")
        with page.expect_navigation():
            page.locator("#notice-form button[type=submit]").click()
        dry = page.locator(".dry-run")
        expect(dry).to_contain_text("应用后将移动")
        expect(page.locator(f"tr[data-move='{case.case_number}']").first).to_contain_text("2027-01-05 23:59")
        cases = int(dry.get_attribute("data-cases") or "0")
        assert cases >= 1
        with page.expect_navigation():
            page.get_by_role("button", name="确认应用").click()
        expect(page.locator(".flash-success").last).to_have_text(re.compile(rf"已重排 {cases} 件在办工单的时限"))
        expect(page.locator(".calendar-banner")).to_have_count(0)
        expect(page.locator("td[data-day='2027-02-08']")).to_have_class(re.compile("holiday"))
        expect(page.locator("td[data-day='2027-02-20']")).to_have_class(re.compile("makeup"))
        with rt.read() as db:
            assert db.scalar(sa.select(Case.deadline).where(Case.id == case.case_id)) == at("2027-01-05T23:59:59")
        page.goto("/reference/calendar?year=2027&day=2027-02-06")
        shot(page, tmp_path, "calendar.png")
        page.context.close()
    finally:  # the shared server goes back to a 2027 without a notice, and its open deadlines with it
        with rt.write() as db, db.begin():
            db.execute(sa.delete(CalendarDay).where(CalendarDay.day >= date(2027, 1, 1),
                                                    CalendarDay.day <= date(2027, 12, 31)))
            db.execute(sa.delete(CalendarYear).where(CalendarYear.year == 2027))
        reschedule_open_deadlines(rt, reason="browser test: 2027 notice removed again")
