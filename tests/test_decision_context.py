"""Decision screens (决策信息): each task form shows, above its fields, what is being decided and prefills what can be.

Cases reach each task through the real lifecycle (the product diagrams, the runtime's commands); the pages are
the web app's, signed in as the office's roles. Free text keeps the case page's masking: numbers masked unless
the user holds a contact task, the requester's identity hidden from a unit when confidential, and a public reply
prefilled without any phone or ID number.
"""

from __future__ import annotations

import html as htmllib
import io
import re
from typing import Any

import pytest
import sqlalchemy as sa

from handlers import routing
from processes.cases.models import Case
from processes.reference.models import CaseDeadline
from processes.runtime import commands
from processes.runtime.models import HumanTask
from tests.lifecycle_support import REPLY
from tests.lifecycle_support import ROOT
from tests.lifecycle_support import at
from tests.workspace_support import DISPATCH
from tests.workspace_support import FULL_PHONE
from tests.workspace_support import Workspace
from tests.workspace_support import post_form
from tests.workspace_support import text
from webapp.tasks.decision import SCREENS
from webapp.tasks.page import NO_NUMBERS
from webapp.timefmt import LOCAL

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
CITIZEN_PHONE = "13900001234"
ID_NUMBER = "11010119900307123X"


def page_of(client: Any, task: HumanTask) -> str:
    """GET a task page and return its HTML (failing on anything but 200)."""
    response = client.get(f"/tasks/{task.id}")
    assert response.status_code == 200, text(response)[:500]
    return text(response)


def decision_of(html: str) -> str:
    """Return the decision section of a task page as plain text (tags dropped, entities resolved)."""
    found = re.search(r'<section class="decision".*?</section>', html, re.S)
    assert found is not None, "no decision context on the page"
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(0))))


def blocks_of(html: str) -> dict[str, str]:
    """Return the decision context's blocks as plain text, by the first word of their heading."""
    found = {}
    for block in re.findall(r'<article class="decision-block">.*?</article>', html, re.S):
        plain = htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", block))).strip()
        found[plain.split(" ", 1)[0]] = plain
    return found


def textarea(html: str, name: str) -> str:
    """Return what a textarea of the form starts with."""
    found = re.search(rf'<textarea id="f-{name}" name="{name}"[^>]*>(.*?)</textarea>', html, re.S)
    assert found is not None, name
    return htmllib.unescape(found.group(1))


def selected(html: str, name: str) -> str | None:
    """Return the selected option of a select of the form."""
    block = re.search(rf'<select id="f-{name}" name="{name}".*?</select>', html, re.S)
    assert block is not None, name
    chosen = re.search(r'<option value="([^"]*)" selected>', block.group(0))
    return chosen.group(1) if chosen else None


def checked(html: str, name: str) -> list[str]:
    """Return the ticked values of radio buttons or checkboxes of the form."""
    return re.findall(rf'name="{name}" value="([^"]*)" checked', html)


def replied(ws: Workspace, unit: str = "sthj", **intake: Any) -> Any:
    """A phone case dispatched to one unit, signed for and replied to: its 审核 task waits."""
    case = ws.dispatched(unit, township="beiao", **intake)
    ws.office.complete(case, "sign_for", {"sign_decision": "sign"})
    ws.office.complete(case, "reply", REPLY)
    return case


def claim(ws: Workspace, task: HumanTask, username: str) -> None:
    """Claim a task for a user (a contact task held shows the requester's numbers)."""
    with ws.office.rt.write() as db, db.begin():
        db.execute(sa.update(HumanTask).where(HumanTask.id == task.id).values(assignee=username))


def test_every_decision_screen_is_registered_for_an_existing_form() -> None:
    forms = {p.name for p in ROOT.glob("bpmn/*/forms/*.schema.json")}
    assert set(SCREENS) <= forms
    for form in ("review.schema.json", "return_review.schema.json", "extension_approval.schema.json",
                 "reply.schema.json", "dispatch.schema.json", "publish.schema.json", "upward_check.schema.json"):
        assert form in SCREENS, form


