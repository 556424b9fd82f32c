"""The task form (办理): rendering every form, server-side checks, one audited completion, races, IDOR, drafts."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from processes.cases.forms import REQUIRED
from processes.cases.forms import UNKNOWN
from processes.cases.models import Attachment
from processes.cases.models import TaskDraft
from processes.db.base import new_id
from processes.runtime import commands
from processes.runtime.models import HumanTask
from tests.web_support import audit_rows
from tests.web_support import token
from tests.workspace_support import Workspace
from tests.workspace_support import post_form
from tests.workspace_support import text
from webapp import runtime_of
from webapp.casework import CLAIMED_BY_OTHER
from webapp.casework import TASK_TAKEN
from webapp.tasks import views

ROOT = Path(__file__).resolve().parent.parent
# Which bundle carries each task form; intake.schema.json files are start forms, not task forms.
TASK_FORMS = sorted(p for p in ROOT.glob("bpmn/*/forms/*.schema.json") if p.name != "intake.schema.json")
BUNDLE_OF = {"accept_110.schema.json": ("case_110", "police110"),
             "writeback_confirm.schema.json": ("case_platform", "platform"),
             "township_review.schema.json": ("case_township", "township"),
             "upward_check.schema.json": ("upward_report", None)}


def probe_task(ws: Workspace, form: str) -> str:
    """Put an open dispatcher task showing `form` on an instance of the bundle that carries that form."""
    key, channel = BUNDLE_OF.get(form, ("case_phone", "phone"))
    if channel is None:
        started = commands.start(ws.office.rt, key, {}, actor="tester")
        instance_id, case_id = started.instance_id, None
    else:
        extra = {"upstream_order_id": "ZJ-1", "upstream_deadline": "2026-12-20T17:00:00+08:00"} \
            if channel == "platform" else {}
        opened = ws.case(key, channel, **extra)
        instance_id, case_id = opened.instance_id, opened.case_id
    task_id = new_id()
    with ws.office.rt.write() as db, db.begin():
        db.add(HumanTask(id=task_id, instance_id=instance_id, case_id=case_id, bpmn_id="probe", name="表单预览",
                         role="dispatcher", form=form, status="open", created_at=ws.office.clock()))
    return task_id


@pytest.mark.parametrize("path", TASK_FORMS, ids=lambda p: p.name)
def test_every_task_form_renders_with_its_fields_choices_and_requirements(ws_lite: Workspace, path: Path) -> None:
    dispatcher = ws_lite.user("d1", "dispatcher")
    ws_lite.user("op1", "operator", real_name="张话务")
    page = dispatcher.get(f"/tasks/{probe_task(ws_lite, path.name)}")
    html = text(page)
    assert page.status_code == 200, html[:300]
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema["title"] in html
    for name, prop in schema["properties"].items():
        assert f'name="{name}' in html, name
        assert prop["title"] in html, name
        for choice in prop.get("oneOf", []):
            assert choice["title"] in html, (name, choice)
        if prop.get("x-options") == "departments" or prop.get("items", {}).get("x-options") == "departments":
            assert "区生态环境分局" in html
        if prop.get("x-options") == "users":
            assert "张话务 (op1)" in html
    assert html.count('class="required"') >= len(schema.get("required", []))
    if schema.get("allOf"):
        assert "时必填" in html
    assert 'enctype="multipart/form-data"' in html and 'value="draft"' in html


def test_missing_or_unknown_fields_answer_400_with_messages_and_keep_the_typed_values(ws: Workspace) -> None:
    case = ws.dispatched("sthj")
    handler = ws.user("h1", "handler", department="sthj")
    sign = ws.office.task(case, "sign_for")
    path = f"/tasks/{sign.id}"
    missing = post_form(handler, path, {"sign_decision": "return", "return_reason": "  ", "action": "complete"})
    html = text(missing)
    assert missing.status_code == 400 and REQUIRED in html and 'id="field-return_reason"' in html
    assert 'value="return" checked' in html  # what was chosen is still chosen
    typed = post_form(handler, path, {"return_reason": "不属本单位职责", "action": "complete"})
    assert typed.status_code == 400 and "不属本单位职责</textarea>" in text(typed)
    assert handler.post(path, data={"sign_decision": "sign"}).status_code == 400  # no CSRF token
    injected = post_form(handler, path, {"sign_decision": "sign", "lead_department": "zjj"})
    assert injected.status_code == 400 and UNKNOWN in text(injected) and "lead_department" in text(injected)
    assert ws.office.task(case, "sign_for").status == "open"
    failures = [r for r in audit_rows(ws.app, "task.complete") if r["result"] == "failure"]
    assert len(failures) == 3 and failures[0]["detail"]["fields"] == ["return_reason"]


def test_completing_moves_the_case_on_with_one_audit_row_in_the_same_transaction(ws: Workspace) -> None:
    case = ws.dispatched("sthj")
    handler = ws.user("h1", "handler", department="sthj")
    sign = ws.office.task(case, "sign_for")
    done = post_form(handler, f"/tasks/{sign.id}", {"sign_decision": "sign", "action": "complete"})
    assert done.status_code == 303 and done.headers["Location"] == "/worklist"
    assert "reply" in ws.office.open_ids(case)
    rows = [r for r in audit_rows(ws.app, "task.complete") if r["result"] == "success"]
    assert len(rows) == 1 and rows[0]["object_id"] == sign.id and rows[0]["actor"] == "h1"
    assert rows[0]["detail"]["task"] == "sign_for" and rows[0]["detail"]["fields"] == ["sign_decision"]
    assert "已办理" in text(handler.get("/worklist"))


def test_a_failing_audit_write_rolls_the_completion_back(ws_lite: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    case = ws_lite.dispatched("sthj")
    handler = ws_lite.user("h1", "handler", department="sthj")
    sign = ws_lite.office.task(case, "sign_for")
    token_page = f"/tasks/{sign.id}"
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(views, "record", broken)
    with pytest.raises(RuntimeError, match="audit store unavailable"):
        post_form(handler, token_page, {"sign_decision": "sign"}, page=token_page)
    assert ws_lite.office.open_ids(case) == ["sign_for"]  # nothing of the completion was kept
    assert not [r for r in audit_rows(ws_lite.app, "task.complete") if r["result"] == "success"]


def test_the_second_of_two_completions_gets_409_and_a_chinese_message(ws: Workspace) -> None:
    case = ws.dispatched("sthj")
    first = ws.user("h1", "handler", department="sthj", real_name="李承办")
    second = ws.user("h2", "handler", department="sthj")
    sign = ws.office.task(case, "sign_for")
    path = f"/tasks/{sign.id}"
    assert first.get(path).status_code == second.get(path).status_code == 200
    assert post_form(first, path, {"sign_decision": "sign"}).status_code == 303
    late = post_form(second, path, {"sign_decision": "sign"})
    assert late.status_code == 409 and str(TASK_TAKEN) in text(late)
    reopened = second.get(path)  # opening the finished task again: 409 with the way back to the worklist
    assert reopened.status_code == 409 and 'href="/worklist"' in text(reopened)
    rows = audit_rows(ws.app, "task.complete")
    assert [r["result"] for r in rows] == ["success", "failure"]


def test_a_409_keeps_what_was_typed_and_leads_back_to_the_worklist(ws: Workspace) -> None:
    case = ws.dispatched("sthj")
    first = ws.user("h1", "handler", department="sthj")
    second = ws.user("h2", "handler", department="sthj")
    path = f"/tasks/{ws.office.task(case, 'sign_for').id}"
    assert second.get(path).status_code == 200  # the second handler opens the form first...
    assert post_form(first, path, {"sign_decision": "sign"}).status_code == 303  # ...the first one is quicker
    reason = "不属于本单位职责：噪音来自建筑工地\n建议由区住建局承办"
    late = post_form(second, path, {"sign_decision": "return", "return_reason": reason,
                                    "suggested_department": "zjj"}, page="/worklist")
    page = text(late)
    assert late.status_code == 409 and str(TASK_TAKEN) in page
    assert 'class="button" href="/worklist"' in page and f'href="/cases/{case.case_id}"' in page
    assert "您填写的内容（未提交）" in page
    assert f'退单理由</dt><dd class="text">{reason}</dd>' in page  # as typed, line break kept
    assert '签收或退单</dt><dd class="text">退单<' in page  # choices as the form labels them
    assert re.search(r'建议承办单位</dt><dd class="text">[^<]*住建', page)
    assert 'value="complete"' not in page  # nothing to submit again
    assert [r["result"] for r in audit_rows(ws.app, "task.complete")] == ["success", "failure"]
    as_json = second.post(path, data={"csrf_token": token(second, "/worklist"), "sign_decision": "sign"},
                          headers={"Accept": "application/json"})
    assert as_json.status_code == 409 and as_json.get_json()["error"] == TASK_TAKEN


def test_a_task_claimed_by_someone_else_is_409_naming_them(ws_lite: Workspace) -> None:
    case = ws_lite.dispatched("sthj")
    holder = ws_lite.user("h1", "handler", department="sthj", real_name="李承办")
    other = ws_lite.user("h2", "handler", department="sthj")
    sign = ws_lite.office.task(case, "sign_for")
    assert post_form(holder, f"/worklist/tasks/{sign.id}/claim").status_code == 303
    shown = text(other.get(f"/tasks/{sign.id}"))
    assert CLAIMED_BY_OTHER.format(who="李承办") in shown and 'value="complete"' not in shown
    refused = post_form(other, f"/tasks/{sign.id}", {"sign_decision": "sign"})
    assert refused.status_code == 409 and CLAIMED_BY_OTHER.format(who="李承办") in text(refused)
    assert ws_lite.office.task(case, "sign_for").status == "open"


def test_another_units_task_case_and_attachment_ids_are_404(ws: Workspace) -> None:
    cases = {unit: ws.dispatched(unit) for unit in ("sthj", "zjj", "scjg")}
    clients = {unit: ws.user(f"h-{unit}", "handler", department=unit) for unit in cases}
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    files = {}
    for unit, case in cases.items():
        sign = ws.office.task(case, "sign_for")
        path = f"/tasks/{sign.id}"
        saved = post_form(clients[unit], path, {"action": "draft", "attachments": (io.BytesIO(png), "现场.png")},
                          content_type="multipart/form-data", page=path)
        assert saved.status_code == 303
        files[unit] = _attachment_ids(ws, case.case_id)[0]
    for me, them in (("zjj", "sthj"), ("sthj", "zjj"), ("scjg", "sthj"), ("sthj", "scjg")):
        client, case = clients[me], cases[them]
        sign = ws.office.task(case, "sign_for")
        assert client.get(f"/tasks/{sign.id}").status_code == 404, (me, them)
        assert post_form(client, f"/tasks/{sign.id}", {"sign_decision": "sign"}).status_code == 404
        assert client.get(f"/cases/{case.case_id}").status_code == 404
        assert client.get(f"/cases/{case.case_id}/attachments/{files[them]}").status_code == 404
        own = cases[me].case_id
        assert client.get(f"/cases/{own}/attachments/{files[them]}").status_code == 404  # id under my case
        with client.get(f"/cases/{own}/attachments/{files[me]}") as mine:
            assert mine.status_code == 200
    assert ws.office.task(cases["sthj"], "sign_for").status == "open"


def test_drafts_round_trip_per_user_are_encrypted_and_go_when_the_task_completes(ws: Workspace) -> None:
    case = ws.dispatched("sthj")
    handler = ws.user("h1", "handler", department="sthj")
    colleague = ws.user("h2", "handler", department="sthj")
    sign = ws.office.task(case, "sign_for")
    path = f"/tasks/{sign.id}"
    saved = post_form(handler, path, {"action": "draft", "sign_decision": "return",
                                      "return_reason": "此事应由住建局处理，联系人李四"})
    assert saved.status_code == 303 and saved.headers["Location"] == path
    again = text(handler.get(path))
    assert "此事应由住建局处理，联系人李四" in again and 'value="return" checked' in again
    assert "此事应由住建局处理" not in text(colleague.get(path))  # drafts are per user
    with runtime_of(ws.app).read() as db:
        stored = db.scalars(sa.select(TaskDraft.data)).all()
    assert len(stored) == 1 and "住建局" not in stored[0] and stored[0].startswith("v1:")
    rows = audit_rows(ws.app, "task.draft_save")
    assert len(rows) == 1 and "住建局" not in str(rows[0])
    assert post_form(handler, path, {"sign_decision": "sign"}).status_code == 303
    with runtime_of(ws.app).read() as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(TaskDraft)) == 0


def test_form_values_with_markup_are_escaped_when_shown_again(ws_lite: Workspace) -> None:
    case = ws_lite.dispatched("sthj")
    handler = ws_lite.user("h1", "handler", department="sthj")
    sign = ws_lite.office.task(case, "sign_for")
    attack = '</textarea><script>alert("x")</script><img src=x onerror=alert(1)>'
    html = text(post_form(handler, f"/tasks/{sign.id}", {"sign_decision": "bogus", "return_reason": attack}))
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html


def _attachment_ids(ws: Workspace, case_id: str | None) -> list[str]:
    with ws.office.rt.read() as db:
        return list(db.scalars(sa.select(Attachment.id).where(Attachment.case_id == case_id)
                               .order_by(Attachment.uploaded_at)))
