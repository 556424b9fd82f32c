"""The case page (工单详情): masked requester by role, confidential cases, audited reveal, history, escaping."""

from __future__ import annotations

from tests.web_support import audit_rows
from tests.workspace_support import FULL_PHONE
from tests.workspace_support import Workspace
from tests.workspace_support import post_form
from tests.workspace_support import text

HTMX = {"HX-Request": "true"}
ID_NUMBER = "11010119900307123X"


def test_an_operator_sees_masked_values_and_never_a_full_number(ws: Workspace) -> None:
    case = ws.dispatched("sthj", content="请回电 13912345678，身份证 11010119900307123X", title="噪音")
    operator = ws.user("op9", "operator")
    response = operator.get(f"/cases/{case.case_id}")
    html = text(response)
    assert response.status_code == 200
    assert "138****5678" in html and "王**" in html and "110***********123X" in html
    assert not FULL_PHONE.search(html) and ID_NUMBER not in html
    assert "139****5678" in html  # numbers inside the complaint text are masked too
    assert "查看完整信息" not in html  # operators may not reveal
    assert response.headers["Cache-Control"] == "no-store"
    assert not FULL_PHONE.search(text(operator.get(f"/cases/{case.case_id}/requester")))


def test_a_handler_holding_the_sign_for_task_sees_the_phone_in_full(ws: Workspace) -> None:
    case = ws.dispatched("sthj")
    handler = ws.user("h1", "handler", department="sthj")
    before = text(handler.get(f"/cases/{case.case_id}"))
    assert "13812345678" not in before and "138****5678" in before  # not holding the task yet
    sign = ws.office.task(case, "sign_for")
    assert post_form(handler, f"/worklist/tasks/{sign.id}/claim").status_code == 303
    held = text(handler.get(f"/cases/{case.case_id}"))
    assert "13812345678" in held and "王小明" in held and ID_NUMBER not in held  # the ID number stays masked
    assert "13812345678" in text(handler.get(f"/tasks/{sign.id}"))  # also in the panel beside the form


def test_a_confidential_requester_is_shown_as_confidential_to_the_unit(ws_lite: Workspace) -> None:
    case = ws_lite.dispatched("sthj", confidential=True)
    handler = ws_lite.user("h1", "handler", department="sthj")
    sign = ws_lite.office.task(case, "sign_for")
    post_form(handler, f"/worklist/tasks/{sign.id}/claim")
    html = text(handler.get(f"/cases/{case.case_id}"))
    assert "（保密）" in html and "138****5678" not in html and "王" not in html.split("诉求人", 1)[1][:400]
    assert "诉求人要求保密" in html
    supervisor = ws_lite.user("sup1", "supervisor")
    assert "查看完整信息" not in text(supervisor.get(f"/cases/{case.case_id}"))  # only a leader, when confidential


def test_a_supervisor_reveals_with_a_reason_and_it_is_audited(ws: Workspace) -> None:
    case = ws.dispatched("sthj")
    supervisor = ws.user("sup1", "supervisor")
    number = ws.office.case(case).number
    page = text(supervisor.get(f"/cases/{case.case_id}"))
    assert "查看完整信息" in page and f'hx-post="/cases/{case.case_id}/reveal"' in page
    short = post_form(supervisor, f"/cases/{case.case_id}/reveal", {"reason": "看看"}, headers=HTMX)
    assert short.status_code == 400 and "请填写查看原因" in text(short)
    shown = post_form(supervisor, f"/cases/{case.case_id}/reveal", {"reason": "督办需联系诉求人核实"}, headers=HTMX)
    fragment = text(shown)
    assert shown.status_code == 200 and "13812345678" in fragment and ID_NUMBER in fragment
    assert "<html" not in fragment and "load delay:60s" in fragment  # masked again a minute later
    assert shown.headers["Cache-Control"] == "no-store"
    rows = audit_rows(ws.app, "pii.reveal")
    assert [(r["actor"], r["result"], r["object_id"]) for r in rows] == [("sup1", "success", number)]
    assert rows[0]["detail"]["reason"] == "督办需联系诉求人核实"


