"""The parts of a BPMN process the layout needs: flow nodes, boundary events, flows, artifacts and their links."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

from lxml import etree

from processes.layout.xmlio import BPMN
from processes.layout.xmlio import SPIFF
from processes.layout.xmlio import is_bpmn
from processes.layout.xmlio import local

NS = {"bpmn": BPMN, "spiffworkflow": SPIFF}
EVENTS = ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent")
GATEWAYS = ("exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway")
TASKS = ("task", "userTask", "manualTask", "serviceTask", "scriptTask", "sendTask", "receiveTask",
         "businessRuleTask", "callActivity")
CONTAINERS = ("subProcess", "adHocSubProcess", "transaction")
HUMAN_TASKS = ("userTask", "manualTask")
ARTIFACTS = ("textAnnotation", "dataObjectReference", "dataStoreReference")
FIXED_SIZES = {"event": (36, 36), "gateway": (50, 50), "task": (100, 80), "dataObjectReference": (36, 50),
               "dataStoreReference": (50, 50)}


@dataclass
class Node:
    """A flow node or artifact that gets a shape; `inner` holds an expanded subprocess's own contents."""

    id: str
    tag: str
    el: etree._Element
    name: str
    width: int = 0
    height: int = 0
    inner: Container | None = None
    host: str | None = None

    @property
    def kind(self) -> str:
        """Return event, gateway, task, container or the artifact's tag."""
        if self.tag in EVENTS:
            return "event"
        if self.tag in GATEWAYS:
            return "gateway"
        if self.tag in CONTAINERS:
            return "container"
        return self.tag if self.tag in ARTIFACTS else "task"

    @property
    def event_subprocess(self) -> bool:
        """Tell whether this is an event subprocess (no incoming flow; drawn in a strip below the flow)."""
        return self.inner is not None and self.el.get("triggeredByEvent") == "true"


@dataclass
class Link:
    """A sequence flow, association, data association or message flow between two shapes."""

    id: str
    source: str
    target: str
    name: str


@dataclass
class Container:
    """A process or expanded subprocess: what is drawn inside one box (or one pool)."""

    el: etree._Element
    nodes: list[Node] = field(default_factory=list)
    boundaries: list[Node] = field(default_factory=list)
    flows: list[Link] = field(default_factory=list)
    artifacts: list[Node] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)

    def all_ids(self) -> set[str]:
        """Every shape id in this container and its subprocesses."""
        ids = {n.id for n in (*self.nodes, *self.boundaries, *self.artifacts)}
        for node in self.nodes:
            if node.inner is not None:
                ids |= node.inner.all_ids()
        return ids


def role_of(el: etree._Element) -> str | None:
    """Return the candidate_role property of a human task, if it has one."""
    if local(el) not in HUMAN_TASKS:
        return None
    for prop in el.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS):
        if prop.get("name") == "candidate_role" and prop.get("value"):
            return str(prop.get("value"))
    return None


def read_container(el: etree._Element) -> Container:
    """Collect the drawable children of a process or subprocess, recursing into subprocesses."""
    box = Container(el)
    for child in el:
        if not isinstance(child.tag, str) or etree.QName(child).namespace != BPMN or not child.get("id"):
            continue
        tag, ident = local(child), str(child.get("id"))
        if tag == "sequenceFlow":
            box.flows.append(Link(ident, child.get("sourceRef", ""), child.get("targetRef", ""), _name(child)))
        elif tag == "association":
            box.links.append(Link(ident, child.get("sourceRef", ""), child.get("targetRef", ""), ""))
        elif tag in ARTIFACTS:
            box.artifacts.append(_sized(Node(ident, tag, child, _artifact_text(child))))
        elif tag in (*EVENTS, *GATEWAYS, *TASKS, *CONTAINERS):
            node = _sized(Node(ident, tag, child, _name(child)))
            box.links.extend(data_links(child))
            if tag == "boundaryEvent":
                node.host = child.get("attachedToRef")
                box.boundaries.append(node)
            else:
                node.inner = read_container(child) if tag in CONTAINERS else None
                box.nodes.append(node)
    return box


def data_links(el: etree._Element) -> list[Link]:
    """Data input and output associations of an activity or event, as links between shapes."""
    links = []
    ident = str(el.get("id"))
    for assoc in el:
        if not is_bpmn(assoc, "dataInputAssociation", "dataOutputAssociation") or not assoc.get("id"):
            continue
        inbound = local(assoc) == "dataInputAssociation"
        # one edge per association element: DI has one BPMNEdge per id, so only the first source is drawn
        ref = assoc.find("bpmn:sourceRef" if inbound else "bpmn:targetRef", NS)
        if ref is not None and (ref.text or "").strip():
            other = (ref.text or "").strip()
            links.append(Link(str(assoc.get("id")), other if inbound else ident, ident if inbound else other, ""))
    return links


def _name(el: etree._Element) -> str:
    """Return an element's name on one line."""
    return " ".join((el.get("name") or "").split())


def _artifact_text(el: etree._Element) -> str:
    """Return the text of an annotation or the name of a data object."""
    if local(el) == "textAnnotation":
        text = el.find("bpmn:text", NS)
        return " ".join((text.text or "").split()) if text is not None else ""
    return _name(el)


def _sized(node: Node) -> Node:
    """Give a node its standard size (subprocesses are sized later, to fit their contents)."""
    kind = node.kind
    if kind == "textAnnotation":
        lines = max(1, -(-len(node.name) * 12 // 100))  # about 12 px a character, 100 px wide
        node.width, node.height = 100, max(30, 14 * lines + 12)
    elif kind != "container":
        node.width, node.height = FIXED_SIZES.get(kind, FIXED_SIZES["task"])
    return node
