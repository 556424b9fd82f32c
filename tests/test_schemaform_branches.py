"""Fields that belong to one choice (分支字段): declared by the schemas' if/then, kept and checked only for it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from processes.cases import forms
from tests.test_schemaforms import FORM_FILES
from tests.test_schemaforms import ROOT
from tests.test_schemaforms import schema_of
from tests.test_schemaforms import spec_of
from tests.web_support import audit_rows
from tests.workspace_support import Workspace
from tests.workspace_support import post_form
from tests.workspace_support import text
from webapp.schemaforms import read
from webapp.schemaforms import relevant
from webapp.schemaforms.fields import text_of

REPLY = ROOT / "bpmn/_shared/forms/reply.schema.json"
REPLY_FIELDS = ["claim_true", "beyond_duty", "solved", "contacted", "contact_record", "reply_text", "public_reply"]
FILLED_REPLY = {"claim_true": "true", "solved": "false", "not_solved_reason": "待协调", "contacted": "true",
                "contact_record": "电话联系", "reply_text": "已处理", "public_reply": "已处理。"}


def kept(form: dict[str, str]) -> tuple[dict[str, object], dict[str, str]]:
    """What the reply form keeps of a submission, and its field errors."""
    spec = spec_of(REPLY)
    return relevant(spec, *read(spec, MultiDict(form)))


def test_the_reply_forms_fields_belong_to_reply_or_to_extension() -> None:
    spec = spec_of(REPLY)
    assert spec.get("reply_action").when == []  # type: ignore[union-attr]
    for name in REPLY_FIELDS:
        assert spec.get(name).when == [{"reply_action": "reply"}], name  # type: ignore[union-attr]
    for name in ("extension_days", "extension_reason"):
        assert spec.get(name).when == [{"reply_action": "extend"}], name  # type: ignore[union-attr]
    assert spec.get("not_solved_reason").when == [{"solved": "false"}]  # type: ignore[union-attr]


def test_an_extension_keeps_only_its_own_fields_and_ignores_the_reply_fields_problems() -> None:
    data, errors = kept({"reply_action": "extend", "extension_days": "3", "extension_reason": "需协调",
                         **FILLED_REPLY, "claim_true": "也许"})
    assert data == {"reply_action": "extend", "extension_days": 3, "extension_reason": "需协调"}
    assert errors == {}  # 也许 is no 是/否, but the field is not part of an extension
    data, errors = kept({"reply_action": "extend", "extension_days": "三"})
    assert errors == {"extension_days": "请填写整数"}


def test_a_reply_keeps_its_fields_and_a_nested_branch_follows_its_own_choice() -> None:
    data, _ = kept({"reply_action": "reply", "extension_days": "3", "extension_reason": "x", **FILLED_REPLY})
    assert set(data) == {"reply_action", *FILLED_REPLY}
    data, _ = kept({"reply_action": "reply", **FILLED_REPLY, "solved": "true"})
    assert "not_solved_reason" not in data and data["solved"] is True
    data, _ = kept({"reply_action": "extend", **FILLED_REPLY})  # 未解决原因 hangs on a field of the other branch
    assert data == {"reply_action": "extend"}
    data, _ = kept({**FILLED_REPLY})  # nothing chosen: no branch's field is kept, the choice itself is asked for
    assert data == {}


@pytest.mark.parametrize("path", FORM_FILES, ids=lambda p: p.name)
def test_a_field_required_by_a_choice_belongs_to_it(path: Path) -> None:
    schema, spec = schema_of(path), spec_of(path)
    for rule in schema.get("allOf", []):
        condition = {name: text_of(test["const"]) for name, test in rule["if"]["properties"].items()}
        for name in [*rule["then"].get("required", []), *rule["then"].get("properties", {})]:
            field = spec.get(name)
            assert field is not None, (path, name)
            assert not field.when or condition in field.when, (path, name, field.when)


@pytest.mark.parametrize("form, choice, belongs, not_shown", [
    ("triage", {"triage_result": "transfer"}, "transfer_target", "reject_reason"),
    ("triage", {"triage_result": "dispatch"}, "category", "transfer_note"),
    ("dispatch", {"dispatch_mode": "internal"}, "internal_assignee", "lead_department"),
    ("return_review", {"return_decision": "reject_return"}, "review_note", "new_department"),
    ("sign_for", {"sign_decision": "sign"}, "sign_decision", "return_reason"),
    ("callback", {"callback_result": "unreachable"}, "callback_note", "solved"),
    ("callback", {"callback_result": "basically_satisfied"}, "solved", "unsatisfied_decision"),
    ("review", {"review_result": "accept"}, "review_note", None),
])
def test_the_other_decision_forms_keep_the_chosen_branch(form: str, choice: dict[str, str], belongs: str,
                                                        not_shown: str | None) -> None:
    path = ROOT / f"bpmn/_shared/forms/{form}.schema.json"
    spec = spec_of(path)
    assert spec.get(belongs) is not None and (not_shown is None or spec.get(not_shown) is not None)
    everything = {f.name: f.options[0].value if f.options else ("true" if f.widget == "boolean" else "1")
                  for f in spec.fields if f.widget != "attachments"}
    data, _ = relevant(spec, *read(spec, MultiDict({**everything, **choice})))
    assert belongs in data and (not_shown is None or not_shown not in data)
    assert forms.errors_of(schema_of(path), data) == {}  # what is kept fits the schema


def reply_task(ws: Workspace) -> tuple[str, FlaskClient]:
    """A case signed for by 环保局: the path of its 办理答复 task and a signed-in handler of the unit."""
    case = ws.dispatched("sthj")
    ws.office.complete(case, "sign_for", {"sign_decision": "sign"}, department="sthj")
    handler = ws.user("br-h", "handler", department="sthj")
    return f"/tasks/{ws.office.task(case, 'reply').id}", handler


def test_the_reply_page_marks_each_field_with_its_choice(ws_lite: Workspace) -> None:
    path, handler = reply_task(ws_lite)
    html = text(handler.get(path))
    assert re.search(r'id="field-extension_days"\s+data-when=\'\[\{"reply_action": ?"extend"\}\]\'', html)
    assert re.search(r'id="field-public_reply"\s+data-when=\'\[\{"reply_action": ?"reply"\}\]\'', html)
    assert re.search(r'id="field-reply_action">', html)  # the choice itself shows always


def test_without_javascript_an_extension_is_sent_with_the_reply_fields_and_only_its_own_are_kept(
        ws_lite: Workspace) -> None:
    path, handler = reply_task(ws_lite)
    refused = post_form(handler, path, {"reply_action": "extend", **FILLED_REPLY, "contacted": "也许"})
    assert refused.status_code == 400 and 'id="e-extension_days"' in text(refused)
    assert 'id="e-contacted"' not in text(refused) and 'id="e-reply_text"' not in text(refused)
    done = post_form(handler, path, {"reply_action": "extend", "extension_days": "3", "extension_reason": "需协调",
                                     **FILLED_REPLY, "contacted": "也许"})
    assert done.status_code == 303, text(done)[:500]
    row = [r for r in audit_rows(ws_lite.app, "task.complete") if r["result"] == "success"][-1]
    assert row["detail"]["fields"] == ["extension_days", "extension_reason", "reply_action"]
