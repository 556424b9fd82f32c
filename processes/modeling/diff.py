"""Compare two versions of a process element by element (版本对比): added, removed and changed, by BPMN id.

An element is anything with an id directly inside a process, subprocess, lane set or collaboration (tasks, events,
gateways, flows, lanes, participants). It is changed when its type, name, attributes or own content differ: the
condition of a flow, the timer of an event, the form a task shows (its file name or that file's content), scripts,
properties. Links to flows (`incoming`, `outgoing`) are left out: the flows themselves show as added or removed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from dataclasses import dataclass
from typing import Any

from lxml import etree

from processes.engine.xmlsafe import BPMN_NS
from processes.engine.xmlsafe import parse_bpmn

CONTAINERS = frozenset({"definitions", "process", "subProcess", "transaction", "adHocSubProcess", "laneSet",
                        "collaboration"})
LINKS = frozenset({"incoming", "outgoing", "flowNodeRef"})
TIMERS = frozenset({"timeDuration", "timeDate", "timeCycle"})
SCRIPTS = frozenset({"script", "preScript", "postScript"})
FORM_PROPERTY = "formJsonSchemaFilename"
Tree = tuple[Any, ...]


@dataclass(frozen=True)
class Element:
    """One element of a version: where it is and what it is made of."""

    id: str
    type: str
    name: str
    file: str
    attributes: tuple[tuple[str, str], ...]
    parts: dict[str, Any]  # aspect -> canonical content (condition, timer, form, script, properties, children)


@dataclass(frozen=True)
class Change:
    """An element that differs between the versions, with what differs (aspects) for changed ones."""

    id: str
    type: str
    name: str
    file: str
    aspects: tuple[str, ...] = ()


@dataclass(frozen=True)
class VersionDiff:
    """What the newer version added, removed and changed compared with the older one."""

    added: list[Change]
    removed: list[Change]
    changed: list[Change]

    def as_json(self) -> dict[str, list[dict[str, Any]]]:
        """Return the diff as plain data for the page's script."""
        return {k: [asdict(c) for c in getattr(self, k)] for k in ("added", "removed", "changed")}


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _tree(node: etree._Element) -> Tree:
    """A canonical form of an element's content: ids and links left out, attributes sorted."""
    attrs = tuple(sorted((str(k), str(v)) for k, v in node.attrib.items() if k != "id"))
    kids = tuple(_tree(c) for c in node if isinstance(c.tag, str) and _local(c) not in LINKS)
    return (str(node.tag), attrs, (node.text or "").strip(), kids)


def _texts(kids: list[etree._Element], names: frozenset[str]) -> tuple[str, ...]:
    return tuple(sorted(f"{_local(e)}={(e.text or '').strip()}" for k in kids for e in k.iter() if _local(e) in names))


def _properties(kids: list[etree._Element]) -> dict[str, str]:
    found: dict[str, str] = {}
    for prop in (e for k in kids for e in k.iter()):
        if _local(prop) == "property" and prop.get("name"):
            found[str(prop.get("name"))] = str(prop.get("value", ""))
    return found


def _own(node: etree._Element) -> list[etree._Element]:
    """The element's own content: child elements, but not the elements a container holds (they have ids)."""
    container = _local(node) in CONTAINERS
    return [c for c in node if isinstance(c.tag, str) and _local(c) not in LINKS and not (container and c.get("id"))]


def _element(node: etree._Element, file: str, forms: Mapping[str, str]) -> Element:
    kids = _own(node)
    props = _properties(kids)
    form = props.pop(FORM_PROPERTY, "")
    parts = {
        "condition": _texts(kids, frozenset({"conditionExpression", "condition"})),
        "timer": _texts(kids, TIMERS),
        "form": (form, forms.get(form, "")) if form else None,
        "script": _texts(kids, SCRIPTS),
        "properties": tuple(sorted(props.items())),
        "children": tuple(_tree(c) for c in kids),
    }
    attrs = tuple(sorted((str(k), str(v)) for k, v in node.attrib.items() if k not in ("id", "name")))
    return Element(str(node.get("id")), _local(node), str(node.get("name") or ""), file, attrs, parts)


def _forms(files: Mapping[str, str]) -> dict[str, str]:
    """Form schemas by file name, normalised so that formatting alone is no change."""
    out: dict[str, str] = {}
    for name, text in files.items():
        if name.endswith(".json"):
            try:
                out[name.rsplit("/", 1)[-1]] = json.dumps(json.loads(text), sort_keys=True)
            except json.JSONDecodeError:
                out[name.rsplit("/", 1)[-1]] = text
    return out


def elements(files: Mapping[str, str]) -> dict[str, Element]:
    """Return the elements of a bundle by id (diagram interchange and ids of nested parts left out)."""
    forms = _forms(files)
    found: dict[str, Element] = {}
    for name in sorted(n for n in files if n.endswith(".bpmn")):
        root = parse_bpmn(files[name], filename=name)
        for node in root.iter(f"{{{BPMN_NS}}}*"):
            parent = node.getparent()
            if node.get("id") and (parent is None or _local(parent) in CONTAINERS):
                found.setdefault(str(node.get("id")), _element(node, name, forms))
    return found


def _aspects(old: Element, new: Element) -> tuple[str, ...]:
    if old.type != new.type:
        return ("type",)
    found = ["name"] if old.name != new.name else []
    if old.attributes != new.attributes:
        found.append("attributes")
    found += [k for k in new.parts if k != "children" and old.parts[k] != new.parts[k]]
    if not found and old.parts["children"] != new.parts["children"]:
        found.append("children")  # something else inside differs (data associations, loop settings …)
    return tuple(found)


def _change(el: Element, aspects: tuple[str, ...] = ()) -> Change:
    return Change(el.id, el.type, el.name, el.file, aspects)


def compare(old_files: Mapping[str, str], new_files: Mapping[str, str]) -> VersionDiff:
    """Compare two bundles (older first) by element id."""
    old, new = elements(old_files), elements(new_files)
    added = [_change(new[i]) for i in new if i not in old]
    removed = [_change(old[i]) for i in old if i not in new]
    changed = []
    for ident in new.keys() & old.keys():
        aspects = _aspects(old[ident], new[ident])
        if aspects and new[ident].type != "definitions":
            changed.append(_change(new[ident], aspects))
    order = list(new) + [i for i in old if i not in new]
    return VersionDiff(added, removed, sorted(changed, key=lambda c: order.index(c.id)))
