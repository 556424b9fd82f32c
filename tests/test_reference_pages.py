"""Reference data pages (基础数据, issue 15): who may change what, Chinese refusals (400), stale forms (409), audit rows
with before and after, and deadline changes whose dry run counts what applying then moves (SQLite, PostgreSQL)."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask.testing import FlaskClient

from processes.cases.models import Case
from processes.reference.models import CalendarYear
from processes.reference.models import Department
from processes.reference.models import SlaRule
from tests.admin_support import sign_in
from tests.lifecycle_support import at
from tests.web_support import audit_rows
from tests.workspace_support import Workspace
from tests.workspace_support import post_form
from tests.workspace_support import text

NOTICE_2027 = {"year": "2027", "notice": "国办发明电\u30142026\u3015测试号",
               "holidays": "2027-01-01~2027-01-03 元旦\n2027-02-06\uff5e2027-02-13 春节\n2027-10-01至2027-10-07 国庆节",
               "makeups": "2027-02-20\n2027-10-09 国庆调休"}
VERSION_RE = re.compile(r'name="version" value="([0-9a-f]+)"')
DRY_RUN_RE = re.compile(r'data-cases="(\d+)" data-timers="(\d+)" data-rows="(\d+)"')


def stamp(client: FlaskClient, page: str) -> str:
    """Return the data version a page's first form carries."""
    found = VERSION_RE.search(text(client.get(page)))
    assert found, page
    return found.group(1)


def sysadmin(ws: Workspace) -> FlaskClient:
    """The system administrator, signed in with the second factor."""
    return sign_in(ws.app, ws.office.clock, "admin1", "sysadmin")


def handled(ws: Workspace, lead: str) -> str:
    """A complaint dispatched to a unit and signed for: its handling deadline (5 working days) runs."""
    case = ws.dispatched(lead)
    ws.office.complete(case, "sign_for", {"sign_decision": "sign"}, department=lead)
    return case.case_id


def year_end_case(ws: Workspace) -> str:
    """A complaint signed for on Monday 2026-12-28: its handling deadline falls in the first week of 2027."""
    ws.office.clock.now = at("2026-12-28T10:00:00")
    return handled(ws, "sthj")


def deadline(ws: Workspace, case_id: str) -> object:
    """The case's deadline as stored."""
    with ws.office.rt.read() as db:
        return db.scalar(sa.select(Case.deadline).where(Case.id == case_id))


def test_roles_read_and_own_their_kinds(ws: Workspace) -> None:
    dispatcher = ws.user("d1", "dispatcher")
    handler = ws.user("h1", "handler", department="sthj")
    leader = ws.user("dl1", "duty_leader")
    assert dispatcher.get("/reference/calendar?year=2026").status_code == 200
    assert dispatcher.get("/reference/sla").status_code == 200
    assert handler.get("/reference/").status_code == 403  # a unit's people do not keep office data
    refused = post_form(dispatcher, "/reference/calendar/day", {"day": "2026-12-31", "kind": "holiday",
                                                               "version": "x"}, page="/reference/sla")
    assert refused.status_code == 403
    assert post_form(leader, "/reference/sla/save", {"version": "x"}, page="/reference/").status_code == 403
    assert post_form(sysadmin(ws), "/reference/catalogue/save", {"version": "x"}, page="/reference/").status_code == 403
    assert 'href="/reference/"' in text(dispatcher.get("/"))  # the nav entry 基础数据


