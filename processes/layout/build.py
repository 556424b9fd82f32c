"""Generate diagram interchange for a BPMN document: lanes per role in pools, laid out left to right."""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping

from lxml import etree

from processes.errors import DefinitionInvalid
from processes.layout.di import Edge
from processes.layout.di import Shape
from processes.layout.di import write_diagram
from processes.layout.labels import flow_label
from processes.layout.labels import node_label
from processes.layout.lanes import Lane
from processes.layout.lanes import ensure_collaboration
from processes.layout.lanes import plan_lanes
from processes.layout.lanes import write_lane_set
from processes.layout.model import NS
from processes.layout.model import Container
from processes.layout.model import Link
from processes.layout.model import Node
from processes.layout.model import read_container
from processes.layout.place import GAP_Y
from processes.layout.place import PAD
from processes.layout.place import Block
from processes.layout.place import Frame
from processes.layout.place import place
from processes.layout.route import Point
from processes.layout.route import Rect
from processes.layout.route import connect
from processes.layout.xmlio import is_bpmn
from processes.layout.xmlio import parse
from processes.layout.xmlio import serialize

ROLE_NAMES: Mapping[str, str] = {
    "operator": "受理员", "transcriber": "转录员", "dispatcher": "审核派单员", "handler": "承办人",
    "township_reporter": "街道上报员", "inspector": "巡查员", "callback": "回访员", "supervisor": "督办员",
    "duty_leader": "值班长", "leader": "领导", "system": "系统",
}
ORIGIN = (120, 60)
LABEL_BAND = 30  # bpmn-js writes a pool's and a lane's name in a 30 px band on its left
POOL = Frame(left=2 * LABEL_BAND + PAD, top=PAD, min_band=120)
POOL_GAP = 40
COLLAPSED_POOL = (600, 100)


def layout_bpmn(text: str, *, role_names: Mapping[str, str] | None = None, filename: str = "diagram.bpmn") -> str:
    """Return the document with a lane per role in each process, a pool per process and fresh DI for everything."""
    root = parse(text, filename=filename)
    processes = [el for el in root if is_bpmn(el, "process")]
    if not processes:
        raise DefinitionInvalid("no bpmn:process to lay out", file=filename)
    names = {**ROLE_NAMES, **(role_names or {})}
    boxes = {str(p.get("id")): read_container(p) for p in processes}
    lanes: dict[str, list[Lane]] = {}
    for pid, box in boxes.items():
        lanes[pid] = plan_lanes(box, names, "lane_" if len(boxes) == 1 else f"lane_{pid}_")
        write_lane_set(box.el, lanes[pid])
    collab = ensure_collaboration(root, processes)
    shapes, edges = _draw(collab, boxes, lanes)
    write_diagram(root, str(collab.get("id")), shapes, edges)
    return serialize(root)


def _draw(collab: etree._Element, boxes: Mapping[str, Container],
          lanes: Mapping[str, list[Lane]]) -> tuple[list[Shape], list[Edge]]:
    """Lay out every pool, stacked top to bottom, and list the shapes and edges to write."""
    extra = read_container(collab)  # annotations on the collaboration itself go in a strip above the pools
    links = [link for box in boxes.values() for link in _links(box)] + extra.links
    where: dict[str, Rect] = {}
    routes: dict[str, list[Point]] = {}
    labels: dict[str, Rect] = {}
    x, y = ORIGIN
    for art in extra.artifacts:
        where[art.id] = Rect(x, y, art.width, art.height)
        x += art.width + PAD
    y += max((a.height + GAP_Y for a in extra.artifacts), default=0)
    pools: list[tuple[str, str, Block]] = []
    for pool in collab.iterfind("bpmn:participant", NS):
        pid = pool.get("processRef") or ""
        if pid in boxes:
            band = {n: i for i, lane in enumerate(lanes[pid]) for n in lane.nodes}
            pools.append((str(pool.get("id")), pid, place(boxes[pid], band, max(len(lanes[pid]), 1), POOL, links)))
        else:  # a black-box pool: the process is not in this file
            pools.append((str(pool.get("id")), "", Block(*COLLAPSED_POOL)))
    width = max([COLLAPSED_POOL[0], *(block.width for _, _, block in pools)])
    shapes: list[Shape] = []
    for pool_id, pid, block in pools:
        where[pool_id] = Rect(ORIGIN[0], y, width, block.height)  # message flows may end on a pool
        shapes.append(Shape(pool_id, where[pool_id], {"isHorizontal": "true"}))
        for lane, (top, height) in zip(lanes.get(pid, []), block.bands, strict=False):
            shapes.append(Shape(lane.id, Rect(ORIGIN[0] + LABEL_BAND, y + top, width - LABEL_BAND, height),
                                {"isHorizontal": "true"}))
        where.update({k: r.moved(ORIGIN[0], y) for k, r in block.shapes.items()})
        routes.update({k: [(px + ORIGIN[0], py + y) for px, py in pts] for k, pts in block.edges.items()})
        labels.update({k: r.moved(ORIGIN[0], y) for k, r in block.labels.items()})
        y += block.height + POOL_GAP
    for box in [*boxes.values(), extra]:
        shapes.extend(_node_shapes(box, where))
    edges = [Edge(f.id, pts, labels.get(f.id) or flow_label(pts, f.name)) for box in boxes.values()
             for f in _flows(box) if (pts := routes.get(f.id) or _connect(where, f))]
    message_flows = [Link(str(m.get("id")), m.get("sourceRef", ""), m.get("targetRef", ""), m.get("name") or "")
                     for m in collab.iterfind("bpmn:messageFlow", NS) if m.get("id")]
    for link in [*links, *message_flows]:
        if pts := _connect(where, link):
            edges.append(Edge(link.id, pts, flow_label(pts, link.name)))
    return shapes, edges


def _connect(where: Mapping[str, Rect], link: Link) -> list[Point]:
    """Route a link between two drawn shapes; nothing if either end has no shape."""
    if link.source in where and link.target in where:
        return connect(where[link.source], where[link.target])
    return []


def _node_shapes(box: Container, where: Mapping[str, Rect]) -> Iterator[Shape]:
    """Shapes of a container's nodes in document order, each subprocess followed by its contents."""
    index = {id(el): i for i, el in enumerate(box.el)}
    boundary_count: dict[str, int] = {}
    for node in sorted([*box.nodes, *box.boundaries, *box.artifacts], key=lambda n: index[id(n.el)]):
        rect = where.get(node.id)
        if rect is None:
            continue
        k = None
        if node.host is not None:
            k = boundary_count[node.host] = boundary_count.get(node.host, -1) + 1
        yield Shape(node.id, rect, _shape_attrs(node), node_label(node.kind, rect, node.name, boundary_index=k))
        if node.inner is not None:
            yield from _node_shapes(node.inner, where)


def _shape_attrs(node: Node) -> dict[str, str]:
    """Return the DI flags bpmn-js reads: gateway markers and expanded subprocesses."""
    if node.tag == "exclusiveGateway":
        return {"isMarkerVisible": "true"}
    return {"isExpanded": "true"} if node.inner is not None else {}


def _flows(box: Container) -> Iterator[Link]:
    """Sequence flows of a container and its subprocesses."""
    yield from box.flows
    for node in box.nodes:
        if node.inner is not None:
            yield from _flows(node.inner)


def _links(box: Container) -> Iterator[Link]:
    """Associations and data associations of a container and its subprocesses."""
    yield from box.links
    for node in box.nodes:
        if node.inner is not None:
            yield from _links(node.inner)