def test_dispatch_shows_the_catalogue_suggestion_with_its_rule_and_preselects_it(ws: Workspace) -> None:
    dispatcher = ws.user("d1", "dispatcher", real_name="张派单")
    case = ws.case(township="beiao", category="噪音扰民")
    ws.office.complete(case, "triage", DISPATCH)
    with ws.office.rt.read() as db:
        expected = routing.suggest(db, "噪音扰民", "beiao")
    assert expected["lead"], "the seeded 派单目录 has a rule for 噪音扰民"
    html = page_of(dispatcher, ws.office.task(case, "dispatch"))
    shown = decision_of(html)
    assert "派单目录建议" in shown and f"建议主办单位 {expected['lead_name']}" in shown
    for name in expected["assisting_names"]:
        assert name in shown
    assert "诉求类别「噪音扰民」" in shown and "乡镇街道「任意」" in shown  # the rule as the catalogue has it
    assert "按诉求类别「噪音扰民」匹配" in shown and "施工、商业、社会生活噪音" in shown  # why, and the rule's note
    assert checked(html, "dispatch_mode") == ["department"]
    assert selected(html, "lead_department") == expected["lead"]
    assert sorted(checked(html, "assisting_departments")) == sorted(expected["assisting"])
    done = post_form(dispatcher, f"/tasks/{ws.office.task(case, 'dispatch').id}",
                     {"dispatch_mode": "department", "lead_department": expected["lead"],
                      "assisting_departments": expected["assisting"]})
    assert done.status_code == 303
    assert sorted(t.department or "" for t in ws.office.tasks(case.case_id)) == sorted(
        [expected["lead"], *expected["assisting"]])


def test_dispatch_without_a_matching_rule_says_so_and_preselects_nothing(ws_lite: Workspace) -> None:
    dispatcher = ws_lite.user("d1", "dispatcher")
    case = ws_lite.case(township="beiao", category="不在目录里的类别")
    ws_lite.office.complete(case, "triage", DISPATCH)
    with ws_lite.office.rt.read() as db:
        fallback = routing.suggest(db, "不在目录里的类别", "beiao")
    html = page_of(dispatcher, ws_lite.office.task(case, "dispatch"))
    if fallback["lead"] is None:
        assert "派单目录没有匹配的规则" in decision_of(html) and selected(html, "lead_department") is None
    else:  # the catalogue has a catch-all rule: it is shown as such
        assert "通用规则" in decision_of(html) or "任意" in decision_of(html)


def test_review_shows_the_reply_under_review_with_who_when_and_files(ws: Workspace) -> None:
    dispatcher = ws.user("d1", "dispatcher")
    handler = ws.user("h1", "handler", department="sthj", real_name="李承办")
    case = ws.dispatched("sthj", township="beiao")
    ws.office.complete(case, "sign_for", {"sign_decision": "sign"})
    reply = ws.office.task(case, "reply")
    typed = {**{k: ("true" if v is True else v) for k, v in REPLY.items()},
             "reply_text": f"已责令停工，施工方负责人电话 {CITIZEN_PHONE}。",
             "public_reply": "经核查，已责令夜间停工。"}
    done = post_form(handler, f"/tasks/{reply.id}", {**typed, "attachments": (io.BytesIO(PNG), "整改照片.png")},
                     content_type="multipart/form-data")
    assert done.status_code == 303, text(done)[:500]
    html = page_of(dispatcher, ws.office.task(case, "review"))
    shown = decision_of(html)
    assert "待审核的答复" in shown and "区生态环境分局的答复" in shown and "主办" in shown
    assert "李承办 · 2026-11-25 09:00" in shown  # who replied and when (Beijing time)
    assert "已责令停工" in shown and "经核查，已责令夜间停工。" in shown and "电话联系诉求人" in shown
    assert "是否已解决 是" in shown
    assert CITIZEN_PHONE not in html and "139****1234" in shown  # the reviewer holds no contact task
    assert "整改照片.png" in shown and f"/cases/{case.case_id}/attachments/" in html
    assert html.index('class="decision"') < html.index('name="review_result"')  # above the fields


