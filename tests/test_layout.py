"""The BPMNDI generator (processes.layout): complete DI, lanes and boxes that hold their shapes, engine unchanged."""

from __future__ import annotations

import shutil
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from lxml import etree

from processes.engine import parse_bundle
from processes.layout import branch_order_changes
from processes.layout import layout_bpmn
from processes.layout import layout_problem
from processes.runtime import commands
from processes.runtime import definitions
from processes.runtime.core import Runtime
from processes.runtime.models import HumanTask
from tests.support import TEST_BPMN
from tests.support import test_registry
from webapp.cli import cli

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
PRODUCT = Path(__file__).resolve().parent.parent / "bpmn"
FIXTURES = sorted((TEST_BPMN / "layout").glob("*.bpmn"))
DRAWN = ("task", "userTask", "manualTask", "serviceTask", "scriptTask", "sendTask", "receiveTask", "businessRuleTask",
         "callActivity", "subProcess", "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
         "boundaryEvent", "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
         "sequenceFlow", "textAnnotation", "association", "dataObjectReference", "dataStoreReference",
         "dataInputAssociation", "dataOutputAssociation", "lane", "participant", "messageFlow")
Box = tuple[float, float, float, float]  # x, y, right, bottom


@pytest.fixture(scope="module")
def laid_out(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every fixture and product diagram, copied to a temp dir and laid out there (the committed files stay)."""
    root = tmp_path_factory.mktemp("layout")
    if PRODUCT.is_dir():
        shutil.copytree(PRODUCT, root / "bpmn")
    out = {}
    for path in [*FIXTURES, *sorted((root / "bpmn").rglob("*.bpmn"))]:
        text = layout_bpmn(path.read_text(encoding="utf-8"))
        if path.is_relative_to(root):
            path.write_text(text, encoding="utf-8")
        out[path.name] = text
    return out


def diagrams() -> list[str]:
    """Names of the files the module fixture lays out."""
    return [p.name for p in [*FIXTURES, *sorted(PRODUCT.rglob("*.bpmn"))]]


def shapes(root: etree._Element) -> dict[str, Box]:
    """Shape bounds by BPMN element id."""
    found = {}
    for shape in root.iterfind(".//bpmndi:BPMNShape", NS):
        b = shape.find("dc:Bounds", NS)
        assert b is not None
        x, y, w, h = (float(b.get(k, "0")) for k in ("x", "y", "width", "height"))
        found[str(shape.get("bpmnElement"))] = (x, y, x + w, y + h)
    return found


def waypoints(root: etree._Element) -> dict[str, list[tuple[float, float]]]:
    """Edge waypoints by BPMN element id."""
    return {str(e.get("bpmnElement")): [(float(p.get("x", "0")), float(p.get("y", "0")))
                                         for p in e.iterfind("di:waypoint", NS)]
            for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}


def inside(inner: Box, outer: Box) -> bool:
    """Tell whether one box lies within another."""
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def on_border(point: tuple[float, float], box: Box) -> bool:
    """Tell whether a point lies on the border of a box."""
    x, y = point
    on_side = x in (box[0], box[2]) and box[1] <= y <= box[3]
    return on_side or (y in (box[1], box[3]) and box[0] <= x <= box[2])


@pytest.mark.parametrize("name", diagrams())
def test_every_element_has_a_shape_or_an_edge(laid_out: dict[str, str], name: str) -> None:
    root = etree.fromstring(laid_out[name].encode())
    drawn = {str(di.get("bpmnElement")) for di in root.iterfind(".//bpmndi:BPMNPlane/*", NS)}
    for tag in DRAWN:
        for el in root.iterfind(f".//bpmn:{tag}", NS):
            assert el.get("id") in drawn, f"{tag} {el.get('id')} has no DI"
    ids = {el.get("id") for el in root.iter() if isinstance(el.tag, str)}
    assert drawn <= ids, f"DI for unknown elements {drawn - ids}"
    [plane] = root.iterfind(".//bpmndi:BPMNPlane", NS)
    [collaboration] = root.iterfind("bpmn:collaboration", NS)
    assert plane.get("bpmnElement") == collaboration.get("id")  # bpmn-js draws lanes only inside a pool


@pytest.mark.parametrize("name", diagrams())
def test_lanes_and_subprocesses_hold_their_shapes(laid_out: dict[str, str], name: str) -> None:
    root = etree.fromstring(laid_out[name].encode())
    where = shapes(root)
    for lane in root.iterfind(".//bpmn:lane", NS):
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            assert inside(where[str(ref.text)], where[str(lane.get("id"))]), f"{ref.text} outside {lane.get('id')}"
    for sub in root.iterfind(".//bpmn:subProcess", NS):
        for child in sub:
            if child.get("id") in where:
                assert inside(where[str(child.get("id"))], where[str(sub.get("id"))]), f"{child.get('id')} sticks out"
    for pool in root.iterfind(".//bpmn:participant[@processRef]", NS):
        process = root.find(f"bpmn:process[@id='{pool.get('processRef')}']", NS)
        assert process is not None
        for lane in process.iterfind("bpmn:laneSet/bpmn:lane", NS):
            assert inside(where[str(lane.get("id"))], where[str(pool.get("id"))])


@pytest.mark.parametrize("name", diagrams())
def test_flows_run_left_to_right_from_border_to_border(laid_out: dict[str, str], name: str) -> None:
    root = etree.fromstring(laid_out[name].encode())
    where, routes = shapes(root), waypoints(root)
    host = {b.get("id"): b.get("attachedToRef") for b in root.iterfind(".//bpmn:boundaryEvent", NS)}
    for flow in root.iterfind(".//bpmn:sequenceFlow", NS):
        source, target = str(flow.get("sourceRef")), str(flow.get("targetRef"))
        points = routes[str(flow.get("id"))]
        assert on_border(points[0], where[source]) and on_border(points[-1], where[target]), flow.get("id")
        assert all(a[0] == b[0] or a[1] == b[1] for a, b in pairwise(points)), "orthogonal"
        # rank grows along every flow: the target's column starts right of the source's (or the host's) column
        assert where[host.get(source) or source][2] <= where[target][0], flow.get("id")


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_layout_is_deterministic_and_idempotent(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    once = layout_bpmn(text)
    assert layout_bpmn(text) == once and layout_bpmn(once) == once
    assert layout_problem(once) is None and layout_problem(text) is not None


def test_the_rest_of_a_hand_written_file_stays_byte_for_byte() -> None:
    text = (TEST_BPMN / "layout" / "layout_lanes.bpmn").read_text(encoding="utf-8")
    kept, skip = [], ""
    for line in layout_bpmn(text).splitlines():
        tag = line.strip().split(" ")[0].rstrip(">")
        if not skip and tag in ("<bpmn:laneSet", "<bpmn:collaboration", "<bpmndi:BPMNDiagram"):
            skip = "</" + tag[1:] + ">"
        elif skip and line.strip() == skip:
            skip = ""
        elif not skip:
            kept.append(line)
    original = text.splitlines()
    assert kept[0] == original[0] and kept[2:] == original[2:]  # the root element also declares the DI namespaces
    declarations = ' xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" ' \
        'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI"'
    assert kept[1] == original[1].replace(" id=", declarations + " id=", 1)


def test_existing_pool_and_a_lane_of_a_task_without_role_are_kept(laid_out: dict[str, str]) -> None:
    root = etree.fromstring(laid_out["layout_features.bpmn"].encode())
    assert [p.get("id") for p in root.iterfind(".//bpmn:participant", NS)] == ["Participant_1", "Participant_platform"]
    lanes = {lane.get("id"): (lane.get("name"), [r.text for r in lane.iterfind("bpmn:flowNodeRef", NS)])
             for lane in root.iterfind(".//bpmn:lane", NS)}
    assert lanes["Lane_old"][0] == "老泳道" and "confirm" in lanes["Lane_old"][1]
    assert lanes["lane_township_reporter"] == ("街道上报员", ["township"])
    assert lanes["lane_duty_leader"] == ("值班长", ["on_error"])  # an event subprocess joins its first role


def test_lanes_follow_roles_and_predecessors(laid_out: dict[str, str]) -> None:
    root = etree.fromstring(laid_out["layout_lanes.bpmn"].encode())
    lanes = {lane.get("name"): [r.text for r in lane.iterfind("bpmn:flowNodeRef", NS)]
             for lane in root.iterfind(".//bpmn:process[@id='layout_lanes']/bpmn:laneSet/bpmn:lane", NS)}
    assert list(lanes) == ["受理员", "审核派单员", "承办人", "督办员"]  # in the order the flow reaches them
    assert lanes["受理员"] == ["start", "triage", "triage_gateway", "mark_rejected", "end_rejected"]
    assert lanes["承办人"] == ["handling", "overdue_timer", "inspection"]  # the subprocess goes with its first role


@pytest.mark.parametrize("name", diagrams())
def test_laid_out_diagrams_still_parse(laid_out: dict[str, str], tmp_path: Path, name: str) -> None:
    if name in {p.name for p in FIXTURES}:
        parse_bundle({name: laid_out[name]}, process_id=None, operators=test_registry())
        return
    for folder in sorted(PRODUCT.iterdir()):  # product bundles: parse the folder that holds this file
        if (folder / name).exists() and not folder.name.startswith("_"):
            copy = tmp_path / "bpmn"
            shutil.copytree(PRODUCT, copy)
            for bpmn in copy.rglob("*.bpmn"):
                bpmn.write_text(layout_bpmn(bpmn.read_text(encoding="utf-8")), encoding="utf-8")
            files = definitions.read_bundle_dir(copy / folder.name)
            parse_bundle(files, process_id=None, operators=test_registry())


def test_spiffworkflow_puts_the_lane_name_into_task_spec_lane(laid_out: dict[str, str]) -> None:
    parsed = parse_bundle({"l.bpmn": laid_out["layout_lanes.bpmn"]}, process_id=None, operators=test_registry())
    specs = {ts.bpmn_id: ts for s in [parsed.spec, *parsed.subprocess_specs.values()]
             for ts in s.task_specs.values() if getattr(ts, "bpmn_id", None)}
    assert specs["triage"].lane == "受理员"  # the lane's name, not its id
    assert specs["mark_warning"].lane == specs["sign_for"].lane == "承办人"  # subprocess tasks: the subprocess's lane


def drive(rt: Runtime, key: str, decisions: dict[str, dict[str, Any]]) -> list[tuple[str, str | None]]:
    """Run one instance, completing open human tasks in order; return (task, role) as they opened."""
    started = commands.start(rt, key, {}, actor="op1")
    seen: list[tuple[str, str | None]] = []
    for _ in range(20):
        with rt.read() as session:
            rows = list(session.scalars(sa.select(HumanTask).where(
                HumanTask.instance_id == started.instance_id, HumanTask.status == "open").order_by(HumanTask.bpmn_id)))
        if not rows:
            return seen
        seen.append((rows[0].bpmn_id, rows[0].role))
        commands.complete_task(rt, started.instance_id, rows[0].id, decisions.get(rows[0].bpmn_id, {}), actor="u1")
    raise AssertionError("instance did not finish")


@pytest.mark.parametrize("decisions", [
    {"triage": {"triage_result": "dispatch"}, "sign_for": {"sign_decision": "sign"}},
    {"triage": {"triage_result": "dispatch"}, "sign_for": {"sign_decision": "return"}},
    {"triage": {"triage_result": "reject"}},
], ids=["reply", "return", "reject"])
def test_the_process_runs_the_same_with_lanes_and_di(runtime: Runtime, decisions: dict[str, dict[str, Any]]) -> None:
    text = (TEST_BPMN / "layout" / "layout_lanes.bpmn").read_text(encoding="utf-8")
    for key, body in (("plain", text), ("laid_out", layout_bpmn(text))):
        with runtime.write() as session, session.begin():
            definitions.deploy(session, key, {"layout_lanes.bpmn": body}, actor="analyst", now=runtime.clock(),
                               operators=runtime.handlers, publish=True)
    plain = drive(runtime, "plain", decisions)
    assert plain and drive(runtime, "laid_out", decisions) == plain


def test_cli_checks_and_rewrites_files(tmp_path: Path) -> None:
    target = tmp_path / "layout_lanes.bpmn"
    shutil.copyfile(TEST_BPMN / "layout" / "layout_lanes.bpmn", target)
    runner = CliRunner()
    result = runner.invoke(cli, ["layout", "--check", str(target)])
    assert result.exit_code == 1 and "no diagram interchange" in result.output
    assert runner.invoke(cli, ["layout", str(target)]).exit_code == 0
    result = runner.invoke(cli, ["layout", "--check", str(target)])
    assert result.exit_code == 0 and "up to date" in result.output
    target.write_text(target.read_text(encoding="utf-8").replace('x="', 'x="1'), encoding="utf-8")
    result = runner.invoke(cli, ["layout", "--check", str(target)])
    assert result.exit_code == 1 and "out of date" in result.output


def test_a_new_order_of_overlapping_gateway_conditions_is_reported() -> None:
    text = (TEST_BPMN / "layout" / "layout_lanes.bpmn").read_text(encoding="utf-8").replace(
        '<bpmn:exclusiveGateway id="triage_gateway" name="初审结论" default="f_dispatch">',
        '<bpmn:exclusiveGateway id="triage_gateway" name="初审结论">').replace(
        '<bpmn:sequenceFlow id="f_dispatch" name="派单" sourceRef="triage_gateway" targetRef="dispatch" />',
        '<bpmn:sequenceFlow id="f_dispatch" name="派单" sourceRef="triage_gateway" targetRef="dispatch">'
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">True</bpmn:conditionExpression>'
        '</bpmn:sequenceFlow>')
    new = layout_bpmn(text)
    assert branch_order_changes(new, new) == []
    root = etree.fromstring(new.encode())
    for shape in root.iterfind(".//bpmndi:BPMNShape", NS):  # an old drawing with the branches the other way up
        if shape.get("bpmnElement") in ("dispatch", "mark_rejected"):
            bounds = shape.find("dc:Bounds", NS)
            assert bounds is not None
            bounds.set("y", "-100" if shape.get("bpmnElement") == "dispatch" else "900")
    old = etree.tostring(root, encoding="unicode")
    assert [w.split(":")[0] for w in branch_order_changes(old, new)] == ["gateway triage_gateway"]
