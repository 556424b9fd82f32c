"""Deadlines and statuses that tell the truth, and a timeline that says what happened (issue 12, items 3 and 4).

Cases run through the product diagrams with the office's frozen clock (Wednesday 2026-11-25 09:00) on SQLite and
PostgreSQL; the pages are read as the office's roles read them. A finished stage shows its verdict (按时, or 超期
by how much), never a countdown; statuses follow each step; 初审, 派单, 审核 and 挂网 have limits from the SLA rules;
a moved timer moves the deadline shown and the light with it; exports write date-times; the timeline names each
decision with who and when, personal data masked.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import sqlalchemy as sa

from processes.reference.models import CaseDeadline
from processes.reference.models import Setting
from processes.runtime import commands
from processes.runtime import control
from processes.runtime.models import HistoryEvent
from tests.lifecycle_support import REPLY
from tests.lifecycle_support import at
from tests.web_support import login
from tests.web_support import post
from tests.workspace_support import DISPATCH
from tests.workspace_support import Workspace
from tests.workspace_support import text

SECOND = timedelta(seconds=1)
HANDLE_DUE = at("2026-12-02T23:59:59")  # a complaint signed for on Wed 11-25: 5 working days
CELL = re.compile(r'<td>(?P<stage>[^<]*)</td><td>(?P<unit>[^<]*)</td><td class="nowrap">(?P<due>[^<]*)</td>\s*'
                  r'<td class="nowrap"><span class="countdown (?P<css>[^"]*)"[^>]*>(?P<shown>[^<]*)</span>')


def stages(html: str) -> dict[str, tuple[str, str, str]]:
    """The case page's 时限 table: stage (and unit) → (due, css class, what it shows)."""
    table = html[html.index("<h3>时限</h3>"):html.index("<h3>当前待办</h3>")]
    return {f"{m['stage']}/{m['unit']}": (m["due"], m["css"], m["shown"]) for m in CELL.finditer(table)}


def panel_deadline(html: str) -> tuple[str, str]:
    """The 工单时限 line of the case panel: css class and text."""
    found = re.search(r'<dt>工单时限</dt><dd><span class="countdown ([^"]*)"[^>]*>([^<]*)</span>', html)
    assert found, "no 工单时限 on the page"
    return found.group(1).strip(), found.group(2)


def timeline(html: str) -> list[tuple[str, str, str]]:
    """The 办理过程 lines: (time, actor, step and detail as text)."""
    body = html[html.index("<h2>办理过程</h2>"):]
    line = r'<tr class="event-[a-z_]*"><td class="nowrap">([^<]*)</td><td>([^<]*)</td>\s*<td>(.*?)</td></tr>'
    rows = re.findall(line, body, re.S)
    return [(when, who, " ".join(re.sub(r"<[^>]+>", " ", what).split())) for when, who, what in rows]


def view(ws: Workspace, username: str, path: str) -> str:
    """A page as one of the people sees it, signed in afresh (moving the clock days ahead ends older sessions)."""
    client = ws.app.test_client()
    assert login(client, username).status_code == 302
    ws.clients[username] = client
    return text(client.get(path))


def people(ws: Workspace) -> None:
    """The office's people for these cases, with real names (the timeline shows them)."""
    ws.user("d1", "dispatcher", real_name="赵派单")
    ws.user("h1", "handler", department="sthj", real_name="李承办")
    ws.user("cb1", "callback", real_name="周回访")
    ws.user("ld1", "leader", real_name="陈领导")
    ws.user("sv1", "supervisor", real_name="吴督办")


def signed(ws: Workspace) -> commands.Started:
    """A phone complaint triaged, dispatched to 区生态环境分局 and signed for, by the people who do it."""
    case = ws.case(title="噪音", content="夜间施工噪音")
    ws.office.complete(case, "triage", DISPATCH, actor="d1")
    ws.office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "sthj"}, actor="d1")
    ws.office.complete(case, "sign_for", {"sign_decision": "sign"}, department="sthj", actor="h1")
    return case