def test_dispatch_after_a_leaders_instruction_shows_the_instruction(ws_lite: Workspace) -> None:
    dispatcher = ws_lite.user("d1", "dispatcher")
    ws_lite.user("l1", "leader", real_name="陈领导")
    case = ws_lite.case(township="beiao", category="噪音扰民")
    ws_lite.office.complete(case, "triage", {**DISPATCH, "triage_result": "report_leader"})
    ws_lite.office.complete(case, "leader_instruction", {"instruction_decision": "dispatch",
                                                         "instruction": "由生态环境分局牵头，三日内处置。"},
                            actor="l1")
    shown = decision_of(page_of(dispatcher, ws_lite.office.task(case, "dispatch")))
    assert "领导批示" in shown and "由生态环境分局牵头，三日内处置。" in shown and "陈领导" in shown
    assert shown.index("领导批示") < shown.index("建议主办单位")


def test_review_after_inspection_shows_the_findings_and_the_reply(ws_lite: Workspace) -> None:
    dispatcher = ws_lite.user("d1", "dispatcher")
    case = replied(ws_lite)
    ws_lite.office.complete(case, "review", {"review_result": "inspect"})
    ws_lite.office.complete(case, "review_inspection", {"inspection_findings": "现场已停工，围挡完好。",
                                                        "inspected_at": "2026-11-25T10:00:00+08:00",
                                                        "problem_confirmed": True})
    shown = decision_of(page_of(dispatcher, ws_lite.office.task(case, "review_final")))
    assert "巡查结果和待审核的答复" in shown and "现场已停工，围挡完好。" in shown and "问题是否属实 是" in shown
    assert shown.index("现场巡查") < shown.index("区生态环境分局的答复") and "已现场处理" in shown


def test_review_lists_every_units_latest_reply_lead_first(ws_lite: Workspace) -> None:
    dispatcher = ws_lite.user("d1", "dispatcher")
    case = ws_lite.case(township="beiao")
    ws_lite.office.complete(case, "triage", DISPATCH)
    ws_lite.office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "sthj",
                                               "assisting_departments": ["zjj"]})
    for unit, words in (("zjj", "协办意见：配合检查"), ("sthj", "主办答复：已处理")):
        ws_lite.office.complete(case, "sign_for", {"sign_decision": "sign"}, department=unit)
        ws_lite.office.complete(case, "reply", {**REPLY, "reply_text": words}, department=unit)
    shown = decision_of(page_of(dispatcher, ws_lite.office.task(case, "review")))
    assert shown.index("区生态环境分局的答复") < shown.index("区住建局的答复")
    assert "主办答复：已处理" in shown and "协办意见：配合检查" in shown and "协办" in shown


def test_return_review_shows_the_reason_and_preselects_the_suggested_unit(ws: Workspace) -> None:
    dispatcher = ws.user("d1", "dispatcher")
    ws.user("h1", "handler", department="sthj", real_name="李承办")
    case = ws.dispatched("sthj", township="beiao")
    ws.office.complete(case, "sign_for", {"sign_decision": "return", "suggested_department": "zjj",
                                          "return_reason": "工地噪音属住建局监管的在建工程。"}, actor="h1")
    task = ws.office.task(case, "return_review")
    html = page_of(dispatcher, task)
    shown = decision_of(html)
    assert "区生态环境分局申请退单" in shown and "工地噪音属住建局监管的在建工程。" in shown
    assert "建议承办单位 区住建局" in shown and "区生态环境分局 李承办 · 2026-11-25 09:00" in shown
    assert selected(html, "new_department") == "zjj"
    done = post_form(dispatcher, f"/tasks/{task.id}", {"return_decision": "accept_return", "new_department": "zjj"})
    assert done.status_code == 303
    assert ws.office.task(case, "sign_for").department == "zjj"