def test_entering_2027_moves_open_deadlines_as_the_dry_run_said(ws: Workspace) -> None:
    case_id = year_end_case(ws)
    assert deadline(ws, case_id) == at("2027-01-04T23:59:59")  # Mon-Fri: 1/1 counted as a working day
    admin = sysadmin(ws)
    page = text(admin.get("/reference/calendar?year=2027"))
    assert 'data-entered="false"' in page and 'data-missing-years="2027"' in page  # the office banner
    form = {**NOTICE_2027, "version": stamp(admin, "/reference/calendar?year=2027")}
    dry = post_form(admin, "/reference/calendar/notice", form, page="/reference/")
    assert dry.status_code == 200
    cases, timers, _rows = map(int, DRY_RUN_RE.search(text(dry)).groups())  # type: ignore[union-attr]
    assert cases >= 1 and timers >= 1 and "2027-01-05 23:59" in text(dry)
    with ws.office.rt.read() as db:
        assert db.get(CalendarYear, 2027) is None  # a dry run writes nothing
    done = post_form(admin, "/reference/calendar/notice", {**form, "step": "apply"}, page="/reference/",
                     follow_redirects=True)
    assert f"已重排 {cases} 件在办工单的时限（移动定时器 {timers} 个）" in text(done)
    assert deadline(ws, case_id) == at("2027-01-05T23:59:59")
    assert 'data-missing-years' not in text(admin.get("/reference/calendar?year=2027"))
    row = audit_rows(ws.app, "reference.calendar")[-1]
    assert (row["actor"], row["object_id"], row["before"]) == ("admin1", "calendar:2027", None)
    assert row["after"]["notice"] == NOTICE_2027["notice"]
    moved = audit_rows(ws.app, "deadlines.reschedule")[-1]["after"]
    assert (moved["cases"], moved["timers"]) == (cases, timers)
    again = post_form(admin, "/reference/calendar/notice", {**form, "step": "apply"}, page="/reference/")
    assert again.status_code == 409 and "数据已被他人修改" in text(again)  # the version the form carried is gone


def test_one_day_changes_and_refusals_in_chinese(ws: Workspace) -> None:
    admin = sysadmin(ws)
    version = stamp(admin, "/reference/calendar?year=2026&day=2026-12-31")
    bad = post_form(admin, "/reference/calendar/day", {"day": "2026-12-30", "kind": "makeup", "version": version},
                    page="/reference/")
    assert bad.status_code == 400 and "调休上班只能设在周六或周日" in text(bad)
    missing = post_form(admin, "/reference/calendar/day", {"day": "2027-01-04", "kind": "holiday", "version": "0"},
                        page="/reference/")
    assert missing.status_code == 400 and "2027 年的节假日安排尚未录入" in text(missing)
    lines = post_form(admin, "/reference/calendar/notice", {**NOTICE_2027, "holidays": "元旦放三天", "version": "0"},
                      page="/reference/")
    assert lines.status_code == 400 and "无法识别“元旦放三天”" in text(lines)
    holiday = {"day": "2026-12-31", "kind": "holiday", "reason": "跨年", "version": version, "step": "apply"}
    assert post_form(admin, "/reference/calendar/day", holiday, page="/reference/").status_code == 303
    assert 'data-day="2026-12-31" title="跨年"' in text(admin.get("/reference/calendar?year=2026"))
    row = audit_rows(ws.app, "reference.calendar")[-1]
    assert (row["before"], row["after"]) == ({"is_workday": True, "reason": "工作日"},
                                             {"is_workday": False, "reason": "跨年"})
    assert audit_rows(ws.app, "reference.calendar")[0]["result"] == "failure"  # the refusals are audited too


def test_a_rule_change_dry_run_counts_what_apply_moves(ws: Workspace) -> None:
    first, second = year_end_case(ws), handled(ws, "zjj")
    admin = sysadmin(ws)
    with ws.office.rt.read() as db:
        rule = db.scalars(sa.select(SlaRule).where(SlaRule.stage == "handle", SlaRule.source == "*",
                                                   SlaRule.request_type == "complaint")).one()
    values = {"id": str(rule.id), "source": "*", "request_type": "complaint", "urgency": "normal", "complexity": "*",
              "stage": "handle", "amount": "7", "unit": "workdays", "note": "投诉：7个工作日",
              "version": stamp(admin, f"/reference/sla?edit={rule.id}")}
    dry = text(post_form(admin, "/reference/sla/save", values, page="/reference/"))
    counts = DRY_RUN_RE.search(dry).groups()  # type: ignore[union-attr]
    done = post_form(admin, "/reference/sla/save", {**values, "step": "apply"}, page="/reference/",
                     follow_redirects=True)
    assert f"已重排 {counts[0]} 件在办工单的时限（移动定时器 {counts[1]} 个）" in text(done)
    assert int(counts[0]) == 2 and deadline(ws, first) == deadline(ws, second) == at("2027-01-06T23:59:59")
    row = audit_rows(ws.app, "reference.sla")[-1]
    assert (row["before"]["amount"], row["after"]["amount"]) == ("5", "7")


