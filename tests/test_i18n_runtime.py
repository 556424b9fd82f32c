"""English beyond the templates: runtime refusals (运行时提示) on pages and the API, handler labels, field messages."""

from __future__ import annotations

from flask import session

from handlers.base import REGISTRY
from processes.errors import AlreadyRegistered
from processes.errors import Conflict
from tests.api_support import bearer
from tests.api_support import make_key
from tests.intake_support import CALL
from tests.intake_support import register
from tests.web_support import post
from tests.workspace_support import Workspace
from tests.workspace_support import post_form
from tests.workspace_support import text
from webapp.casework import CLAIMED_BY_OTHER
from webapp.casework import runtime_message

HTMX = {"HX-Request": "true"}


def test_a_lost_claim_is_told_in_the_users_language(ws_lite: Workspace) -> None:
    ws = ws_lite
    case = ws.dispatched("sthj")
    first = ws.user("h1", "handler", department="sthj", real_name="李承办")
    chinese = ws.user("h2", "handler", department="sthj")
    english = ws.user("h3", "handler", department="sthj")
    post(english, "/lang", {"lang": "en"})
    sign = ws.office.task(case, "sign_for")
    assert post_form(first, f"/worklist/tasks/{sign.id}/claim").status_code == 303
    lost = post_form(english, f"/worklist/tasks/{sign.id}/claim", headers=HTMX)
    assert lost.status_code == 409 and "This task is claimed by 李承办; you cannot handle it." in text(lost)
    assert "认领" not in text(lost)
    flashed = text(post_form(english, f"/worklist/tasks/{sign.id}/claim", follow_redirects=True))
    assert "This task is claimed by 李承办" in flashed
    assert "该任务已被 李承办 认领，您不能办理。" in text(post_form(chinese, f"/worklist/tasks/{sign.id}/claim",
                                                             headers=HTMX))
    ws.office.complete(case, "sign_for", {"sign_decision": "sign"}, actor="h1")
    gone = post_form(english, f"/worklist/tasks/{sign.id}/unclaim", headers={"Accept": "application/json"})
    assert gone.status_code in (404, 409)
    assert gone.get_json()["error"] in ("Someone else has done this task or it is no longer open; refresh the "
                                        "worklist.", "The case or task does not exist, or you may not see it.")


def test_api_problems_follow_accept_language_for_runtime_refusals(ws_lite: Workspace) -> None:
    ws = ws_lite
    case = ws.dispatched("sthj")
    first, second = (make_key(ws.app, name, "tasks", department="sthj") for name in ("sthj-a", "sthj-b"))
    client = ws.app.test_client()
    task = ws.office.task(case, "sign_for")
    assert client.post(f"/api/v1/tasks/{task.id}/claim", headers=bearer(first)).status_code == 200
    body = {"data": {"sign_decision": "sign"}}
    zh = client.post(f"/api/v1/tasks/{task.id}/complete", json=body, headers=bearer(second)).get_json()
    en = client.post(f"/api/v1/tasks/{task.id}/complete", json=body,
                     headers={**bearer(second), "Accept-Language": "en"}).get_json()
    assert zh["status"] == en["status"] == 409
    assert "认领" in zh["detail"] and en["detail"].startswith("This task is claimed by ")
    assert en["detail"].endswith("; you cannot handle it.") and en["title"] == "Conflict"
    assert client.post(f"/api/v1/tasks/{task.id}/complete", json=body, headers=bearer(first)).status_code == 200
    again = client.post(f"/api/v1/tasks/{task.id}/complete", json=body,
                        headers={**bearer(first), "Accept-Language": "en-GB,en;q=0.9"})
    assert again.status_code == 409
    assert again.get_json()["detail"] == ("Someone else has done this task or it is no longer open; "
                                          "refresh the worklist.")


def test_formatted_messages_are_translated_when_shown(ws_lite: Workspace) -> None:
    message = runtime_message(AlreadyRegistered("DT20261125-0042"))
    claimed = runtime_message(Conflict("task is claimed by h.sthj"))
    with ws_lite.app.test_request_context("/"):
        assert str(message) == "该警情编号已登记为工单 DT20261125-0042，请勿重复登记。"
        assert CLAIMED_BY_OTHER.format(who="王芳") == "该任务已被 王芳 认领，您不能办理。"
    with ws_lite.app.test_request_context("/"):
        session["lang"] = "en"
        assert str(message) == ("This incident number is already registered as case DT20261125-0042; "
                                "do not register it again.")
        assert str(claimed) == "This task is claimed by h.sthj; you cannot handle it."
        assert CLAIMED_BY_OTHER.format(who="王芳") == "This task is claimed by 王芳; you cannot handle it."


def test_every_handler_has_an_english_label() -> None:
    assert REGISTRY
    for operator, spec in REGISTRY.items():
        assert spec.label_zh and not spec.label_zh.isascii(), operator
        assert spec.label_en.isascii() and spec.label_en.strip() and spec.label_en[0].isupper(), operator
        assert spec.label("en") == spec.label_en and spec.label("zh") == spec.label_zh
    labels = [spec.label_en for spec in REGISTRY.values()]
    assert len(set(labels)) == len(labels)  # two operators never read the same in the picker


def test_the_modelers_handler_picker_speaks_the_users_language(ws_lite: Workspace) -> None:
    analyst = ws_lite.user("an1", "analyst")
    chinese = {h["id"]: h for h in analyst.get("/modeler/handlers.json").get_json()}
    assert chinese["outbox.send"]["label"] == chinese["outbox.send"]["title"] == "发送消息（发件箱）"
    post(analyst, "/lang", {"lang": "en"})
    english = {h["id"]: h for h in analyst.get("/modeler/handlers.json").get_json()}
    assert english["outbox.send"]["label"] == english["outbox.send"]["title"] == "Send a message (outbox)"
    assert all(h["label"].isascii() for h in english.values())
    assert sorted(english) == sorted(REGISTRY)


def test_field_messages_made_in_python_follow_the_page_language(ws_lite: Workspace) -> None:
    operator = ws_lite.user("op9", "operator")
    chinese = register(operator, "phone", **{**CALL, "content": "  ", "title": "长" * 300}).get_data(as_text=True)
    assert 'id="e-content">此项必填' in chinese and "不能超过" in chinese
    post(operator, "/lang", {"lang": "en"})
    english = register(operator, "phone", **{**CALL, "content": "  ", "title": "长" * 300}).get_data(as_text=True)
    assert 'id="e-content">Required</p>' in english and "At most " in english and "不能超过" not in english
    search = text(operator.get("/search?number=DT%3Cx%3E&date_from=2026-13-01"))
    assert "A case number has letters, digits and hyphens only (at most 32 characters)." in search
    assert "只含字母" not in search
