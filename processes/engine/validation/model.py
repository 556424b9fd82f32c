"""Reading a BPMN document for the rules: namespaces, flow containers, nodes by id, lanes, properties."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from processes.engine.validation.problems import local_name
from processes.engine.xmlsafe import BPMN_NS

NS = {"bpmn": BPMN_NS, "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
CONTAINERS = ("process", "subProcess", "transaction", "adHocSubProcess")
GATEWAYS = ("exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway")
HUMAN_TASKS = ("userTask", "manualTask", "task")
FLOW_NODES = frozenset((
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask", "businessRuleTask",
    "callActivity", "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    *CONTAINERS[1:], *GATEWAYS))


def bpmn(element: etree._Element, path: str) -> list[etree._Element]:
    """Return the elements an XPath with the `bpmn:` (and `spiffworkflow:`) prefix finds."""
    found = element.xpath(path, namespaces=NS)
    return [e for e in found if isinstance(e, etree._Element)] if isinstance(found, list) else []


def containers(root: etree._Element) -> Iterator[etree._Element]:
    """Yield every process and (event, ad hoc, transaction) subprocess: the places flows live in."""
    yield from root.iter(*(f"{{{BPMN_NS}}}{tag}" for tag in CONTAINERS))


def flow_nodes(container: etree._Element) -> list[etree._Element]:
    """Return the flow nodes directly inside a process or subprocess."""
    return [el for el in container if isinstance(el.tag, str) and el.tag.startswith(f"{{{BPMN_NS}}}")
            and local_name(el) in FLOW_NODES]


def by_id(root: etree._Element) -> dict[str, etree._Element]:
    """Return every element with an id, by id (the first one when an id repeats)."""
    found: dict[str, etree._Element] = {}
    for element in root.iter():
        if isinstance(element.tag, str) and element.get("id"):
            found.setdefault(str(element.get("id")), element)
    return found


def lanes(root: etree._Element) -> dict[str, etree._Element]:
    """Map flow node id to the innermost lane that lists it (as SpiffWorkflow reads lanes)."""
    found: dict[str, etree._Element] = {}
    for ref in bpmn(root, ".//bpmn:flowNodeRef"):
        lane = ref.getparent()
        if ref.text and lane is not None:
            found[ref.text.strip()] = lane
    return found


def spiff_property(element: etree._Element, name: str) -> str | None:
    """Return a `spiffworkflow:property` of a task, if set."""
    for prop in bpmn(element, "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property"):
        if prop.get("name") == name and prop.get("value"):
            return str(prop.get("value"))
    return None


def process_label(process: etree._Element) -> str:
    """Return `id（名称）` of a process or pool for lists of candidates."""
    name = process.get("name")
    return f"{process.get('id')}（{name}）" if name else str(process.get("id"))
