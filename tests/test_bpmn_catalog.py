"""Contract tests over every product bundle in bpmn/: it deploys, its operators and forms exist, it is drawn fully."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

import handlers
from processes.accounts.roles import BUSINESS_ROLES as ROLE_CODES
from processes.cases.forms import INTAKE_FORM
from processes.cases.personal import CASE_TEXT_COLUMNS
from processes.cases.personal import FREE_TEXT_FIELDS
from processes.cases.personal import MAX_ROUTING_STRING
from processes.cases.personal import REQUESTER_FIELDS
from processes.layout.check import layout_problem
from processes.runtime import definitions
from processes.runtime.core import Runtime

BPMN_ROOT = Path(__file__).resolve().parent.parent / "bpmn"
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
CHINESE = re.compile(r"[\u4e00-\u9fff]")
TASK_TAGS = ("userTask", "manualTask", "serviceTask", "scriptTask", "sendTask", "receiveTask", "businessRuleTask",
             "callActivity", "subProcess")
FLOW_NODE_TAGS = (*TASK_TAGS, "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
                  "boundaryEvent", "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway")


def bundle_dirs() -> list[Path]:
    """Every deployable bundle folder, as `hotline deploy` finds them (no `.` or `_` prefix)."""
    return sorted(p for p in BPMN_ROOT.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


BUNDLES = bundle_dirs()
IDS = [p.name for p in BUNDLES]


def bpmn_roots(bundle: Path) -> list[etree._Element]:
    """Parsed .bpmn files of a bundle, its included libraries too."""
    files = definitions.read_bundle_dir(bundle)
    return [etree.fromstring(text.encode("utf-8")) for name, text in sorted(files.items()) if name.endswith(".bpmn")]


def elements(bundle: Path, *tags: str) -> list[etree._Element]:
    """Every BPMN element with one of these local names, in any file of the bundle."""
    return [el for root in bpmn_roots(bundle) for tag in tags for el in root.iterfind(f".//bpmn:{tag}", NS)]


def properties(el: etree._Element) -> dict[str, str]:
    """The spiffworkflow:property values of an element."""
    return {p.get("name", ""): p.get("value", "")
            for p in el.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)}


def forms(bundle: Path) -> dict[str, Any]:
    """Form schemas of a bundle (and its included libraries) by file name."""
    files = definitions.read_bundle_dir(bundle)
    return {name.rsplit("/", 1)[-1]: json.loads(text) for name, text in sorted(files.items()) if name.endswith(".json")}


def test_every_channel_and_the_upward_report_has_a_bundle() -> None:
    assert set(IDS) == {"case_phone", "case_visit", "case_platform", "case_township", "case_110", "upward_report"}


@pytest.mark.parametrize("bundle", BUNDLES, ids=IDS)
def test_bundle_deploys_with_the_product_handlers(runtime: Runtime, bundle: Path) -> None:
    files = definitions.read_bundle_dir(bundle)
    for attempt in range(2):  # the second deploy of identical content is a no-op
        with runtime.write() as session, session.begin():
            result = definitions.deploy(session, bundle.name, files, actor="analyst", now=runtime.clock(),
                                        operators=handlers.REGISTRY, publish=True)
        assert (result.version, result.created, result.status) == (1, attempt == 0, "published")


@pytest.mark.parametrize("bundle", BUNDLES, ids=IDS)
def test_every_service_operator_and_parameter_is_registered(bundle: Path) -> None:
    operators = [op for root in bpmn_roots(bundle) for op in root.iterfind(".//spiffworkflow:serviceTaskOperator", NS)]
    for op in operators:
        spec = handlers.REGISTRY.get(op.get("id", ""))
        assert spec is not None, f"unknown operator {op.get('id')!r}"
        names = {p.get("id") for p in op.iterfind("spiffworkflow:parameters/spiffworkflow:parameter", NS)}
        assert names <= set(spec.params), f"{spec.operator_id}: undocumented parameters {names - set(spec.params)}"
        assert op.get("resultVariable"), f"{spec.operator_id}: results need a resultVariable"


@pytest.mark.parametrize("bundle", BUNDLES, ids=IDS)
def test_every_human_task_has_a_chinese_name_a_known_role_and_its_form(bundle: Path) -> None:
    schemas = forms(bundle)
    referenced = set()
    for task in elements(bundle, "userTask", "manualTask"):
        props = properties(task)
        assert CHINESE.search(task.get("name") or ""), f"{task.get('id')}: name must be Chinese"
        assert props.get("candidate_role") in ROLE_CODES, f"{task.get('id')}: candidate_role"
        form = props.get("formJsonSchemaFilename")
        assert form in schemas, f"{task.get('id')}: form {form!r} missing from forms/"
        referenced.add(form)
    own = {f.name for f in (bundle / "forms").glob("*.json")}
    assert own <= referenced | {INTAKE_FORM}, f"forms no task uses: {own - referenced - {INTAKE_FORM}}"


@pytest.mark.parametrize("bundle", [b for b in BUNDLES if b.name.startswith("case_")],
                         ids=[b.name for b in BUNDLES if b.name.startswith("case_")])
def test_every_channel_has_an_intake_form_with_the_matter_required(bundle: Path) -> None:
    """The start form (登记表单) is the bundle's own intake.schema.json; the intake screens render it."""
    schema = json.loads((bundle / "forms" / INTAKE_FORM).read_text(encoding="utf-8"))
    assert "content" in schema["required"] and "urgency" in schema["required"]
    assert schema["properties"]["content"].get("maxLength"), "诉求内容 needs a length limit"