def test_extension_approval_shows_days_reason_and_the_deadline_now_and_after(ws: Workspace) -> None:
    leader = ws.user("l1", "leader")
    case = ws.dispatched("sthj", township="beiao")
    ws.office.complete(case, "sign_for", {"sign_decision": "sign"})
    ws.office.complete(case, "reply", {"reply_action": "extend", "extension_days": 3,
                                       "extension_reason": "需协调住建、城管联合执法。"})
    task = ws.office.task(case, "extension_approval")
    with ws.office.rt.read() as db:
        before = db.scalar(sa.select(CaseDeadline.due_at).where(
            CaseDeadline.case_id == case.case_id, CaseDeadline.stage == "handle"))
    html = page_of(leader, task)
    shown = decision_of(html)
    assert "区生态环境分局申请延期" in shown and "申请延期 3 个工作日" in shown
    assert "需协调住建、城管联合执法。" in shown
    assert before is not None
    assert f"当前办理时限 {before.astimezone(LOCAL).strftime('%Y-%m-%d %H:%M')}" in shown
    assert "已延期 0 个工作日" in shown
    new = re.search(r"同意后办理时限 (\d{4}-\d\d-\d\d \d\d:\d\d)（顺延 3 个工作日）", shown)
    assert new is not None, shown
    assert re.search(r'name="approved_days" value="3"', html)
    assert post_form(leader, f"/tasks/{task.id}", {"extension_approved": "true", "approved_days": "3"}).status_code \
        == 303
    with ws.office.rt.read() as db:
        after = db.scalar(sa.select(CaseDeadline.due_at).where(
            CaseDeadline.case_id == case.case_id, CaseDeadline.stage == "handle"))
    assert after is not None and after.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M") == new.group(1)
    handler = ws.user("h1", "handler", department="sthj")
    again = decision_of(page_of(handler, ws.office.task(case, "reply")))
    assert "延期申请已批准" in again and "批准延期 3 个工作日" in again and new.group(1) in again


def test_a_reply_sent_back_shows_the_reviewers_note_and_starts_from_the_last_reply(ws: Workspace) -> None:
    ws.user("d1", "dispatcher", real_name="张审核")
    handler = ws.user("h1", "handler", department="sthj")
    case = replied(ws)
    ws.office.complete(case, "review", {"review_result": "nonstandard",
                                        "review_note": "答复未说明复查时间，请补充。"}, actor="d1")
    task = ws.office.task(case, "reply")
    claim(ws, task, "h1")
    html = page_of(handler, task)
    shown = decision_of(html)
    assert "审核发回" in shown and "答复未说明复查时间，请补充。" in shown and "张审核 · 2026-11-25 09:00" in shown
    assert "本单位上次答复" in shown and "已现场处理" in shown
    assert textarea(html, "reply_text") == REPLY["reply_text"]
    assert textarea(html, "public_reply") == REPLY["public_reply"]
    assert html.index('class="decision"') < html.index('name="reply_action"')


def test_rehandling_shows_the_citizens_complaint_from_the_callback(ws: Workspace) -> None:
    ws.user("cb1", "callback", real_name="周回访")
    handler = ws.user("h1", "handler", department="sthj")
    case = replied(ws)
    ws.office.complete(case, "review", {"review_result": "accept"})
    caller = ws.user("cb2", "callback")
    before = decision_of(page_of(caller, ws.office.task(case, "callback")))
    assert "需回访核实的答复" in before and "经核查，问题已处理。" in before
    ws.office.complete(case, "callback", {"callback_result": "unsatisfied", "solved": False,
                                          "unsatisfied_reason": "subjective", "unsatisfied_decision": "rehandle",
                                          "callback_note": "晚上十点后仍在施工，没有人来复查。"}, actor="cb1")
    html = page_of(handler, ws.office.task(case, "reply"))
    shown = decision_of(html)
    assert "回访不满意：发回重办" in shown and "回访结果 不满意" in shown
    assert "不满意原因 主观原因（办理不到位）" in shown and "晚上十点后仍在施工，没有人来复查。" in shown
    assert "周回访 · 2026-11-25 09:00" in shown and "本单位上次答复" in shown
    assert textarea(html, "reply_text") == ""  # re-handling is new work: nothing old is typed in for them