def finish(ws: Workspace, case: commands.Started, callback: str = "satisfied") -> None:
    """Reply, review, call back and publish: the case ends archived."""
    ws.office.complete(case, "reply", REPLY, department="sthj", actor="h1")
    ws.office.complete(case, "review", {"review_result": "accept"}, actor="d1")
    ws.office.complete(case, "callback", {"callback_result": callback, "solved": True}, actor="cb1")
    ws.office.complete(case, "publish_review", {"publish": True, "public_reply": "已处理。"}, actor="d1")


def test_an_archived_case_done_late_shows_by_how_much_and_every_finished_stage_its_verdict(ws: Workspace) -> None:
    people(ws)
    case = signed(ws)
    ws.office.run_until(at("2026-12-04T03:00:00"))  # yellow, red and 督办 fire on the way
    ws.office.complete(case, "supervise", {"supervise_action": "urge", "supervision_note": "限当日答复"}, actor="sv1")
    finish(ws, case)
    assert ws.office.case(case).status == "archived"
    html = view(ws, "d1", f"/cases/{case.case_id}")
    assert panel_deadline(html) == ("late", "超期 1天3小时")  # replied 12-04 03:00, due 12-02 23:59:59
    shown = stages(html)
    assert shown["办理/区生态环境分局"] == ("2026-12-02 23:59", "late", "超期 1天3小时")
    for stage in ("初审/—", "派单/—", "签收/区生态环境分局", "审核/—", "回访/—", "挂网/—"):
        assert shown[stage][1:] == ("ontime", "按时"), stage
    assert ">剩余" not in html and "时限情况" in html  # nothing finished counts down
    assert 'data-remaining' not in html  # and the page script has nothing to tick


def test_a_case_replied_in_time_is_on_time_and_its_open_stages_still_count_down(ws: Workspace) -> None:
    people(ws)
    case = signed(ws)
    ws.office.run_until(at("2026-12-01T10:00:00"))  # yellow fired, not yet red
    ws.office.complete(case, "reply", REPLY, department="sthj", actor="h1")
    html = view(ws, "d1", f"/cases/{case.case_id}")
    assert panel_deadline(html) == ("ontime", "按时")
    assert stages(html)["办理/区生态环境分局"][1:] == ("ontime", "按时")
    due, css, running = stages(html)["审核/—"]  # the review waits: it counts down to the next working day
    assert due == "2026-12-02 23:59" and running.startswith("剩余") and "ontime" not in css


def test_statuses_follow_every_step_without_lag(ws: Workspace) -> None:
    people(ws)
    office = ws.office
    case = ws.case()
    assert office.case(case).status == "registered"
    office.complete(case, "triage", DISPATCH, actor="d1")
    assert office.case(case).status == "accepted"  # 已受理: waiting for 派单
    office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "zjj"}, actor="d1")
    assert office.case(case).status == "dispatched"
    office.complete(case, "sign_for", {"sign_decision": "return", "return_reason": "属环境执法职责"}, department="zjj",
                    actor="h1")
    assert office.case(case).status == "returned"
    office.complete(case, "return_review", {"return_decision": "accept_return", "new_department": "sthj"}, actor="d1")
    assert office.case(case).status == "dispatched"  # 改派: the new unit has it, it is no longer 已退单
    office.complete(case, "sign_for", {"sign_decision": "sign"}, department="sthj", actor="h1")
    assert office.case(case).status == "signed"
    office.complete(case, "reply", {"reply_action": "extend", "extension_days": 3, "extension_reason": "需第三方检测"},
                    department="sthj", actor="h1")
    assert office.case(case).status == "extension"
    office.complete(case, "extension_approval", {"extension_approved": True, "approved_days": 3}, actor="ld1")
    row = office.case(case)
    assert row.status == "signed" and row.deadline == at("2026-12-07T23:59:59")  # 延期中 ends, the new deadline
    office.complete(case, "reply", {"reply_action": "extend", "extension_days": 2, "extension_reason": "再等检测"},
                    department="sthj", actor="h1")
    office.complete(case, "extension_approval", {"extension_approved": False, "review_note": "不同意"}, actor="ld1")
    assert office.case(case).status == "signed"  # refused: back to handling on the same deadline
    office.complete(case, "reply", REPLY, department="sthj", actor="h1")
    assert office.case(case).status == "replied"
    office.complete(case, "review", {"review_result": "accept"}, actor="d1")
    assert office.case(case).status == "callback"
    office.complete(case, "callback", {"callback_result": "basically_satisfied", "solved": True}, actor="cb1")
    assert office.case(case).status == "closed"
    office.complete(case, "publish_review", {"publish": True, "public_reply": "已处理。"}, actor="d1")
    assert office.case(case).status == "archived"


