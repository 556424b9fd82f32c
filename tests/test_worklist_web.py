"""The worklist (待办): tabs by role and unit, filters and paging, polling rows, claim / give back / hand over."""

from __future__ import annotations

import pytest

from tests.web_support import audit_rows
from tests.workspace_support import FULL_PHONE
from tests.workspace_support import Workspace
from tests.workspace_support import post_form
from tests.workspace_support import text
from webapp.casework import CLAIMED_BY_OTHER
from webapp.casework import TASK_TAKEN

HTMX = {"HX-Request": "true"}


def test_tabs_show_my_tasks_my_groups_and_my_units_by_role_and_unit(ws: Workspace) -> None:
    case = ws.dispatched("sthj", title="夜间施工噪音 13900001111")
    other = ws.dispatched("zjj")
    mine = ws.user("h1", "handler", department="sthj", real_name="李承办")
    colleague = ws.user("h2", "handler", department="sthj", real_name="周同事")
    outsider = ws.user("h3", "handler", department="zjj")
    dispatcher = ws.user("d1", "dispatcher")
    sign = ws.office.task(case, "sign_for")
    group = text(mine.get("/worklist?tab=group"))
    assert sign.id in group and ws.office.task(other, "sign_for").id not in group
    assert sign.id not in text(outsider.get("/worklist?tab=group"))
    assert sign.id not in text(dispatcher.get("/worklist?tab=group"))  # a unit's task, not the office's
    assert "签收" in group and "来电" in group and "投诉" in group
    assert "139****1111" in group and not FULL_PHONE.search(group)  # the title, masked; never the requester

    assert post_form(mine, f"/worklist/tasks/{sign.id}/claim").status_code == 303
    assert sign.id in text(mine.get("/worklist"))  # 我的待办 is the default tab
    assert sign.id not in text(mine.get("/worklist?tab=group"))
    unit = text(colleague.get("/worklist?tab=unit"))
    assert sign.id in unit and "李承办" in unit  # 本部门: colleagues' tasks with who holds them
    assert sign.id not in text(colleague.get("/worklist?tab=mine"))
    assert colleague.get("/worklist?tab=unit").status_code == 200
    assert dispatcher.get("/worklist?tab=unit").status_code == 400  # no unit tab for the office


def test_filters_sort_and_paging_over_the_groups_tasks(ws_lite: Workspace) -> None:
    ws = ws_lite
    for number in range(23):
        ws.case(urgency="urgent" if number % 4 == 0 else "normal", township="beiao" if number < 3 else "luxi")
    dispatcher = ws.user("d1", "dispatcher")
    page1, page2 = text(dispatcher.get("/worklist?tab=group")), text(dispatcher.get("/worklist?tab=group&page=2"))
    assert page1.count('<tr id="task-') == 20 and page2.count('<tr id="task-') == 3
    assert "共 23 项" in page1 and "第 2 / 2 页" in page2
    urgent = text(dispatcher.get("/worklist?tab=group&urgency=urgent"))
    assert urgent.count('<tr id="task-') == 6 and "紧急" in urgent
    assert text(dispatcher.get("/worklist?tab=group&township=beiao")).count('<tr id="task-') == 3
    assert text(dispatcher.get("/worklist?tab=group&channel=visit")).count('<tr id="task-') == 0
    assert text(dispatcher.get("/worklist?tab=group&status=registered&request_type=complaint&department=sthj"
                               "&sort=created")).count('<tr id="task-') == 0
    assert dispatcher.get("/worklist?tab=group&page=3").status_code == 200  # past the end: an empty page


@pytest.mark.parametrize("query", ["channel=fax", "urgency=soon", "township=atlantis", "department=nasa",
                                   "status=lost", "request_type=x", "sort=random", "page=0", "page=abc",
                                   "page=99999999", "tab=everything"])
def test_an_unknown_filter_value_is_a_400_with_a_message(ws_lite: Workspace, query: str) -> None:
    dispatcher = ws_lite.user("d1", "dispatcher")
    for path in ("/worklist", "/worklist/rows"):
        response = dispatcher.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query)
        assert "筛选条件无效" in text(response)


def test_the_rows_partial_polls_in_the_background(ws: Workspace) -> None:
    case = ws.dispatched("sthj")
    handler = ws.user("h1", "handler", department="sthj")
    page = text(handler.get("/worklist?tab=group"))
    assert 'hx-get="/worklist/rows?tab=group' in page and "every 30s" in page
    assert 'hx-headers=\'{"X-Background-Refresh": "1"}\'' in page
    rows = handler.get("/worklist/rows?tab=group", headers={"X-Background-Refresh": "1", **HTMX})
    body = text(rows)
    assert rows.status_code == 200 and "<html" not in body and ws.office.task(case, "sign_for").id in body
    assert 'data-remaining="' in body and 'class="countdown' in body