def test_every_shared_form_is_used_by_some_bundle() -> None:
    used = {properties(task).get("formJsonSchemaFilename") for bundle in BUNDLES
            for task in elements(bundle, "userTask", "manualTask")}
    shared = {f.name for f in (BPMN_ROOT / "_shared" / "forms").glob("*.json")}
    assert shared and shared <= used, f"shared forms no task uses: {shared - used}"


@pytest.mark.parametrize("bundle", BUNDLES, ids=IDS)
def test_every_task_and_event_is_named_in_chinese(bundle: Path) -> None:
    for el in elements(bundle, *TASK_TAGS, "startEvent", "endEvent", "boundaryEvent"):
        assert CHINESE.search(el.get("name") or ""), f"{el.get('id')}: name must be Chinese"


@pytest.mark.parametrize("bundle", BUNDLES, ids=IDS)
def test_form_schemas_are_titled_in_chinese(bundle: Path) -> None:
    for name, schema in forms(bundle).items():
        assert isinstance(schema, dict) and schema.get("type") == "object", name
        assert CHINESE.search(schema.get("title", "")), f"{name}: schema title"
        props = schema.get("properties")
        assert isinstance(props, dict) and props, f"{name}: properties"
        assert set(schema.get("required", [])) <= set(props), f"{name}: required names a missing property"
        for field, spec in props.items():
            assert CHINESE.search(spec.get("title", "")), f"{name}: {field} needs a Chinese title"
            for option in spec.get("oneOf", []):  # our one enum convention: oneOf of {const, title}
                assert set(option) == {"const", "title"} and CHINESE.search(option["title"]), f"{name}: {field}"
            assert "enum" not in spec, f"{name}: {field}: write choices as oneOf with const and title"