def test_an_approved_extension_shows_the_new_deadline_on_the_case_and_the_worklist(ws: Workspace) -> None:
    people(ws)
    case = signed(ws)
    ws.office.complete(case, "reply", {"reply_action": "extend", "extension_days": 3, "extension_reason": "需检测"},
                       department="sthj", actor="h1")
    assert '<span class="badge">延期中</span>' in view(ws, "d1", f"/cases/{case.case_id}")
    ws.office.complete(case, "extension_approval", {"extension_approved": True, "approved_days": 3}, actor="ld1")
    html = view(ws, "d1", f"/cases/{case.case_id}")
    assert '<span class="badge">已签收</span>' in html and '<span class="badge">延期中</span>' not in html
    assert stages(html)["办理/区生态环境分局"][0] == "2026-12-07 23:59" and "已延期 3 个工作日" in html
    assert ws.office.task(case, "reply").due_at == at("2026-12-07T23:59:59")


def test_accepted_110_and_township_cases_leave_registered(ws: Workspace) -> None:
    people(ws)
    police = ws.case("case_110", "police110", upstream_order_id="JJ20261125001", urgency="urgent")
    assert ws.office.case(police).status == "registered"  # 待受理
    ws.office.complete(police, "accept_110", {"accepted": True}, actor="d1")
    assert ws.office.case(police).status == "accepted"
    assert ws.office.open_ids(police) == ["dispatch"]
    town = ws.case("case_township", "township")
    ws.office.complete(town, "district_review", {"township_accepted": True}, actor="d1")
    assert ws.office.case(town).status == "accepted"
    assert "已受理" in view(ws, "d1", f"/cases/{police.case_id}")


def test_triage_dispatch_review_and_publish_have_their_limits_from_the_sla_rules(ws: Workspace) -> None:
    people(ws)
    office = ws.office
    case = ws.case()  # Wednesday 09:00: the same working day, by closing time
    assert office.task(case, "triage").due_at == at("2026-11-25T17:30:00")
    office.complete(case, "triage", DISPATCH, actor="d1")
    assert office.task(case, "dispatch").due_at == at("2026-11-25T17:30:00")
    office.clock.now = at("2026-11-25T18:10:00")  # after closing: the next working day's
    late = ws.case()
    assert office.task(late, "triage").due_at == at("2026-11-26T17:30:00")
    office.clock.now = at("2026-11-28T10:00:00")  # a Saturday: Monday's
    weekend = ws.case()
    assert office.task(weekend, "triage").due_at == at("2026-11-30T17:30:00")
    office.clock.now = at("2026-11-25T09:00:00")
    office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "sthj"}, actor="d1")
    office.complete(case, "sign_for", {"sign_decision": "sign"}, department="sthj", actor="h1")
    office.complete(case, "reply", REPLY, department="sthj", actor="h1")
    assert office.task(case, "review").due_at == at("2026-11-26T23:59:59")  # the next working day
    office.complete(case, "review", {"review_result": "accept"}, actor="d1")
    office.complete(case, "callback", {"callback_result": "satisfied", "solved": True}, actor="cb1")
    assert office.task(case, "publish_review").due_at == at("2026-11-27T23:59:59")  # two working days
    worklist = view(ws, "d1", "/worklist?tab=group")
    assert "无时限" not in worklist and "初审（理件）" in worklist


