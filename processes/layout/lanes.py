"""Lanes per role (泳道): give each top-level flow node a lane, write the laneSet and the collaboration pools."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from lxml import etree

from processes.layout.model import HUMAN_TASKS
from processes.layout.model import NS
from processes.layout.model import Container
from processes.layout.model import role_of
from processes.layout.order import longest_path_ranks
from processes.layout.xmlio import bpmn
from processes.layout.xmlio import is_bpmn
from processes.layout.xmlio import local

SYSTEM = "system"
# Children a process lists before its laneSet (BPMN 2.0 XSD, tProcess); the laneSet goes right after them.
BEFORE_LANES = ("documentation", "extensionElements", "auditing", "monitoring", "categoryValueRef",
                "supportedInterfaceRef", "ioSpecification", "ioBinding", "property", "laneSet")
LaneKey = tuple[str, str]  # (lane id, lane name)


@dataclass(frozen=True)
class Lane:
    """One lane of a process: id, display name and the flow nodes it holds, in document order."""

    id: str
    name: str
    nodes: tuple[str, ...]


def plan_lanes(box: Container, names: Mapping[str, str], prefix: str) -> list[Lane]:
    """Assign each flow node of a process a lane: its role, else the lane of its nearest predecessor."""
    def by_role(code: str) -> LaneKey:
        return prefix + re.sub(r"[^\w.-]", "_", code), names.get(code, code)

    existing = existing_lanes(box.el)
    explicit: dict[str, LaneKey] = {}
    for node in box.nodes:
        role = role_of(node.el)
        if role is None and node.inner is not None:  # a subprocess joins the lane of the first role inside it
            role = next((r for el in node.el.iter() if (r := role_of(el)) is not None), None)
        if role is not None:
            explicit[node.id] = by_role(role)
        elif node.tag in HUMAN_TASKS and node.id in existing:  # a human task without a role keeps its lane
            explicit[node.id] = existing[node.id]
    host = {b.id: b.host or "" for b in box.boundaries}
    main = [n.id for n in box.nodes if not n.event_subprocess]
    pairs = [(host.get(f.source, f.source), f.target) for f in box.flows]
    rank, order = longest_path_ranks(main, pairs)
    lane: dict[str, LaneKey] = {}
    for n in order:
        found = explicit.get(n) or next((lane[s] for s, t in pairs if t == n and s in lane), None)
        if found:
            lane[n] = found
    for n in reversed(order):  # start events and the like: the lane of what follows them
        found = explicit.get(n) or next((lane[t] for s, t in pairs if s == n and t in lane), None)
        if found and n not in lane:
            lane[n] = found
    for node in box.nodes:
        lane.setdefault(node.id, explicit.get(node.id) or by_role(SYSTEM))
    for boundary, attached_to in host.items():
        lane[boundary] = lane.get(attached_to) or by_role(SYSTEM)
    position = {n: (rank[n], i) for i, n in enumerate(order)}
    for n in lane:  # event subprocesses and boundary events come after everything ranked
        position.setdefault(n, (len(order), len(position)))
    keys = sorted(set(lane.values()), key=lambda k: min(position[n] for n, v in lane.items() if v == k))
    in_document = [str(el.get("id")) for el in box.el if el.get("id") in lane]
    return [Lane(k[0], k[1], tuple(n for n in in_document if lane[n] == k)) for k in keys]


def existing_lanes(process: etree._Element) -> dict[str, LaneKey]:
    """Map flow node id to the (innermost) lane it is listed in today."""
    found: dict[str, LaneKey] = {}
    for lane_el in process.iterfind("bpmn:laneSet//bpmn:lane", NS):
        for ref in lane_el.iterfind("bpmn:flowNodeRef", NS):
            found[(ref.text or "").strip()] = (str(lane_el.get("id")), lane_el.get("name") or "")
    return found


def write_lane_set(process: etree._Element, lanes: list[Lane]) -> None:
    """Replace the process's lane sets with one laneSet holding these lanes."""
    old = process.findall("bpmn:laneSet", NS)
    lane_set_id = old[0].get("id") if old else f"laneset_{process.get('id')}"
    for el in old:
        process.remove(el)
    if not lanes:
        return
    position = next((i for i, el in enumerate(process) if isinstance(el.tag, str) and local(el) not in BEFORE_LANES),
                    len(process))
    lane_set = etree.SubElement(process, bpmn("laneSet"), id=str(lane_set_id))
    process.insert(position, lane_set)
    for lane in lanes:
        lane_el = etree.SubElement(lane_set, bpmn("lane"), id=lane.id, name=lane.name)
        for node in lane.nodes:
            etree.SubElement(lane_el, bpmn("flowNodeRef")).text = node


def ensure_collaboration(root: etree._Element, processes: list[etree._Element]) -> etree._Element:
    """Return the document's collaboration, adding it and a participant (pool) for every process that has none."""
    collab = next((el for el in root if is_bpmn(el, "collaboration")), None)
    if collab is None:
        collab = etree.SubElement(root, bpmn("collaboration"), id=f"collaboration_{processes[0].get('id')}")
        root.insert(root.index(processes[0]), collab)
    pooled = {p.get("processRef") for p in collab.iterfind("bpmn:participant", NS)}
    for process in processes:
        if process.get("id") in pooled:
            continue
        last = [i for i, el in enumerate(collab) if is_bpmn(el, "participant")]
        pool = etree.SubElement(collab, bpmn("participant"), id=f"participant_{process.get('id')}",
                                name=process.get("name") or str(process.get("id")), processRef=str(process.get("id")))
        collab.insert(last[-1] + 1 if last else 0, pool)
    return collab
