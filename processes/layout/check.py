"""Check and rewrite files: is the DI current, and would a new layout change how the engine orders branches?"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from processes.engine.xmltext import decode_diagram
from processes.layout.build import layout_bpmn
from processes.layout.model import NS
from processes.layout.xmlio import BPMNDI
from processes.layout.xmlio import DC
from processes.layout.xmlio import parse


@dataclass(frozen=True)
class FileResult:
    """What the layout tool found for one file: a problem (None when current) and branch-order warnings."""

    path: Path
    problem: str | None
    warnings: tuple[str, ...] = ()


def layout_problem(text: str, *, role_names: Mapping[str, str] | None = None) -> str | None:
    """Say why a BPMN text's DI is not what the layout tool generates, or None when it is."""
    return _problem(text, layout_bpmn(text, role_names=role_names))


def _problem(text: str, new: str) -> str | None:
    """Compare a file with its layout."""
    if new == text:
        return None
    return "no diagram interchange (BPMNDI)" if "BPMNDiagram" not in text else "diagram interchange is out of date"


def branch_order_changes(old: str, new: str) -> list[str]:
    """List exclusive gateways whose conditions the engine would test in a different order after the rewrite."""
    # SpiffWorkflow sorts a node's outgoing flows by the y of their targets' shapes and an exclusive gateway takes
    # the first condition that holds: with overlapping conditions a new drawing could pick another branch.
    before, after = parse(old), parse(new)
    y_before, y_after = _target_y(before), _target_y(after)
    changed = []
    all_flows = list(before.iterfind(".//bpmn:sequenceFlow", NS))
    for gateway in before.iterfind(".//bpmn:exclusiveGateway", NS):
        flows = [f for f in all_flows if f.get("sourceRef") == gateway.get("id")
                 and f.find("bpmn:conditionExpression", NS) is not None and f.get("id") != gateway.get("default")]
        if len(flows) < 2:
            continue
        order_before = sorted(flows, key=lambda f: y_before.get(f.get("targetRef", ""), 0.0))
        order_after = sorted(flows, key=lambda f: y_after.get(f.get("targetRef", ""), 0.0))
        if [f.get("id") for f in order_before] != [f.get("id") for f in order_after]:
            changed.append(f"gateway {gateway.get('id')}: conditions are tested in a new order "
                           f"({', '.join(str(f.get('id')) for f in order_after)}); make sure they exclude each other")
    return changed


def _target_y(root: etree._Element) -> dict[str, float]:
    """Return the y of every shape, as SpiffWorkflow reads it to order outgoing flows."""
    ys = {}
    for shape in root.iterfind(f".//{{{BPMNDI}}}BPMNShape", NS):
        bounds = shape.find(f"{{{DC}}}Bounds")
        if bounds is not None:
            ys[str(shape.get("bpmnElement"))] = float(bounds.get("y", 0))
    return ys


def layout_file(path: Path, *, write: bool, role_names: Mapping[str, str] | None = None) -> FileResult:
    """Check one file's DI; with `write`, rewrite the file in place when it is not current."""
    text = decode_diagram(path.read_bytes(), path.name)  # any declared encoding; written back as UTF-8
    new = layout_bpmn(text, role_names=role_names, filename=path.name)
    problem = _problem(text, new)
    if problem is None:
        return FileResult(path, None)
    if write:
        path.write_text(new, encoding="utf-8")
    return FileResult(path, problem, tuple(branch_order_changes(text, new)))