def test_the_closing_time_is_a_setting_and_the_rule_a_row(ws: Workspace) -> None:
    with ws.office.rt.write() as db, db.begin():
        db.execute(sa.update(Setting).where(Setting.name == "office_closes_at").values(value="17:00"))
    case = ws.case()
    assert ws.office.task(case, "triage").due_at == at("2026-11-25T17:00:00")
    with ws.office.rt.read() as db:
        row = db.scalars(sa.select(CaseDeadline).where(CaseDeadline.case_id == case.case_id,
                                                       CaseDeadline.stage == "triage")).one()
    assert row.rule == "*/*/*/triage 1 workday_close"


def test_a_moved_timer_moves_the_deadline_shown_and_the_light_with_it(ws: Workspace) -> None:
    people(ws)
    case = signed(ws)
    ws.office.run_until(at("2026-12-01T03:00:00"))
    assert ws.office.case(case).warning_level == "yellow"
    control.reschedule_timers(ws.office.rt, case.instance_id, actor="ld1", reason="现场检测需要",
                              shift=timedelta(days=3))
    moved = at("2026-12-05T23:59:59")
    row = ws.office.case(case)
    assert (row.deadline, row.warning_level) == (moved, "none")  # 3 days left is no yellow
    assert ws.office.task(case, "reply").due_at == moved
    html = view(ws, "d1", f"/cases/{case.case_id}")
    assert stages(html)["办理/区生态环境分局"][0] == "2026-12-05 23:59"
    css, shown = panel_deadline(html)
    assert shown.startswith("剩余 4天") and css == "" and "badge warn-yellow" not in html  # no 黄灯 badge
    worklist = view(ws, "h1", "/worklist?tab=group")
    assert "warn-yellow" not in worklist and "warn-red" not in worklist
    ws.office.run_until(at("2026-12-03T00:00:00"))  # the old deadline passes: nothing turns red
    assert ws.office.case(case).warning_level == "none"
    ws.office.run_until(moved + SECOND)
    assert ws.office.case(case).warning_level == "red"
    css, shown = panel_deadline(view(ws, "d1", f"/cases/{case.case_id}"))
    assert (css, shown) == ("overdue", "超期 0分")


def test_a_deadline_moved_into_the_past_turns_red_at_once_and_the_page_agrees(ws: Workspace) -> None:
    people(ws)
    case = signed(ws)
    control.reschedule_timers(ws.office.rt, case.instance_id, actor="ld1", reason="上级要求提前办结",
                              new_due={"red_timer": at("2026-11-25T08:00:00")})
    row = ws.office.case(case)
    assert (row.deadline, row.warning_level) == (at("2026-11-25T08:00:00"), "red")
    assert panel_deadline(view(ws, "d1", f"/cases/{case.case_id}")) == ("overdue", "超期 1小时0分")