def test_rule_set_and_unit_checks_answer_400(ws: Workspace) -> None:
    admin = sysadmin(ws)
    with ws.office.rt.read() as db:
        catch_all = db.scalars(sa.select(SlaRule.id).where(SlaRule.stage == "sign_for", SlaRule.source == "*",
                                                           SlaRule.request_type == "*", SlaRule.urgency == "*")).one()
    gone = post_form(admin, f"/reference/sla/{catch_all}/delete", {"version": stamp(admin, "/reference/sla")},
                     page="/reference/")
    assert gone.status_code == 400 and "环节 sign_for 必须保留一条兜底规则" in text(gone)
    zero = post_form(admin, "/reference/sla/save", {"id": "new", "source": "phone", "request_type": "*",
                                                    "urgency": "*", "complexity": "*", "stage": "handle",
                                                    "amount": "0", "unit": "workdays", "version": "0"},
                     page="/reference/")
    assert zero.status_code == 400 and "时限数量须为大于 0 的整数" in text(zero)
    version = stamp(admin, "/reference/departments?edit=sthj")
    retire = {"original": "sthj", "name": "区生态环境分局", "kind": "department", "township": "", "version": version}
    refused = post_form(admin, "/reference/departments/save", retire, page="/reference/")
    assert refused.status_code == 400 and "派单目录仍派单给 sthj" in text(refused)
    with ws.office.rt.read() as db:
        assert db.get(Department, "sthj").active  # type: ignore[union-attr]
    new = {"original": "", "code": "wlj", "name": "区文旅局", "kind": "department", "township": "", "active": "1",
           "sms_target": "sms:13800001234", "version": version}
    assert post_form(admin, "/reference/departments/save", new, page="/reference/").status_code == 303
    row = audit_rows(ws.app, "reference.departments")[-1]
    assert row["after"]["sms_target"] == "sms:*******1234" and row["before"] is None  # no phone number in the trail
    version = stamp(admin, "/reference/departments?edit=new")
    taken = post_form(admin, "/reference/departments/save", {**new, "version": version}, page="/reference/")
    assert taken.status_code == 400 and "代码 wlj 已被使用" in text(taken)


def test_settings_and_the_catalogue(ws: Workspace) -> None:
    admin = sysadmin(ws)
    leader = ws.user("dl1", "duty_leader")
    share = post_form(admin, "/reference/settings/yellow_share", {"value": "2", "version": "0"}, page="/reference/")
    assert share.status_code == 400 and "须为 0 到 1 之间的小数" in text(share)
    late = post_form(admin, "/reference/settings/office_opens_at", {"value": "18:00", "version": "0"},
                     page="/reference/")
    assert late.status_code == 400 and "上班时间必须早于下班时间" in text(late)
    assert post_form(admin, "/reference/settings/nonsense", {"value": "1"}, page="/reference/").status_code == 404
    line = {"id": "new", "category": "文旅市场", "township": "*", "lead": "scjg", "assisting": "scjg",
            "note": "", "version": stamp(leader, "/reference/catalogue?edit=new")}
    repeat = post_form(leader, "/reference/catalogue/save", line, page="/reference/")
    assert repeat.status_code == 400 and "协办单位重复，或与主办单位相同" in text(repeat)
    ok = post_form(leader, "/reference/catalogue/save", {**line, "assisting": "zhzf"}, page="/reference/",
                   follow_redirects=True)
    assert "文旅市场" in text(ok)
    row = audit_rows(ws.app, "reference.catalogue")[-1]
    assert (row["actor"], row["after"]["lead"], row["after"]["assisting"]) == ("dl1", "scjg", "zhzf")