def test_an_operators_reveal_is_refused_and_audited_as_denied(ws: Workspace) -> None:
    case = ws.dispatched("sthj")
    operator = ws.user("op9", "operator")
    refused = post_form(operator, f"/cases/{case.case_id}/reveal", {"reason": "想核对完整号码"}, headers=HTMX)
    assert refused.status_code == 403 and "您无权查看完整信息" in text(refused)
    assert not FULL_PHONE.search(text(refused))
    page = post_form(operator, f"/cases/{case.case_id}/reveal", {"reason": "想核对完整号码"})
    assert page.status_code == 403 and not FULL_PHONE.search(text(page))
    outsider = ws.user("h9", "handler", department="zjj")
    assert post_form(outsider, f"/cases/{case.case_id}/reveal", {"reason": "想核对完整号码"}).status_code == 404
    rows = audit_rows(ws.app, "pii.reveal")
    assert [(r["actor"], r["result"]) for r in rows] == [("op9", "denied"), ("op9", "denied"), ("h9", "denied")]
    assert operator.post(f"/cases/{case.case_id}/reveal", data={"reason": "想核对完整号码"}).status_code == 400  # CSRF


def test_the_page_shows_deadlines_tasks_history_texts_and_related_cases(ws_lite: Workspace) -> None:
    ws = ws_lite
    first = ws.case()
    handler = ws.user("h1", "handler", department="sthj", real_name="李承办")
    dispatcher = ws.user("d1", "dispatcher", real_name="赵派单")
    triage = ws.office.task(first, "triage")
    assert post_form(dispatcher, f"/tasks/{triage.id}", {"request_type": "complaint", "urgency": "normal",
                                                         "triage_result": "dispatch"}).status_code == 303
    ws.office.complete(first, "dispatch", {"dispatch_mode": "department", "lead_department": "sthj"}, actor="d1")
    sign = ws.office.task(first, "sign_for")
    assert post_form(handler, f"/tasks/{sign.id}", {"sign_decision": "sign"}).status_code == 303
    again = ws.office.open("case_phone", "phone", requester_phone="13812345678", content="又来电")
    ws.office.complete(again, "merge_offer", {"merge_decision": "new"}, actor="op1")
    html = text(dispatcher.get(f"/cases/{first.case_id}"))
    assert "办理过程" in html and "工单登记，流程启动" in html
    assert "<strong>初审（理件）</strong>" in html and "初审结论：派单办理" in html  # the step and what it decided
    assert "赵派单" in html and "李承办" in html
    assert "签收" in html and "区生态环境分局" in html and "2026-11-26 23:59" in html  # the sign-for deadline
    assert "办理答复" in html  # the open task now
    related = text(dispatcher.get(f"/cases/{again.case_id}"))
    assert "诉求人此前来件" in related and f'href="/cases/{first.case_id}"' in related
    outsider_view = text(handler.get(f"/cases/{first.case_id}"))
    assert "办理过程" in outsider_view


def test_markup_in_case_content_is_escaped(ws_lite: Workspace) -> None:
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    case = ws_lite.dispatched("sthj", content=attack, title="<b>标题</b>", location="<i>地址</i>")
    operator = ws_lite.user("op9", "operator")
    html = text(operator.get(f"/cases/{case.case_id}"))
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>标题" not in html
    assert "&lt;script&gt;alert" in html and "&lt;b&gt;标题" in html
    worklist = text(ws_lite.user("h1", "handler", department="sthj").get("/worklist?tab=group"))
    assert "<b>标题" not in worklist and "&lt;b&gt;标题" in worklist


def test_an_unknown_or_foreign_case_is_404(ws_lite: Workspace) -> None:
    case = ws_lite.dispatched("sthj")
    outsider = ws_lite.user("h9", "handler", department="zjj")
    analyst = ws_lite.user("an1", "analyst")
    reporter = ws_lite.user("rep1", "township_reporter", department="luxi")
    assert outsider.get(f"/cases/{case.case_id}").status_code == 404
    assert outsider.get(f"/cases/{case.case_id}/requester").status_code == 404
    assert reporter.get(f"/cases/{case.case_id}").status_code == 404
    assert outsider.get("/cases/00000000-0000-4000-8000-000000000000").status_code == 404
    assert analyst.get(f"/cases/{case.case_id}").status_code == 403  # not a role that opens cases