def test_publish_prefills_the_public_reply_without_phone_id_number_or_name(ws: Workspace) -> None:
    dispatcher = ws.user("d1", "dispatcher")
    case = ws.dispatched("sthj", township="beiao")
    ws.office.complete(case, "sign_for", {"sign_decision": "sign"})
    public = f"王小明先生（电话 {CITIZEN_PHONE}，身份证 {ID_NUMBER}）反映的夜间施工问题已处理。"
    ws.office.complete(case, "reply", {**REPLY, "public_reply": public})
    ws.office.complete(case, "review", {"review_result": "accept"})
    ws.office.complete(case, "callback", {"callback_result": "satisfied", "solved": True})
    html = page_of(dispatcher, ws.office.task(case, "publish_review"))
    shown = decision_of(html)
    assert "待挂网的答复" in shown and "回访结果 满意" in shown and "区生态环境分局的答复（已通过审核）" in shown
    prefilled = textarea(html, "public_reply")
    assert prefilled == "王**先生（电话 （已隐去），身份证 （已隐去））反映的夜间施工问题已处理。"
    assert not FULL_PHONE.search(html) and ID_NUMBER not in html  # the reviewer reads the reply masked


def test_free_text_is_masked_unless_the_user_holds_a_contact_task(ws: Workspace) -> None:
    ws.user("d1", "dispatcher")
    handler = ws.user("h1", "handler", department="sthj")
    case = replied(ws)
    note = f"请联系诉求人 {CITIZEN_PHONE} 核实复查时间。"
    ws.office.complete(case, "review", {"review_result": "nonstandard", "review_note": note}, actor="d1")
    task = ws.office.task(case, "reply")
    unclaimed = page_of(handler, task)  # in the unit's group, not yet held: masked like the case page
    assert CITIZEN_PHONE not in unclaimed and "139****1234" in decision_of(unclaimed)
    claim(ws, task, "h1")
    held = page_of(handler, task)
    assert note in decision_of(held)


def test_masked_text_is_never_put_back_into_a_form(ws_lite: Workspace) -> None:
    handler = ws_lite.user("h1", "handler", department="sthj")
    case = ws_lite.dispatched("sthj", township="beiao")
    ws_lite.office.complete(case, "sign_for", {"sign_decision": "sign"})
    ws_lite.office.complete(case, "reply", {**REPLY, "contact_record": f"已电话联系 {CITIZEN_PHONE}"})
    ws_lite.office.complete(case, "review", {"review_result": "nonstandard", "review_note": "补充复查时间"})
    html = page_of(handler, ws_lite.office.task(case, "reply"))  # not claimed: numbers masked
    assert textarea(html, "contact_record") == "" and textarea(html, "reply_text") == REPLY["reply_text"]
    assert "****" not in textarea(html, "contact_record")


def test_a_unit_never_sees_a_confidential_requester_in_free_text(ws: Workspace) -> None:
    ws.user("d1", "dispatcher")
    handler = ws.user("h1", "handler", department="sthj")
    case = replied(ws, confidential=True)
    ws.office.complete(case, "review", {"review_result": "nonstandard",
                                        "review_note": "请再联系王小明，地址洞头区北岙街道中心街88号。"}, actor="d1")
    task = ws.office.task(case, "reply")
    claim(ws, task, "h1")
    shown = decision_of(page_of(handler, task))
    assert "王小明" not in shown and "中心街88号" not in shown and "请再联系（保密）" in shown


def closed_cases(ws: Workspace) -> dict[str, str]:
    """Three finished cases of the week: a consultation answered directly, a satisfied and a doubtful one."""
    numbers = {}
    consult = ws.case(township="beiao", request_type="consult", title=f"公积金提取咨询 {CITIZEN_PHONE}")
    ws.office.complete(consult, "triage", {"request_type": "consult", "urgency": "normal",
                                           "triage_result": "direct_answer"})
    ws.office.complete(consult, "direct_answer", {"direct_answer": "按公积金中心规定办理。"})
    numbers["consult"] = ws.office.case(consult).number
    for kind, callback in (("satisfied", {"callback_result": "satisfied", "solved": True}),
                           ("doubtful", {"callback_result": "unsatisfied", "solved": False,
                                         "unsatisfied_reason": "objective", "unsatisfied_decision": "doubtful"})):
        case = replied(ws, title=f"夜间施工噪音（{kind}）")
        ws.office.complete(case, "review", {"review_result": "accept"})
        ws.office.complete(case, "callback", callback)
        numbers[kind] = ws.office.case(case).number
    return numbers


