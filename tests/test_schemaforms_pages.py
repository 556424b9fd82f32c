"""One schema-to-form pipeline: intake screens (登记) and task pages (办理) draw and read their forms the same way."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import render_template_string

from processes.cases.forms import INTAKE_FORM
from processes.db.base import new_id
from processes.runtime.models import HumanTask
from tests.intake_support import CALL
from tests.workspace_support import Workspace
from tests.workspace_support import post_form
from tests.workspace_support import text
from webapp import schemaforms
from webapp.intake.views import published_form
from webapp.schemaforms import choices
from webapp.schemaforms.values import NO_NUMBERS

ROOT = Path(__file__).resolve().parent.parent
PHONE_START_FORM = json.loads((ROOT / "bpmn/case_phone/forms" / INTAKE_FORM).read_text(encoding="utf-8"))
FIELD = re.compile(r'<div class="field [^"]*" id="field-(\w+)"[^>]*>.*?</div>', re.S)
# A registration with two mistakes: a phone number in the title (refused there) and no content (required).
TYPED = {**CALL, "title": "联系13912345678", "content": "", "confidential": "true", "caller_type": "enterprise"}


def fields_of(html: str) -> dict[str, str]:
    """Return each form field's markup in a page, by field name."""
    return {m.group(1): m.group(0) for m in FIELD.finditer(html)}


def start_form_task(ws: Workspace) -> str:
    """Put an open dispatcher task on a phone case whose form is the phone channel's start form."""
    opened = ws.case()
    task_id = new_id()
    with ws.office.rt.write() as db, db.begin():
        db.add(HumanTask(id=task_id, instance_id=opened.instance_id, case_id=opened.case_id, bpmn_id="probe",
                         name="登记信息", role="dispatcher", form=INTAKE_FORM, status="open",
                         created_at=ws.office.clock()))
    return task_id


def test_the_same_schema_renders_the_same_field_html_on_the_intake_screen_and_a_task_page(ws_lite: Workspace) -> None:
    operator = ws_lite.user("op1", "operator")
    dispatcher = ws_lite.user("d1", "dispatcher")
    task = start_form_task(ws_lite)
    intake = post_form(operator, "/intake/phone", {**TYPED, "action": "register"}, page="/intake/phone")
    task_page = post_form(dispatcher, f"/tasks/{task}", {**TYPED, "action": "complete"}, page=f"/tasks/{task}")
    assert intake.status_code == task_page.status_code == 400
    on_intake, on_task = fields_of(text(intake)), fields_of(text(task_page))
    assert list(on_intake) == list(on_task) == list(PHONE_START_FORM["properties"])
    for name, markup in on_intake.items():
        assert markup == on_task[name], name
    assert f'id="e-title">{NO_NUMBERS}' in on_intake["title"] and 'id="e-content">' in on_intake["content"]
    assert 'name="confidential" value="true" checked' in on_intake["confidential"]
    assert 'value="enterprise" selected' in on_intake["caller_type"] and 'list="list-category"' in on_intake["category"]


def test_both_pages_draw_exactly_what_the_macro_draws_from_the_schema(ws_lite: Workspace) -> None:
    operator = ws_lite.user("op1", "operator")
    handler = ws_lite.user("h1", "handler", department="sthj")
    sign = ws_lite.office.task(ws_lite.dispatched("sthj"), "sign_for")
    pages = {"intake": text(operator.get("/intake/phone")), "task": text(handler.get(f"/tasks/{sign.id}"))}
    with ws_lite.app.test_request_context(), ws_lite.office.rt.read() as db:
        start = published_form(db, "case_phone", INTAKE_FORM)
        task = published_form(db, "case_phone", "sign_for.schema.json")
        assert start is not None and start == PHONE_START_FORM and task is not None
        specs = {"intake": schemaforms.describe(start, choices.lookup(db, None), start=True),
                 "task": schemaforms.describe(task, choices.lookup(db, None))}
        for page, spec in specs.items():
            drawn = render_template_string(
                '{% from "schemaforms/_field.html" import field %}{% for f in spec.fields %}'
                "{{ field(f, values[f.name], none) }}{% endfor %}",
                spec=spec, values=schemaforms.shown(spec, schemaforms.defaults(spec)))
            assert fields_of(pages[page]) == fields_of(drawn), page
            assert len(fields_of(drawn)) == len(spec.fields) > 0


def test_one_read_function_serves_the_intake_the_direct_answer_and_the_task_submits(
        ws_lite: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    real = schemaforms.read

    def spy(spec: schemaforms.FormSpec, *args: Any, **kwargs: Any) -> Any:
        seen.append(spec.title)
        return real(spec, *args, **kwargs)

    monkeypatch.setattr(schemaforms, "read", spy)
    operator = ws_lite.user("op-disp", "operator", "dispatcher")
    answer = {"answer_now": "true", "direct_answer": "可到区行政服务中心一楼补办", "answer_source": "policy"}
    registered = post_form(operator, "/intake/phone", {**CALL, "request_type": "consult", **answer})
    assert registered.status_code == 302
    case = ws_lite.dispatched("sthj")
    handler = ws_lite.user("h1", "handler", department="sthj")
    sign = ws_lite.office.task(case, "sign_for")
    assert post_form(handler, f"/tasks/{sign.id}", {"sign_decision": "sign"}).status_code == 303
    assert seen == ["来电登记", "直接答复", "签收"]