def test_the_export_writes_deadlines_as_date_times_and_verdicts(ws: Workspace) -> None:
    people(ws)
    running = signed(ws)
    late = signed(ws)
    ws.office.run_until(at("2026-12-04T03:00:00"))
    ws.office.complete(late, "supervise", {"supervise_action": "urge", "supervision_note": "催"}, actor="sv1")
    finish(ws, late)
    ws.user("lead1", "leader")
    response = post(ws.clients["lead1"], "/search/export", {"number": "DT"})
    rows = {r[0]: r for r in csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")))}
    header = rows.pop("工单编号")
    due, state = header.index("截止时间"), header.index("时限情况")
    number = {c: ws.office.case(c).number for c in (running, late)}
    assert (rows[number[late]][due], rows[number[late]][state]) == ("2026-12-02T23:59:59+08:00", "超期 1天3小时")
    assert (rows[number[running]][due], rows[number[running]][state]) == ("2026-12-02T23:59:59+08:00",
                                                                            "超期 1天3小时")  # open and overdue now
    html = text(post(ws.clients["lead1"], "/search", {"number": "DT"}))
    assert "超期 1天3小时" in html and ">剩余" not in html


def test_the_callback_result_shows_on_the_case(ws: Workspace) -> None:
    people(ws)
    for result, shown in (("satisfied", "满意"), ("basically_satisfied", "基本满意")):
        case = signed(ws)
        finish(ws, case, result)
        html = view(ws, "d1", f"/cases/{case.case_id}")
        assert f'<dt>回访结果</dt><dd class="callback-result">{shown}</dd>' in html
    unhappy = signed(ws)
    ws.office.complete(unhappy, "reply", REPLY, department="sthj", actor="h1")
    ws.office.complete(unhappy, "review", {"review_result": "accept"}, actor="d1")
    ws.office.complete(unhappy, "callback", {"callback_result": "unsatisfied", "solved": False,
                                             "unsatisfied_reason": "subjective", "unsatisfied_decision": "rehandle"},
                       actor="cb1")
    html = view(ws, "h1", f"/cases/{unhappy.case_id}")
    assert '<dd class="callback-result">不满意</dd>' in html and ws.office.case(unhappy).status == "rehandle"


def test_the_timeline_says_what_each_step_decided_with_actor_and_time(ws: Workspace) -> None:
    people(ws)
    office = ws.office
    case = ws.case()
    office.complete(case, "triage", DISPATCH, actor="d1")
    office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "zjj"}, actor="d1")
    office.complete(case, "sign_for", {"sign_decision": "return", "return_reason": "属环境执法职责，建议生态环境分局"},
                    department="zjj", actor="h1")
    office.complete(case, "return_review", {"return_decision": "accept_return", "new_department": "sthj",
                                            "review_note": "同意改派"}, actor="d1")
    office.complete(case, "sign_for", {"sign_decision": "sign"}, department="sthj", actor="h1")
    office.clock.now = at("2026-11-26T10:00:00")
    office.complete(case, "reply", {"reply_action": "extend", "extension_days": 3, "extension_reason": "需第三方检测"},
                    department="sthj", actor="h1")
    office.complete(case, "extension_approval", {"extension_approved": True, "approved_days": 3,
                                                 "review_note": "同意"}, actor="ld1")
    office.complete(case, "reply", REPLY, department="sthj", actor="h1")
    office.complete(case, "review", {"review_result": "nonstandard", "review_note": "未写明处理结果"}, actor="d1")
    office.complete(case, "reply", REPLY, department="sthj", actor="h1")
    office.complete(case, "review", {"review_result": "accept"}, actor="d1")
    office.complete(case, "callback", {"callback_result": "satisfied", "solved": True,
                                       "callback_note": "诉求人表示满意"}, actor="cb1")
    office.clock.now = at("2026-11-26T11:00:00")
    office.complete(case, "publish_review", {"publish": True, "public_reply": "已处理。"}, actor="d1")
    lines = timeline(view(ws, "d1", f"/cases/{case.case_id}"))
    said = "\n".join(f"{when} {who} {what}" for when, who, what in lines)
    for expected in (
            "2026-11-25 09:00:00 赵派单 初审（理件） 诉求类型：投诉；紧急程度：一般；初审结论：派单办理",
            "赵派单 受理 工单状态：已受理",
            "赵派单 派单 派单方式：部门交办；主办单位：区住建局",
            "李承办 签收 签收或退单：退单；退单理由：属环境执法职责，建议生态环境分局",
            "赵派单 退单审核 审核结论：同意退单并改派；改派单位：区生态环境分局；审核意见：同意改派",
            "2026-11-26 10:00:00 李承办 办理答复 操作：申请延期；申请延期（工作日）：3；延期理由及依据：需第三方检测",
            "陈领导 延期审批 是否同意延期：是；批准延期（工作日）：3；审批意见：同意",
            "陈领导 延期 办理时限顺延 3 个工作日：2026-12-02 23:59 → 2026-12-07 23:59（区生态环境分局）",
            "赵派单 审核 审核结论：答复不规范，发回；审核意见：未写明处理结果",
            "周回访 第 1 次回访（核实） 回访结果：满意；是否解决：是；回访记录：诉求人表示满意",
            "周回访 办结 工单状态：已办结",
            "2026-11-26 11:00:00 赵派单 挂网审核 是否挂网：是；公开答复内容：已处理。",
            "赵派单 挂网 工单状态：已挂网",
            "赵派单 归档 工单状态：已归档"):
        assert expected in said, f"{expected!r} not in\n{said}"
    assert "填写了" not in said
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", when) and who for when, who, _ in lines)