def weekly_check(ws: Workspace) -> HumanTask:
    """Start the weekly upward report and let its timer fire on Monday: the 核对上报清单 task waits."""
    commands.start(ws.office.rt, "upward_report", {}, actor="admin")
    ws.office.run_until(at("2026-11-30T09:00:01"))
    found = [t for t in ws.office.tasks() if t.bpmn_id == "check_report"]
    assert len(found) == 1
    return found[0]


def test_the_upward_report_check_shows_the_list_being_reported(ws: Workspace) -> None:
    numbers = closed_cases(ws)
    task = weekly_check(ws)
    transcriber = ws.user("tr1", "transcriber")  # signed in on Monday (a session does not last five days)
    html = page_of(transcriber, task)
    shown = decision_of(html)
    assert "本期上报清单" in shown and "2026-11-23 09:00 至 2026-11-30 09:00" in shown
    blocks = blocks_of(html)
    assert numbers["consult"] in blocks["咨询件"] and "1 件" in blocks["咨询件"]
    assert numbers["doubtful"] in blocks["存疑件"] and numbers["satisfied"] not in blocks["存疑件"]
    assert numbers["satisfied"] in blocks["满意件"] and numbers["doubtful"] not in blocks["满意件"]
    assert "公积金提取咨询 139****1234" in shown and CITIZEN_PHONE not in html  # titles masked like lists
    assert "夜间施工噪音（satisfied）" in shown and "夜间施工噪音（doubtful）" in shown
    with ws.office.rt.read() as db:
        consult_id = db.scalar(sa.select(Case.id).where(Case.number == numbers["consult"]))
    assert f'href="/cases/{consult_id}"' in html
    assert html.index('class="decision"') < html.index('name="report_confirmed"')


def test_the_upward_report_note_takes_text_and_refuses_personal_numbers(ws: Workspace) -> None:
    closed_cases(ws)
    task = weekly_check(ws)
    transcriber = ws.user("tr1", "transcriber")
    path = f"/tasks/{task.id}"
    phone = post_form(transcriber, path, {"report_confirmed": "true",
                                          "report_note": f"存疑件已电话 {CITIZEN_PHONE} 核实"})
    assert phone.status_code == 400 and NO_NUMBERS in text(phone) and 'id="field-report_note"' in text(phone)
    assert "格式不正确" not in text(phone)
    long = post_form(transcriber, path, {"report_confirmed": "true", "report_note": "很" * 201})
    assert long.status_code == 400 and "不能超过 200 个字" in text(long)
    assert [t.id for t in ws.office.tasks() if t.bpmn_id == "check_report"] == [task.id]
    done = post_form(transcriber, path, {"report_confirmed": "true", "report_note": "本期清单已核对，无出入。"})
    assert done.status_code == 303, text(done)[:800]
    assert [k for _, k, _ in ws.office.outbox() if k == "upward_report"] == ["upward_report"]


def test_a_failing_decision_screen_leaves_the_form_working(ws_lite: Workspace,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    dispatcher = ws_lite.user("d1", "dispatcher")
    case = ws_lite.case(township="beiao")
    ws_lite.office.complete(case, "triage", DISPATCH)

    def broken(_src: object) -> None:
        raise RuntimeError("reference table missing")

    monkeypatch.setitem(SCREENS, "dispatch.schema.json", broken)
    html = page_of(dispatcher, ws_lite.office.task(case, "dispatch"))
    assert "暂时无法显示办理依据" in decision_of(html) and 'name="dispatch_mode"' in html


def test_decision_screens_speak_english_when_asked(ws_lite: Workspace) -> None:
    dispatcher = ws_lite.user("d1", "dispatcher")
    case = ws_lite.case(township="beiao", category="噪音扰民")
    ws_lite.office.complete(case, "triage", DISPATCH)
    assert post_form(dispatcher, "/lang", {"lang": "en"}).status_code == 302
    shown = decision_of(page_of(dispatcher, ws_lite.office.task(case, "dispatch")))
    assert "Dispatch catalogue suggestion" in shown and "Suggested lead unit" in shown
    assert "Matched by the category “噪音扰民”" in shown
