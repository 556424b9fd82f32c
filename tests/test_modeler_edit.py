"""The in-browser modeler (流程编辑): who may use it, saving drafts (hostile ones refused with a clear message, never
a 500), validation answered as problems with element ids, the panel's lists from the registries, its checks and
the form preview, and a version with errors never published."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from processes.accounts import totp
from processes.accounts.roles import ROLES
from processes.clock import FrozenClock
from processes.runtime import definitions
from tests.admin_support import sign_in
from tests.modeler_support import SIMPLE
from tests.modeler_support import scripted
from tests.test_modeler_versions import admin_with_secret
from tests.test_modeler_versions import form
from tests.web_support import audit_rows
from tests.web_support import post
from tests.web_support import token
from tests.web_support import web_app
from webapp import runtime_of

V1 = scripted(SIMPLE)
FORM = {"title": "签收", "type": "object", "required": ["sign_decision"], "properties": {
    "sign_decision": {"title": "签收结论", "type": "string",
                      "oneOf": [{"const": "sign", "title": "签收"}, {"const": "return", "title": "退单"}]},
    "assignee": {"title": "指定人员", "type": "string", "x-options": "users"},
    "note": {"title": "说明", "type": "string", "maxLength": 500}}}


@pytest.fixture
def app(db_url: str, clock: FrozenClock) -> Iterator[Flask]:
    yield from web_app(db_url, clock)


def deploy_v1(app: Flask, text: str = V1, files: dict[str, str] | None = None,
              operators: list[str] | None = None) -> None:
    """Store `simple` v1 as a draft uploaded by an0 (not the analyst of the tests)."""
    rt = runtime_of(app)
    with rt.write() as db, db.begin():
        definitions.deploy(db, "simple", {"simple.bpmn": text, **(files or {})}, actor="an0", now=rt.clock(),
                           operators=operators or rt.handlers)


def send(client: FlaskClient, path: str, body: Any, *, raw: bytes | None = None) -> TestResponse:
    """POST JSON the way modeler-edit.js does: the CSRF token in the X-CSRFToken header."""
    data = raw if raw is not None else json.dumps(body).encode("utf-8")
    return client.post(path, data=data, content_type="application/json",
                       headers={"X-CSRFToken": token(client, "/modeler")})


def versions(app: Flask) -> list[tuple[int, str, str]]:
    """Return (version, status, author) of `simple`, newest first."""
    with runtime_of(app).read() as db:
        return [(r.version, r.status, r.created_by) for r in definitions.list_versions(db, "simple")]


def test_routes_by_role(app: Flask, clock: FrozenClock) -> None:
    deploy_v1(app)
    pages = ["/modeler/simple/v1/edit", "/modeler/roles.json", "/modeler/handlers.json", "/modeler/departments.json"]
    posts = ["/modeler/simple/v1/validate", "/modeler/simple/v1/save", "/modeler/check", "/modeler/form-preview"]
    analyst = sign_in(app, clock, "an1", "analyst")
    assert {p: analyst.get(p).status_code for p in pages} == dict.fromkeys(pages, 200)
    assert analyst.get("/modeler/simple/edit").headers["Location"] == "/modeler/simple/v1/edit"
    for role in ("supervisor", "sysadmin", "operator", "auditor"):
        other = sign_in(app, clock, f"u_{role}", role)
        assert {p: other.get(p).status_code for p in pages} == dict.fromkeys(pages, 403), role
        assert {p: send(other, p, {}).status_code for p in posts} == dict.fromkeys(posts, 403), role
    assert app.test_client().get("/modeler/simple/v1/edit").status_code == 302  # to the login page
    assert analyst.get("/modeler/simple/v9/edit").status_code == 404
    assert analyst.get("/modeler/nope/edit").status_code == 404
    assert analyst.get("/modeler/simple/v1/edit?file=../x.bpmn").status_code == 404
    no_csrf = analyst.post("/modeler/simple/v1/save", json={"xml": V1})
    assert no_csrf.status_code == 400 and versions(app) == [(1, "draft", "an0")]


def test_the_edit_page_carries_its_data_in_attributes_not_inline_script(app: Flask, clock: FrozenClock) -> None:
    deploy_v1(app, files={"forms/sign.schema.json": json.dumps(FORM, ensure_ascii=False)})
    html = sign_in(app, clock, "an1", "analyst").get("/modeler/simple/v1/edit").get_data(as_text=True)
    assert 'data-save-url="/modeler/simple/v1/save"' in html and 'data-xml-url="/modeler/simple/v1/xml?file=' in html
    assert "vendor/bpmn-js/bpmn-modeler.production.min.js" in html and "js/modeler-edit.js" in html
    assert "<script>" not in html and " style=" not in html
    forms = html.split('<script type="application/json" id="modeler-forms">')[1].split("</script>")[0]
    assert json.loads(forms)["forms/sign.schema.json"].startswith('{"title": "签收"')


def test_save_makes_a_new_draft_with_its_author_based_on_the_version_opened(app: Flask, clock: FrozenClock) -> None:
    deploy_v1(app)
    analyst = sign_in(app, clock, "an1", "analyst")
    renamed = V1.replace('name="答复"', 'name="办理答复"')
    schema = json.dumps(FORM, ensure_ascii=False)
    saved = send(analyst, "/modeler/simple/v1/save", {"file": "simple.bpmn", "xml": renamed,
                                                      "forms": {"forms/sign.schema.json": schema}})
    body = saved.get_json()
    assert saved.status_code == 200 and body["ok"] and body["version"] == 2 and body["created"]
    assert "已保存为第 2 版（草稿）" in body["message"] and body["errors"] == 0
    assert body["save_url"] == "/modeler/simple/v2/save"
    assert body["edit_url"] == "/modeler/simple/v2/edit?file=simple.bpmn"
    assert versions(app) == [(2, "draft", "an1"), (1, "draft", "an0")]
    with runtime_of(app).read() as db:
        files = definitions.list_versions(db, "simple")[0].files
    assert files["simple.bpmn"] == renamed and files["forms/sign.schema.json"] == schema
    again = send(analyst, "/modeler/simple/v2/save", {"xml": renamed, "forms": {"forms/sign.schema.json": schema}})
    assert again.get_json()["created"] is False and "内容与第 2 版相同" in again.get_json()["message"]
    older = send(analyst, "/modeler/simple/v1/save", {"xml": V1.replace('name="签收"', 'name="签收确认"')})
    assert older.get_json()["version"] == 3
    with runtime_of(app).read() as db:
        assert "forms/sign.schema.json" not in definitions.list_versions(db, "simple")[0].files  # based on v1
    rows = audit_rows(app, "definition.upload")
    assert [(r["result"], r["actor"], r["object_id"]) for r in rows] == [
        ("success", "an1", "simple v2"), ("success", "an1", "simple v2"), ("success", "an1", "simple v3")]
    assert rows[0]["detail"]["via"] == "modeler" and rows[0]["detail"]["based_on"] == 1


HOSTILE = {
    "xxe": ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</bpmn:definitions>',
            "DOCTYPE"),
    "laughs": ('<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><l>&b;</l>', "DOCTYPE"),
    "not xml": ("just text", "XML 格式错误"),
    "not bpmn": ("<svg/>", "不是 BPMN 2.0 文件"),
    "import": (V1.replace("notified = True", "__import__('os').system('id')"), "安全沙箱禁止"),
    "big": ("<" + "a" * (5 * 1024 * 1024) + "/>", "超过 5 MB"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_saves_are_refused_with_a_clear_message(app: Flask, clock: FrozenClock, name: str) -> None:
    deploy_v1(app)
    analyst = sign_in(app, clock, "an1", "analyst")
    xml, says = HOSTILE[name]
    response = send(analyst, "/modeler/simple/v1/save", {"xml": xml})
    body = response.get_json()
    assert response.status_code == 400 and body["ok"] is False
    assert body["message"].startswith("未保存：") and says in body["message"], body["message"]
    assert "Error" not in body["message"] and "0x" not in body["message"]
    assert versions(app) == [(1, "draft", "an0")]
    assert [r["result"] for r in audit_rows(app, "definition.upload")] == ["failure"]


def test_malformed_requests_are_400_with_a_message(app: Flask, clock: FrozenClock) -> None:
    deploy_v1(app)
    analyst = sign_in(app, clock, "an1", "analyst")
    refused = {
        "not json": (send(analyst, "/modeler/simple/v1/save", None, raw=b"xml=1"), "不是有效的 JSON"),
        "no xml": (send(analyst, "/modeler/simple/v1/save", {"file": "simple.bpmn"}), "没有流程图"),
        "other file": (send(analyst, "/modeler/simple/v1/validate", {"file": "../etc.bpmn", "xml": V1}), "不属于"),
        "form name": (send(analyst, "/modeler/simple/v1/save", {"xml": V1, "forms": {"../x.json": "{}"}}), "forms/"),
        "too big": (send(analyst, "/modeler/simple/v1/save", None, raw=b"{" + b" " * (21 * 1024 * 1024) + b"}"),
                    "超过"),
    }
    for name, (response, says) in refused.items():
        assert response.status_code == 400 and says in response.get_json()["message"], name
    assert versions(app) == [(1, "draft", "an0")]


def test_validate_answers_problems_with_element_ids_in_the_page_language(app: Flask, clock: FrozenClock) -> None:
    deploy_v1(app)
    analyst = sign_in(app, clock, "an1", "analyst")
    good = send(analyst, "/modeler/simple/v1/validate", {"xml": V1}).get_json()
    assert good == {"ok": True, "problems": [], "errors": 0, "warnings": 0, "can_publish": True,
                    "summary": "没有发现问题"}
    bad_xml = (V1.replace('"PT1H"', "P3")
               .replace('<bpmn:userTask id="reply" name="答复">\n      <bpmn:extensionElements>\n'
                        '        <spiffworkflow:properties>\n'
                        '          <spiffworkflow:property name="candidate_role" value="handler"/>\n'
                        '        </spiffworkflow:properties>\n      </bpmn:extensionElements>',
                        '<bpmn:userTask id="reply" name="答复">'))
    bad = send(analyst, "/modeler/simple/v1/validate", {"xml": bad_xml}).get_json()
    found = {(p["severity"], p["code"], p["element_id"]) for p in bad["problems"]}
    assert found == {("error", "timer.iso", "sign_for_warning"), ("warning", "role.none", "reply")}
    timer = next(p for p in bad["problems"] if p["code"] == "timer.iso")
    assert timer["element_name"] == "签收预警" and timer["file"] == "simple.bpmn" and timer["line"]
    assert "ISO 8601" in timer["message"] and "P7D" in timer["hint"] and timer["severity_word"] == "错误"
    assert (bad["errors"], bad["warnings"], bad["can_publish"]) == (1, 1, False)
    post(analyst, "/lang", {"lang": "en"})
    english = send(analyst, "/modeler/simple/v1/validate", {"xml": bad_xml}).get_json()
    assert english["summary"] == "Errors: 1, warnings: 1"  # not "1 errors": counts read right at any number
    assert "not valid ISO 8601" in next(p["message"] for p in english["problems"] if p["code"] == "timer.iso")
    assert versions(app) == [(1, "draft", "an0")]  # validating stores nothing


def test_the_panel_lists_come_from_the_registries(app: Flask, clock: FrozenClock) -> None:
    analyst = sign_in(app, clock, "an1", "analyst")
    roles = analyst.get("/modeler/roles.json").get_json()
    assert [r["code"] for r in roles] == [c for c, r in ROLES.items() if not r.admin]
    assert {"code": "handler", "name": "承办人"} in roles
    handlers = analyst.get("/modeler/handlers.json").get_json()
    registry = runtime_of(app).handlers
    assert [h["id"] for h in handlers] == sorted(registry)
    outbox = next(h for h in handlers if h["id"] == "outbox.send")
    assert outbox["label"] == registry["outbox.send"].label_zh
    assert [p["name"] for p in outbox["params"]] == list(registry["outbox.send"].params)
    assert outbox["params"][0]["doc"] == registry["outbox.send"].params["channel"]
    assert outbox["doc"] == ""  # the docstring is English: not on the Chinese page
    post(analyst, "/lang", {"lang": "en"})
    assert {"code": "handler", "name": "Department handler"} in analyst.get("/modeler/roles.json").get_json()
    english = next(h for h in analyst.get("/modeler/handlers.json").get_json() if h["id"] == "outbox.send")
    assert english["doc"] and english["label"] == registry["outbox.send"].label_en


def test_the_edit_page_names_element_types_and_offers_the_version_s_processes_to_call(
        app: Flask, clock: FrozenClock) -> None:
    deploy_v1(app)
    analyst = sign_in(app, clock, "an1", "analyst")

    def types(page: str) -> dict[str, str]:
        found = re.search(r"data-types='([^']*)'", page)
        assert found is not None
        return dict(json.loads(html.unescape(found.group(1))))

    page = analyst.get("/modeler/simple/v1/edit").get_data(as_text=True)
    assert '<datalist id="called-processes"><option value="simple">' in page and 'data-section="call"' in page
    assert types(page)["userTask"] == "用户任务" and types(page)["callActivity"] == "调用活动（子流程）"
    post(analyst, "/lang", {"lang": "en"})
    english = analyst.get("/modeler/simple/v1/edit").get_data(as_text=True)
    assert types(english)["userTask"] == "User task" and 'data-word-param="{name} ({doc})"' in english


def test_conditions_and_timer_values_are_checked_by_the_sandbox_rules(app: Flask, clock: FrozenClock) -> None:
    analyst = sign_in(app, clock, "an1", "analyst")

    def check(kind: str, expression: str) -> dict[str, Any]:
        answer: dict[str, Any] = send(analyst, "/modeler/check", {"kind": kind, "expression": expression}).get_json()
        return answer

    assert check("condition", "verdict == 'approve'")["ok"] is True
    assert check("condition", "verdict ==")["message"] == "脚本或条件不是合法的 Python 表达式"
    sandbox = check("condition", "__import__('os').system('id')")
    assert sandbox["ok"] is False and "沙箱" in sandbox["message"] and "import" in sandbox["hint"]
    assert check("duration", "P3D")["ok"] is True and check("cycle", "R6/P1D")["ok"] is True
    assert check("date", "handle_deadline['due']")["ok"] is True
    wrong = check("duration", "P3")
    assert wrong["ok"] is False and "ISO 8601" in wrong["message"] and "P7D" in wrong["hint"]
    assert check("duration", "__import__('os')")["ok"] is False
    assert send(analyst, "/modeler/check", {"kind": "shell", "expression": "x"}).status_code == 400
    assert send(analyst, "/modeler/check", {"kind": "condition", "expression": ""}).status_code == 400
    assert send(analyst, "/modeler/check", None, raw=b"[").status_code == 400


def test_form_preview_draws_the_operator_form_without_listing_people(app: Flask, clock: FrozenClock) -> None:
    analyst = sign_in(app, clock, "an1", "analyst")
    sign_in(app, clock, "op1", "operator")

    def preview(schema: str) -> TestResponse:
        return analyst.post("/modeler/form-preview", data={"schema": schema, "name": "forms/sign.schema.json"},
                            headers={"X-CSRFToken": token(analyst, "/modeler")})

    shown = preview(json.dumps(FORM, ensure_ascii=False))
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200 and 'data-fields="3"' in html
    assert "签收结论" in html and 'value="return"' in html and "说明" in html and 'class="required"' in html
    assert "办理时列出可选的人员" in html and "op1" not in html
    bad = preview('{"title": "x",')
    # a half-typed schema is answered, not failed (no failed request in the console while typing)
    assert bad.status_code == 200 and 'role="alert"' in bad.get_data(as_text=True)
    assert "不是合法的 JSON" in bad.get_data(as_text=True)
    assert "必须是一个 JSON 对象" in preview("[1, 2]").get_data(as_text=True)


def test_a_version_with_errors_is_never_published(app: Flask, clock: FrozenClock) -> None:
    gone = V1.replace('<bpmn:scriptTask id="notify" name="通知">',
                      '<bpmn:serviceTask id="notify" name="通知"><bpmn:extensionElements>'
                      '<spiffworkflow:serviceTaskOperator id="gone.handler"><spiffworkflow:parameters/>'
                      '</spiffworkflow:serviceTaskOperator></bpmn:extensionElements>'
                      ).replace("<bpmn:script>notified = True</bpmn:script></bpmn:scriptTask>", "</bpmn:serviceTask>")
    deploy_v1(app, gone, operators=[*runtime_of(app).handlers, "gone.handler"])  # a handler since removed
    admin, secret = admin_with_secret(app, clock, "admin1")
    page = admin.get("/modeler/simple/v1/publish").get_data(as_text=True)
    assert 'data-can-publish="0"' in page and "gone.handler" in page and "有错误的版本不能发布" in page
    assert '<a href="/modeler/simple"><code>simple</code></a>' in page  # a way back to the versions
    refused = form(admin, "/modeler/simple/v1/publish", {"code": totp.code_at(secret, clock())})
    assert refused.status_code == 409 and "此版本有校验错误，不能发布" in refused.get_data(as_text=True)
    assert versions(app) == [(1, "draft", "an0")]
    assert [(r["result"], r["detail"]["reason"]) for r in audit_rows(app, "definition.publish")] == [
        ("denied", "invalid")]
    clock.advance(seconds=30)
    deploy_v1(app)  # v2, clean: its publication goes through
    assert 'data-can-publish="1"' in admin.get("/modeler/simple/v2/publish").get_data(as_text=True)
    assert form(admin, "/modeler/simple/v2/publish", {"code": totp.code_at(secret, clock())}).status_code == 303
