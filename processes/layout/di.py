"""Write the BPMNDiagram element: one plane, a shape per node and pool and lane, an edge per flow."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

from lxml import etree

from processes.layout.route import Point
from processes.layout.route import Rect
from processes.layout.xmlio import BPMNDI
from processes.layout.xmlio import DC
from processes.layout.xmlio import DI
from processes.layout.xmlio import DI_NSMAP
from processes.layout.xmlio import is_bpmn


@dataclass
class Shape:
    """A BPMNShape to write: element, bounds, extra attributes and an optional external label."""

    element: str
    bounds: Rect
    attrs: dict[str, str] = field(default_factory=dict)
    label: Rect | None = None


@dataclass
class Edge:
    """A BPMNEdge to write: element, waypoints and an optional label."""

    element: str
    points: list[Point]
    label: Rect | None = None


def write_diagram(root: etree._Element, plane_element: str, shapes: list[Shape], edges: list[Edge]) -> None:
    """Replace every BPMNDiagram of the document with one plane for `plane_element`."""
    old = root.findall(f"{{{BPMNDI}}}BPMNDiagram")
    old_plane = old[0].find(f"{{{BPMNDI}}}BPMNPlane") if old else None
    diagram_id = old[0].get("id") if old else f"diagram_{plane_element}"
    plane_id = old_plane.get("id") if old_plane is not None else f"plane_{plane_element}"
    position = root.index(old[0]) if old else next(
        (i for i, el in enumerate(root) if is_bpmn(el, "relationship")), len(root))
    for el in old:
        root.remove(el)
    missing = {p: uri for p, uri in DI_NSMAP.items() if uri not in root.nsmap.values()}
    diagram = etree.SubElement(root, f"{{{BPMNDI}}}BPMNDiagram", {"id": str(diagram_id)}, nsmap=missing)
    root.insert(position, diagram)
    plane = etree.SubElement(diagram, f"{{{BPMNDI}}}BPMNPlane", id=str(plane_id), bpmnElement=plane_element)
    for shape in shapes:
        el = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNShape", id=f"{shape.element}_di", bpmnElement=shape.element)
        for name, value in shape.attrs.items():
            el.set(name, value)
        _bounds(el, shape.bounds)
        if shape.label is not None:
            _bounds(etree.SubElement(el, f"{{{BPMNDI}}}BPMNLabel"), shape.label)
    for edge in edges:
        el = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNEdge", id=f"{edge.element}_di", bpmnElement=edge.element)
        for x, y in edge.points:
            etree.SubElement(el, f"{{{DI}}}waypoint", x=str(x), y=str(y))
        if edge.label is not None:
            _bounds(etree.SubElement(el, f"{{{BPMNDI}}}BPMNLabel"), edge.label)


def _bounds(parent: etree._Element, rect: Rect) -> None:
    """Add a dc:Bounds child."""
    etree.SubElement(parent, f"{{{DC}}}Bounds", x=str(rect.x), y=str(rect.y), width=str(rect.w), height=str(rect.h))