def test_claim_give_back_and_hand_over_are_audited(ws: Workspace) -> None:
    case = ws.dispatched("sthj")
    holder = ws.user("h1", "handler", department="sthj", real_name="李承办")
    ws.user("h2", "handler", department="sthj", real_name="周同事")
    ws.user("h9", "handler", department="zjj")
    sign = ws.office.task(case, "sign_for")
    claimed = post_form(holder, f"/worklist/tasks/{sign.id}/claim", {"back": "/worklist?tab=group"})
    assert claimed.status_code == 303 and claimed.headers["Location"] == "/worklist?tab=group"
    assert ws.office.task(case, "sign_for").assignee == "h1"
    page = text(holder.get("/worklist"))
    assert "周同事" in page and "h9" not in page  # hand-over choices: same role and unit only
    refused = post_form(holder, f"/worklist/tasks/{sign.id}/handover", {"assignee": "h9"}, headers=HTMX)
    assert refused.status_code == 400 and "只能转交给" in text(refused)
    handed = post_form(holder, f"/worklist/tasks/{sign.id}/handover", {"assignee": "h2"}, headers=HTMX)
    assert handed.status_code == 200 and "已转交给 周同事" in text(handed)
    assert handed.headers["HX-Trigger"] == "worklist-changed"
    assert ws.office.task(case, "sign_for").assignee == "h2"
    back = post_form(ws.clients["h2"], f"/worklist/tasks/{sign.id}/unclaim", headers={"Accept": "application/json"})
    assert back.status_code == 200 and back.get_json()["ok"] is True
    assert ws.office.task(case, "sign_for").assignee is None
    rows = [(r["action"], r["actor"], r["result"], r["object_id"]) for r in audit_rows(ws.app)
            if r["action"].startswith("task.")]
    assert rows == [("task.claim", "h1", "success", sign.id), ("task.hand_over", "h1", "failure", sign.id),
                    ("task.hand_over", "h1", "success", sign.id), ("task.unclaim", "h2", "success", sign.id)]
    handed_row = next(r for r in audit_rows(ws.app, "task.hand_over") if r["result"] == "success")
    assert handed_row["detail"]["assignee"] == "h2" and handed_row["detail"]["case"] == ws.office.case(case).number


def test_a_lost_claim_race_answers_409_with_the_chinese_message(ws: Workspace) -> None:
    case = ws.dispatched("sthj")
    first = ws.user("h1", "handler", department="sthj", real_name="李承办")
    second = ws.user("h2", "handler", department="sthj")
    sign = ws.office.task(case, "sign_for")
    token_page = text(second.get("/worklist?tab=group"))  # the second user still sees it as free
    assert sign.id in token_page
    assert post_form(first, f"/worklist/tasks/{sign.id}/claim").status_code == 303
    lost = post_form(second, f"/worklist/tasks/{sign.id}/claim", headers=HTMX)
    assert lost.status_code == 409 and CLAIMED_BY_OTHER.format(who="李承办") in text(lost)
    as_json = post_form(second, f"/worklist/tasks/{sign.id}/claim", headers={"Accept": "application/json"})
    assert as_json.status_code == 409 and as_json.get_json()["status"] == 409
    page = post_form(second, f"/worklist/tasks/{sign.id}/claim", follow_redirects=True)
    assert CLAIMED_BY_OTHER.format(who="李承办") in text(page)  # a page: flashed after the redirect
    ws.office.complete(case, "sign_for", {"sign_decision": "sign"}, actor="h1")
    gone = post_form(first, f"/worklist/tasks/{sign.id}/unclaim", headers=HTMX)
    assert gone.status_code == 409 and str(TASK_TAKEN) in text(gone)


def test_actions_need_a_csrf_token_and_a_task_in_reach(ws_lite: Workspace) -> None:
    case = ws_lite.dispatched("sthj")
    handler = ws_lite.user("h1", "handler", department="sthj")
    outsider = ws_lite.user("h9", "handler", department="zjj")
    sign = ws_lite.office.task(case, "sign_for")
    for action in ("claim", "unclaim", "handover"):
        assert handler.post(f"/worklist/tasks/{sign.id}/{action}", data={}).status_code == 400
        assert handler.post(f"/worklist/tasks/{sign.id}/{action}", data={"csrf_token": "forged"}).status_code == 400
        assert post_form(outsider, f"/worklist/tasks/{sign.id}/{action}", headers=HTMX).status_code == 404
    assert handler.get(f"/worklist/tasks/{sign.id}/claim").status_code == 405  # no state change on GET
    assert ws_lite.office.task(case, "sign_for").assignee is None


def test_other_roles_have_no_worklist(ws_lite: Workspace) -> None:
    analyst = ws_lite.user("an1", "analyst")
    reporter = ws_lite.user("rep1", "township_reporter", department="luxi")
    assert analyst.get("/worklist").status_code == 403
    assert reporter.get("/worklist").status_code == 403


def test_the_worklist_speaks_english_after_switching(ws_lite: Workspace) -> None:
    ws_lite.dispatched("sthj")
    handler = ws_lite.user("h1", "handler", department="sthj")
    assert post_form(handler, "/lang", {"lang": "en"}).status_code == 302
    page = text(handler.get("/worklist?tab=group"))
    assert "My tasks" in page and "Unclaimed" in page and "Phone call" in page and "Complaint" in page
    assert "剩余" not in page and " left" in page  # the countdown's words too
