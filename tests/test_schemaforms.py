"""Forms from JSON schemas: every form in bpmn/ becomes fields, and typed form data fits its schema."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from processes.cases import forms
from webapp.schemaforms import FormSpec
from webapp.schemaforms import Option
from webapp.schemaforms import defaults
from webapp.schemaforms import describe
from webapp.schemaforms import is_start_form
from webapp.schemaforms import raw_values
from webapp.schemaforms import read
from webapp.schemaforms import shown_value
from webapp.schemaforms import undeclared
from webapp.schemaforms.values import NO_NUMBERS
from webapp.schemaforms.values import NOT_BOOLEAN
from webapp.schemaforms.values import NOT_INTEGER

ROOT = Path(__file__).resolve().parent.parent
FORM_FILES = sorted(ROOT.glob("bpmn/*/forms/*.schema.json"))
TEXTS = ("DT20261125-0001", "0577-6348 1234")  # a case number (fits reference patterns) and a landline
CHOICES = {"townships": [Option("beiao", "北岙街道")],
           "departments": [Option("sthj", "区生态环境分局"), Option("zjj", "区住建局")],
           "categories": [Option("噪音扰民", "噪音扰民")], "users": [Option("op1", "张三 (op1)")]}
WIDGETS = {"radio", "select", "boolean", "text", "textarea", "integer", "number", "date", "datetime", "checkboxes",
           "lines", "attachments"}


def schema_of(path: Path) -> dict[str, Any]:
    """Read a form schema file."""
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def spec_of(path: Path) -> FormSpec:
    """Describe a form with the test choices for x-options fields."""
    return describe(schema_of(path), lambda source, _name: CHOICES[source])


def sample(schema: dict[str, Any], spec: FormSpec) -> MultiDict[str, str]:
    """Fill every field of a form the way a browser would submit it (so every if/then is satisfied)."""
    form: MultiDict[str, str] = MultiDict()
    for f in spec.fields:
        if f.widget == "attachments":
            continue  # ids of files uploaded on the task; covered by the web tests
        if f.options:
            form.add(f.name, f.options[0].value)
        elif f.widget == "boolean":
            form.add(f.name, "true")
        elif f.widget in ("integer", "number"):
            form.add(f.name, str(int(f.minimum or 1)))
        elif f.widget == "datetime":
            form.add(f.name, "2026-11-25T09:30")
        elif f.widget == "date":
            form.add(f.name, "2026-11-25")
        else:
            pattern = re.compile(schema["properties"][f.name].get("pattern") or ".*")
            form.add(f.name, next(v for v in TEXTS if pattern.search(v)))
    return form


def test_there_are_at_least_sixteen_forms() -> None:
    assert len(FORM_FILES) >= 16


@pytest.mark.parametrize("path", FORM_FILES, ids=lambda p: p.name)
def test_every_property_becomes_a_field_with_a_known_widget(path: Path) -> None:
    schema, spec = schema_of(path), spec_of(path)
    assert [f.name for f in spec.fields] == list(schema["properties"])
    assert spec.title == schema["title"]
    for f in spec.fields:
        prop = schema["properties"][f.name]
        assert f.widget in WIDGETS, f
        assert f.label == prop.get("title", f.name)
        assert f.required == (f.name in schema.get("required", []))
        if "oneOf" in prop:
            assert [o.label for o in f.options] == [c["title"] for c in prop["oneOf"]]
        if prop.get("x-options") or prop.get("items", {}).get("x-options"):
            assert f.options and f.widget in ("select", "checkboxes")
        if prop.get("type") == "string" and int(prop.get("maxLength") or 0) > 200 and not f.options:
            assert f.widget == "textarea"


@pytest.mark.parametrize("path", FORM_FILES, ids=lambda p: p.name)
def test_a_filled_form_types_into_data_its_schema_accepts(path: Path) -> None:
    schema, spec = schema_of(path), spec_of(path)
    data, errors = read(spec, sample(schema, spec))
    assert errors == {}
    assert forms.errors_of(schema, data) == {}
    empty, errors = read(spec, MultiDict({f.name: "" for f in spec.fields}))
    assert empty == {} and errors == {}  # empty strings are dropped, not sent as values
    assert set(forms.errors_of(schema, empty)) == set(schema.get("required", []))


@pytest.mark.parametrize("path", FORM_FILES, ids=lambda p: p.name)
def test_conditional_requirements_are_noted_on_their_fields(path: Path) -> None:
    schema, spec = schema_of(path), spec_of(path)
    for rule in schema.get("allOf", []):
        for name in rule["then"].get("required", []):
            notes = spec.get(name).conditions  # type: ignore[union-attr]
            assert notes and all(note.startswith("「") for note in notes)


def test_values_are_typed_booleans_numbers_lists_and_times() -> None:
    spec = spec_of(ROOT / "bpmn/_shared/forms/reply.schema.json")
    form = MultiDict([("reply_action", "extend"), ("extension_days", "\uff13"), ("extension_reason", "  需协调  "),
                      ("solved", "false"), ("contacted", "是"), ("reply_text", "第一行\r\n第二行")])
    data, errors = read(spec, form)
    assert errors == {}
    assert data == {"reply_action": "extend", "extension_days": 3, "extension_reason": "需协调", "solved": False,
                    "contacted": True, "reply_text": "第一行\n第二行"}
    dispatch = spec_of(ROOT / "bpmn/_shared/forms/dispatch.schema.json")
    data, _ = read(dispatch, MultiDict([("dispatch_mode", "department"), ("assisting_departments", "sthj"),
                                          ("assisting_departments", "zjj"), ("lead_department", "sthj")]))
    assert data["assisting_departments"] == ["sthj", "zjj"]
    inspection = spec_of(ROOT / "bpmn/_shared/forms/inspection.schema.json")
    data, _ = read(inspection, MultiDict([("inspected_at", "2026-11-25T09:30"), ("latitude", "27.8")]),
                     {"photos": ["f0e1d2c3-0000-4000-8000-000000000000"]})
    assert data == {"inspected_at": "2026-11-25T09:30:00+08:00", "latitude": 27.8,
                    "photos": ["f0e1d2c3-0000-4000-8000-000000000000"]}


def test_typing_problems_and_unknown_choices_are_reported_per_field() -> None:
    spec = spec_of(ROOT / "bpmn/_shared/forms/reply.schema.json")
    _, errors = read(spec, MultiDict([("extension_days", "三天"), ("solved", "maybe"), ("reply_action", "x")]))
    assert errors == {"extension_days": NOT_INTEGER, "solved": NOT_BOOLEAN, "reply_action": forms.CHOOSE}
    dispatch = spec_of(ROOT / "bpmn/_shared/forms/dispatch.schema.json")
    _, errors = read(dispatch, MultiDict([("lead_department", "nowhere"), ("assisting_departments", "gone")]))
    assert errors == {"lead_department": forms.CHOOSE, "assisting_departments": forms.CHOOSE}


def test_undeclared_fields_are_passed_on_for_the_schema_to_refuse() -> None:
    spec = spec_of(ROOT / "bpmn/_shared/forms/sign_for.schema.json")
    form = MultiDict([("csrf_token", "t"), ("action", "complete"), ("sign_decision", "sign"),
                      ("lead_department", "zjj"), ("photos__files", "")])
    data, errors = read(spec, form)
    data |= undeclared(spec, form)
    assert errors == {} and data == {"sign_decision": "sign", "lead_department": "zjj"}
    assert forms.errors_of(schema_of(ROOT / "bpmn/_shared/forms/sign_for.schema.json"), data) == {
        "lead_department": forms.UNKNOWN}


def test_raw_values_keep_what_was_typed_for_drafts_and_for_showing_again() -> None:
    spec = spec_of(ROOT / "bpmn/_shared/forms/dispatch.schema.json")
    form = MultiDict([("dispatch_mode", "internal"), ("assisting_departments", "sthj"), ("handling_note", "a\r\nb"),
                      ("internal_assignee", ""), ("unknown", "x")])
    raw = raw_values(spec, form)
    assert raw == {"dispatch_mode": "internal", "assisting_departments": ["sthj"], "handling_note": "a\nb"}
    fields = {f.name: f for f in spec.fields}
    assert shown_value(fields["assisting_departments"], raw) == ["sthj"]
    assert shown_value(fields["forced_dispatch"], {"forced_dispatch": True}) == "true"
    assert shown_value(fields["internal_assignee"], raw) == ""


START_FORMS = sorted(ROOT.glob("bpmn/*/forms/intake.schema.json"))
PERSONAL_OR_CASE_TEXT = {"requester_phone", "requester_name", "requester_address", "caller_type", "content",
                         "location"}


@pytest.mark.parametrize("path", START_FORMS, ids=lambda p: p.parent.parent.name)
def test_a_start_form_is_drawn_compactly_and_guards_its_routing_fields(path: Path) -> None:
    schema = schema_of(path)
    spec = describe(schema, lambda source, _name: CHOICES[source], start=True)
    assert is_start_form(f"forms/{path.name}") and not is_start_form("forms/triage.schema.json")
    for f in spec.fields:
        prop = schema["properties"][f.name]
        assert not f.autofill and f.rows == 6, f
        if prop.get("x-options") == "categories":  # free text: a category outside the 派单目录 may be typed
            assert (f.widget, f.options, f.suggestions) == ("text", [], ["噪音扰民"])
        elif "oneOf" in prop or "x-options" in prop:
            assert f.widget == "select" and f.options, f
        assert (f.widget == "checkbox") == (prop["type"] == "boolean")
        assert (f.widget == "tel") == (f.name == "requester_phone")
        assert f.seconds == (prop.get("format") == "date-time")
        assert f.no_numbers == (f.name not in PERSONAL_OR_CASE_TEXT), f.name


def test_a_start_form_reads_ticks_full_width_digits_and_fixed_values_and_refuses_numbers() -> None:
    schema = schema_of(ROOT / "bpmn/case_phone/forms/intake.schema.json")
    spec = describe(schema, lambda source, _name: CHOICES[source], start=True, fixed={"township": "luxi"})
    form = MultiDict([("requester_phone", "\uff11\uff13\uff18" "12345678"), ("confidential", "on"),
                      ("township", "beiao"), ("category", "新类别"), ("urgency", "now"),
                      ("title", "身份证11010119900307123X"), ("content", "第一行\r\n第二行"), ("paste", "not a field")])
    data, errors = read(spec, form)
    assert data == {"requester_phone": "13812345678", "township": "luxi", "category": "新类别",
                    "content": "第一行\n第二行", "confidential": True}
    assert errors == {"urgency": forms.CHOOSE, "title": NO_NUMBERS}
    unticked, _ = read(spec, MultiDict([("confidential", "false")]))
    assert unticked == {"township": "luxi"}  # an unticked box is left out, the fixed township stays
    assert raw_values(spec, form)["township"] == "luxi" and defaults(spec)["township"] == "luxi"
    platform = describe(schema_of(ROOT / "bpmn/case_platform/forms/intake.schema.json"), start=True)
    deadline = platform.get("upstream_deadline")
    assert deadline is not None and shown_value(deadline, {"upstream_deadline": "2026-12-01T17:30:00"}) == \
        "2026-12-01T17:30:00"  # with seconds: shown as typed
    data, _ = read(platform, MultiDict([("upstream_deadline", "2026-12-01 17:30:05")]))
    assert data == {"upstream_deadline": "2026-12-01T17:30:05+08:00"}
