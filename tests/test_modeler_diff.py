"""Visual diff of two versions (版本对比): elements compared by BPMN id; the page marks them on both diagrams."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from flask import Flask

from processes.clock import FrozenClock
from processes.errors import UploadRejected
from processes.modeling import diff
from processes.runtime import definitions
from tests.admin_support import sign_in
from tests.modeler_support import SIMPLE
from tests.modeler_support import scripted
from tests.modeler_support import with_check
from tests.web_support import web_app
from webapp import runtime_of

FORM = '{"type": "object", "properties": {"note": {"type": "string", "title": "说明"}}}'
REPLY_PROPS = '<spiffworkflow:property name="candidate_role" value="handler"/>\n        </spiffworkflow:properties>\n' \
    '      </bpmn:extensionElements>\n      <bpmn:incoming>f3'
FORM_PROP = '<spiffworkflow:property name="formJsonSchemaFilename" value="reply.schema.json"/>'
WITH_FORM = SIMPLE.replace(REPLY_PROPS, REPLY_PROPS.replace("/>\n", "/>" + FORM_PROP + "\n", 1))


def kinds(result: diff.VersionDiff) -> dict[str, dict[str, tuple[str, ...]]]:
    """Return {kind: {id: aspects}}."""
    return {k: {c.id: c.aspects for c in getattr(result, k)} for k in ("added", "removed", "changed")}


def test_added_removed_and_changed_elements_with_what_changed() -> None:
    new = with_check().replace('"PT1H"', '"PT2H"').replace("warning_level = 'yellow'", "warning_level = 'red'")
    new = new.replace('value="lead_department"/>\n          </spiffworkflow:parameters>',
                      'value="upstream_order_id"/>\n          </spiffworkflow:parameters>')
    new = new.replace('<bpmn:endEvent id="warning_end">', '<bpmn:endEvent id="warning_done">').replace(
        'targetRef="warning_end"', 'targetRef="warning_done"')
    assert kinds(diff.compare({"simple.bpmn": SIMPLE}, {"simple.bpmn": new})) == {
        "added": {"check": (), "f3b": (), "warning_done": ()},
        "removed": {"warning_end": ()},
        "changed": {"sign_for_warning": ("timer",), "mark_warning": ("script",), "notify": ("children",),
                    "reply": ("name",), "f3": ("attributes",), "f6": ("attributes",)},
    }


def test_conditions_properties_and_forms_count_formatting_does_not() -> None:
    old = {"simple.bpmn": WITH_FORM, "forms/reply.schema.json": FORM}
    reformatted = {"simple.bpmn": WITH_FORM.replace("    <", "  <"),
                   "forms/reply.schema.json": json.dumps(json.loads(FORM), indent=4)}
    assert kinds(diff.compare(old, reformatted)) == {"added": {}, "removed": {}, "changed": {}}
    new_form = {**old, "forms/reply.schema.json": FORM.replace("说明", "答复说明")}
    assert kinds(diff.compare(old, new_form))["changed"] == {"reply": ("form",)}
    role = {**old, "simple.bpmn": WITH_FORM.replace('value="handler"/>' + FORM_PROP,
                                                    'value="dispatcher"/>' + FORM_PROP)}
    assert kinds(diff.compare(old, role))["changed"] == {"reply": ("properties",)}
    gated = SIMPLE.replace('<bpmn:sequenceFlow id="f4" sourceRef="reply" targetRef="end"/>',
                           '<bpmn:sequenceFlow id="f4" sourceRef="reply" targetRef="end">'
                           '<bpmn:conditionExpression>ok == True</bpmn:conditionExpression></bpmn:sequenceFlow>')
    assert kinds(diff.compare({"simple.bpmn": SIMPLE}, {"simple.bpmn": gated}))["changed"] == {"f4": ("condition",)}


def test_a_hostile_file_is_refused_not_compared() -> None:
    with pytest.raises(UploadRejected):
        diff.compare({"a.bpmn": SIMPLE}, {"a.bpmn": '<!DOCTYPE x [<!ENTITY a "b">]><x/>'})


@pytest.fixture
def app(db_url: str, clock: FrozenClock) -> Iterator[Flask]:
    yield from web_app(db_url, clock)


def test_the_diff_page_marks_both_diagrams_and_lists_the_changes(app: Flask, clock: FrozenClock) -> None:
    rt = runtime_of(app)
    for text in (scripted(SIMPLE), scripted(with_check())):
        with rt.write() as db, db.begin():
            definitions.deploy(db, "simple", {"simple.bpmn": text}, actor="an1", now=rt.clock(), operators=rt.handlers)
    client = sign_in(app, clock, "sup1", "supervisor")
    page = client.get("/modeler/simple/diff").get_data(as_text=True)
    assert 'data-mark="added changed"' in page and 'data-mark="removed"' in page
    start = page.index('<script type="application/json" id="diff-data">') + len(
        '<script type="application/json" id="diff-data">')
    data = json.loads(page[start:page.index("</script>", start)])
    assert {c["id"] for c in data["added"]} == {"check", "f3b"} and data["removed"] == []
    assert {c["id"]: c["aspects"] for c in data["changed"]}["reply"] == ["name"]
    assert '<li data-element="check">' in page
    assert client.get("/modeler/simple/diff?a=1&b=7").status_code == 404
    assert client.get("/modeler/simple/diff?a=1&b=two").status_code == 400
