"""What a day of office work in the browser tripped over (H6): fixes checked on the pages' HTML."""

from __future__ import annotations

import re

from tests.admin_support import sign_in
from tests.admin_support import user_id
from tests.workspace_support import Workspace
from tests.workspace_support import post_form
from tests.workspace_support import text


def options(html: str, select_name: str) -> list[str]:
    """The visible texts of one select's options (the first select of that name on the page)."""
    found = re.search(rf'<select[^>]*name="{select_name}"[^>]*>(.*?)</select>', html, re.S)
    assert found is not None, select_name
    return [label.strip() for label in re.findall(r"<option[^>]*>(.*?)</option>", found.group(1), re.S)]


def test_two_colleagues_with_one_name_can_be_told_apart_in_both_hand_over_pickers(ws_lite: Workspace) -> None:
    case = ws_lite.dispatched("sthj")
    holder = ws_lite.user("h-sthj", "handler", department="sthj", real_name="孙承办")
    ws_lite.user("li.a", "handler", department="sthj", real_name="李承办")
    ws_lite.user("li.b", "handler", department="sthj", real_name="李承办")
    sign = ws_lite.office.task(case, "sign_for")
    claimed = post_form(holder, f"/worklist/tasks/{sign.id}/claim", {"back": "/worklist?tab=mine"})
    assert claimed.status_code == 303
    worklist = options(text(holder.get("/worklist?tab=mine")), "assignee")
    assert "李承办（li.a）" in worklist and "李承办（li.b）" in worklist
    supervisor = ws_lite.user("walk-sv", "supervisor")
    page = text(supervisor.get(f"/monitor/instances/{case.instance_id}"))
    picker = options(page, "to_user")
    assert "李承办（li.a）" in picker and "李承办（li.b）" in picker and len(set(picker)) == len(picker)
    handed = post_form(holder, f"/worklist/tasks/{sign.id}/handover", {"assignee": "li.b"},
                       headers={"HX-Request": "true"})
    assert handed.status_code == 200 and "已转交给 李承办（li.b）" in text(handed)
    assert ws_lite.office.task(case, "sign_for").assignee == "li.b"


def test_the_interventions_name_who_holds_a_task_in_words_not_codes(ws_lite: Workspace) -> None:
    case = ws_lite.dispatched("sthj")
    supervisor = ws_lite.user("walk-sv", "supervisor")
    page = text(supervisor.get(f"/monitor/instances/{case.instance_id}"))
    holder_cell = re.search(r'<tr data-task="[^"]+">\s*<td>[^<]*</td>\s*<td>([^<]*)</td>', page)
    assert holder_cell is not None
    assert holder_cell.group(1) == "区生态环境分局 待认领"  # the unit's group, not the code "sthj"
    handler = ws_lite.user("h-sthj", "handler", department="sthj", real_name="孙承办")
    sign = ws_lite.office.task(case, "sign_for")
    post_form(handler, f"/worklist/tasks/{sign.id}/claim", {"back": "/worklist"})
    page = text(supervisor.get(f"/monitor/instances/{case.instance_id}"))
    holder_cell = re.search(r'<tr data-task="[^"]+">\s*<td>[^<]*</td>\s*<td>([^<]*)</td>', page)
    assert holder_cell is not None and holder_cell.group(1) == "孙承办"


def test_account_actions_hard_to_take_back_ask_before_they_are_sent(ws_lite: Workspace) -> None:
    ws_lite.user("walk-h", "handler", department="sthj")
    target = user_id(ws_lite.app, "walk-h")
    page = text(sign_in(ws_lite.app, ws_lite.office.clock, "walk-sys", "sysadmin").get(f"/admin/users/{target}"))
    assert re.search(rf'action="/admin/users/{target}/disable" data-confirm="确定停用该账号', page)
    page = text(sign_in(ws_lite.app, ws_lite.office.clock, "walk-sec", "secadmin").get(f"/admin/users/{target}"))
    for action, question in (("reset-totp", "确定重置该用户的动态口令"), ("end-sessions", "确定结束该用户的全部会话")):
        assert re.search(rf'action="/admin/users/{target}/{action}" data-confirm="{question}', page), action
    roster = text(ws_lite.user("walk-dl", "duty_leader").get("/reference/roster"))
    assert 'data-confirm="确定开启应急值守' in roster


def test_reference_tabs_link_only_to_pages_the_reader_may_open(ws_lite: Workspace) -> None:
    operator = text(ws_lite.user("walk-op", "operator").get("/reference/roster"))
    assert 'href="/reference/roster"' in operator
    for closed in ("/reference/calendar", "/reference/sla", "/reference/settings", 'href="/reference/"'):
        assert closed not in operator, closed  # each answered the operator 403
    analyst = ws_lite.user("walk-an", "analyst")
    page = text(analyst.get("/reference/"))
    assert 'href="/reference/sla"' in page
    assert 'href="/reference/settings"' not in page and 'href="/reference/roster"' not in page
    assert analyst.get("/reference/settings").status_code == 403  # what the hidden tab led to


def test_revoking_a_key_and_dropping_or_rekeying_a_subscription_ask_first(ws_lite: Workspace) -> None:
    admin = sign_in(ws_lite.app, ws_lite.office.clock, "walk-sys2", "sysadmin")
    made = post_form(admin, "/admin/api-keys", {"name": "oa-bridge", "scopes": ["cases:read"]}, page="/admin/api-keys")
    assert made.status_code in (200, 201), text(made)[:300]
    keys = text(admin.get("/admin/api-keys"))
    assert re.search(r'action="/admin/api-keys/[^"]+/revoke"\s+data-confirm="确定吊销接口密钥 oa-bridge？', keys)
    hook = {"name": "oa-events", "url": "https://oa.example.gov.cn/hooks/hotline", "events": ["started"]}
    assert post_form(admin, "/admin/webhooks", hook, page="/admin/webhooks").status_code == 201
    hooks = text(admin.get("/admin/webhooks"))
    assert re.search(r'action="/admin/webhooks/[^"]+/delete"\s+data-confirm="确定删除事件订阅 oa-events？', hooks)
    assert re.search(r'action="/admin/webhooks/[^"]+/rotate"\s+data-confirm="确定更换 oa-events 的签名密钥？', hooks)
    assert not re.search(r'action="/admin/webhooks/[^"]+/disable"\s+data-confirm', hooks)  # pausing is undone at once