@pytest.mark.parametrize("bundle", BUNDLES, ids=IDS)
def test_free_text_fields_stay_out_of_workflow_data(bundle: Path) -> None:
    """A free-form string field must be a case-table field; routing fields are choices, flags or numbers.

    A process without a case (no start form: the upward report) has no case table for free text; its forms may
    take a short note as routing data, no longer than a routing value may be, which refuses phone and ID numbers.
    """
    caseless = INTAKE_FORM not in forms(bundle)
    for name, schema in forms(bundle).items():
        intake = name == INTAKE_FORM  # the start form also takes the requester and the matter (case columns)
        case_fields = FREE_TEXT_FIELDS | (set(REQUESTER_FIELDS) | set(CASE_TEXT_COLUMNS) if intake else set())
        for field, spec in schema["properties"].items():
            # choices: an enum, a format, a pattern, or options from a reference table (x-options: departments …)
            constrained = {"oneOf", "format", "pattern", "x-options"} & set(spec)
            free_text = spec.get("type") == "string" and not constrained
            if caseless and free_text:
                assert field not in FREE_TEXT_FIELDS, f"{name}: {field}: free text needs a case to be stored on"
                assert 0 < spec.get("maxLength", 0) <= MAX_ROUTING_STRING, f"{name}: {field}: a short note only"
                continue
            assert not free_text or field in case_fields, f"{name}: {field} is free text but would be routing"
            assert intake or field not in REQUESTER_FIELDS, f"{name}: {field}: requester data is entered at intake only"


@pytest.mark.parametrize("bundle", BUNDLES, ids=IDS)
def test_conditions_never_read_free_text(bundle: Path) -> None:
    expressions = [el.text or "" for el in elements(bundle, "conditionExpression", "loopCondition")]
    assert expressions
    for expression in expressions:
        names = {n.id for n in ast.walk(ast.parse(expression, mode="eval")) if isinstance(n, ast.Name)}
        assert not names & FREE_TEXT_FIELDS, f"{expression!r} reads free text, which is not in task data"


@pytest.mark.parametrize("bundle", BUNDLES, ids=IDS)
def test_timer_expressions_are_quoted_or_variables(bundle: Path) -> None:
    for el in elements(bundle, "timeDuration", "timeDate", "timeCycle"):
        text = (el.text or "").strip()
        variable = r"[a-z_][a-z0-9_]*(\['[a-z_]+'\])?"  # a variable, or one key of a handler's result
        assert re.fullmatch(rf'"[^"]+"|{variable}', text), f"timer expression {text!r}: quote it (\"PT1H\")"


@pytest.mark.parametrize("bundle", BUNDLES, ids=IDS)
def test_diagram_draws_every_element(bundle: Path) -> None:
    """Every flow node has a shape and every sequence flow an edge, so the modeler opens the file as it runs."""
    for root in bpmn_roots(bundle):
        drawn = {di.get("bpmnElement") for di in root.iterfind(".//bpmndi:BPMNPlane/*", NS)}
        for tag in (*FLOW_NODE_TAGS, "sequenceFlow"):
            for el in root.iterfind(f".//bpmn:{tag}", NS):
                assert el.get("id") in drawn, f"{tag} {el.get('id')} has no diagram shape"
        ids = [el.get("id") for el in root.iter() if el.get("id") and etree.QName(el).namespace != NS["spiffworkflow"]]
        assert len(ids) == len(set(ids)), "duplicate ids"  # spiffworkflow parameter ids are names, not XML ids


@pytest.mark.parametrize("path", sorted(BPMN_ROOT.rglob("*.bpmn")), ids=lambda p: p.name)
def test_committed_layout_is_current_with_lanes_per_role(path: Path) -> None:
    """`hotline layout` regenerates exactly this diagram data: left to right, one lane per role in a pool."""
    text = path.read_text(encoding="utf-8")
    assert layout_problem(text) is None, f"run: hotline layout {path.relative_to(BPMN_ROOT.parent)}"
    root = etree.fromstring(text.encode("utf-8"))
    for process in root.iterfind("bpmn:process", NS):
        lanes = process.findall("bpmn:laneSet/bpmn:lane", NS)
        roles = {properties(t).get("candidate_role") for t in process.iterfind("bpmn:userTask", NS)}
        assert len(lanes) >= len(roles), f"{process.get('id')}: {len(lanes)} lanes for roles {roles}"