def test_personal_data_in_timeline_texts_is_masked_like_the_rest_of_the_case(ws: Workspace) -> None:
    people(ws)
    case = ws.case(title="噪音")
    ws.office.complete(case, "triage", DISPATCH, actor="d1")
    ws.office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "zjj"}, actor="d1")
    reason = "已电话联系王小明（13912345678，身份证 11010119900307123X），住洞头区北岙街道中心街88号，非本单位职责"
    ws.office.complete(case, "sign_for", {"sign_decision": "return", "return_reason": reason}, department="zjj",
                       actor="h1")
    operator = ws.user("op9", "operator")
    seen = "\n".join(w for _, _, w in timeline(text(operator.get(f"/cases/{case.case_id}"))))
    assert "139****5678" in seen and "110***********123X" in seen and "王**" in seen and "洞头区北岙街****" in seen
    for secret in ("13912345678", "11010119900307123X", "王小明", "中心街88号"):
        assert secret not in text(operator.get(f"/cases/{case.case_id}")), secret
    with ws.office.rt.read() as db:  # the history keeps the decision, never the text
        detail = db.scalar(sa.select(HistoryEvent.detail).where(HistoryEvent.case_id == case.case_id,
                                                                HistoryEvent.bpmn_id == "sign_for"))
    assert detail == {"values": {"sign_decision": "return"}}


def remaining(html: str) -> int:
    """The seconds the case panel's 工单时限 counts down from."""
    found = re.search(r'<dt>工单时限</dt><dd><span [^>]*data-remaining="(\d+)"', html)
    assert found, "no countdown in 工单时限"
    return int(found.group(1))


def test_a_case_waiting_for_its_unit_shows_the_signing_deadline_not_none(ws: Workspace) -> None:
    people(ws)
    office = ws.office
    case = ws.case(title="噪音", content="夜间施工噪音")
    page = view(ws, "d1", f"/cases/{case.case_id}")
    assert panel_deadline(page)[1].startswith("剩余") and "初审时限" in page  # 初审 counts down before dispatch
    office.complete(case, "triage", DISPATCH, actor="d1")
    office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "sthj"}, actor="d1")
    sign = office.task(case, "sign_for")
    assert sign.due_at is not None
    for who in ("h1", "d1"):  # the unit and the office read the same
        page = view(ws, who, f"/cases/{case.case_id}")
        shown = panel_deadline(page)[1]
        assert shown != "无时限" and shown.startswith("剩余"), shown
        assert remaining(page) == int((sign.due_at - office.clock()).total_seconds())
        assert "签收时限；办理时限自签收起算" in page
    office.complete(case, "sign_for", {"sign_decision": "sign"}, department="sthj", actor="h1")
    page = view(ws, "h1", f"/cases/{case.case_id}")
    assert remaining(page) == int((HANDLE_DUE - office.clock()).total_seconds()) and "签收时限；" not in page
