"""Read and write BPMN XML for the layout tool: hardened parsing that keeps comments, stable pretty printing."""

from __future__ import annotations

import re

from lxml import etree

from processes.errors import DefinitionInvalid

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DI_NSMAP = {"bpmndi": BPMNDI, "dc": DC, "di": DI}
MAX_BYTES = 5 * 1024 * 1024
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
# Comments and CDATA are copied as they are; every other empty element gets bpmn-js's " />" spelling.
_EMPTY_TAG = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|(<[A-Za-z_][^<>]*?)/>", re.S)


def bpmn(tag: str) -> str:
    """Return the Clark name of a BPMN model element."""
    return f"{{{BPMN}}}{tag}"


def local(el: etree._Element) -> str:
    """Return the local name of an element, or '' for comments and processing instructions."""
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def is_bpmn(el: etree._Element, *tags: str) -> bool:
    """Tell whether an element is a BPMN model element with one of these local names."""
    return isinstance(el.tag, str) and etree.QName(el).namespace == BPMN and local(el) in tags


def parse(text: str, *, filename: str = "diagram.bpmn") -> etree._Element:
    """Parse a BPMN document without entities, DTDs or network access; keep comments for the rewrite."""
    raw = text.encode("utf-8")
    if len(raw) > MAX_BYTES:
        raise DefinitionInvalid(f"file is larger than {MAX_BYTES // (1024 * 1024)} MB", file=filename)
    if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
        raise DefinitionInvalid("DOCTYPE and entity declarations are not allowed", file=filename)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             strip_cdata=False)
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as exc:
        raise DefinitionInvalid(f"malformed XML: {exc}", file=filename) from exc
    if root.tag != bpmn("definitions"):
        raise DefinitionInvalid(f"not a BPMN 2.0 document (root element {root.tag!r})", file=filename)
    return root


def serialize(root: etree._Element) -> str:
    """Pretty-print with two spaces, the DI namespaces declared on the root, and a double-quoted declaration."""
    keep = [prefix for prefix in root.nsmap if prefix]
    free = {p: uri for p, uri in DI_NSMAP.items() if root.nsmap.get(p, uri) == uri}
    etree.cleanup_namespaces(root, top_nsmap=free, keep_ns_prefixes=keep)
    etree.indent(root, space="  ")
    text = etree.tostring(root.getroottree(), encoding="unicode")
    return DECLARATION + _EMPTY_TAG.sub(lambda m: m.group(0) if m.group(1) is None else m.group(1) + " />", text) + "\n"
