"""Hardened XML parsing: hostile uploads are refused before the engine sees them."""

from __future__ import annotations

from lxml import etree

from processes.engine.xmltext import MAX_XML_BYTES as MAX_XML_BYTES
from processes.engine.xmltext import decode_diagram
from processes.engine.xmltext import utf8_declaration
from processes.errors import UploadRejected

MAX_ELEMENTS = 50_000  # a real diagram has hundreds; millions of tiny elements make XSD validation crawl
MAX_ATTRIBUTES = 100  # per element; 100,000 attributes took 2.4 s in XSD validation
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
)


def _hardened_parser() -> etree.XMLParser:
    """Return a parser that resolves no entities, loads no DTD and touches no network."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(data: bytes | str, *, filename: str, limit: int = MAX_XML_BYTES) -> etree._Element:
    """Parse uploaded XML; reject oversize input, unreadable encodings, any DOCTYPE or entity, and malformed XML."""
    # Bytes are decoded by their mark or declaration (limit on the bytes as given); text is decoded already, so a
    # declaration still naming ISO-8859-1 or GBK must not make lxml read its UTF-8 bytes a second time.
    text = decode_diagram(data, filename, limit=limit) if isinstance(data, bytes) else utf8_declaration(data)
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UploadRejected("not valid Unicode text (unpaired surrogate)", file=filename) from exc
    if len(raw) > limit and isinstance(data, str):
        raise UploadRejected(f"file is larger than {limit // (1024 * 1024)} MB", file=filename)
    if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
        raise UploadRejected("DOCTYPE and entity declarations are not allowed", file=filename)
    if raw.count(b"<") > 2 * MAX_ELEMENTS:  # before parsing: a million tiny elements cost 110 MB as a tree
        raise UploadRejected(f"more than {MAX_ELEMENTS} XML elements", file=filename)
    try:
        root = etree.fromstring(raw, _hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise UploadRejected(f"malformed XML: {exc}", file=filename) from exc
    info = root.getroottree().docinfo
    if getattr(info, "doctype", None) or getattr(info, "internalDTD", None) is not None:
        raise UploadRejected("DOCTYPE not allowed", file=filename)
    if root.xpath("//*[local-name()='include' and namespace-uri()='http://www.w3.org/2001/XInclude']"):
        raise UploadRejected("XInclude is not allowed", file=filename)
    _check_counts(root, filename)
    return root


def _check_counts(root: etree._Element, filename: str) -> None:
    """Reject documents with too many elements, or an element with too many attributes."""
    for count, element in enumerate(root.iter(), start=1):
        if count > MAX_ELEMENTS:
            raise UploadRejected(f"more than {MAX_ELEMENTS} XML elements", file=filename)
        if len(element.attrib) > MAX_ATTRIBUTES:
            raise UploadRejected(f"element {element.get('id') or element.tag} has {len(element.attrib)} attributes; "
                                 f"the limit is {MAX_ATTRIBUTES}", file=filename)


def parse_bpmn(data: bytes | str, *, filename: str) -> etree._Element:
    """Parse a BPMN file and check it is a BPMN 2.0 definitions document."""
    root = parse_xml(data, filename=filename)
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise UploadRejected(f"not a BPMN 2.0 document (root element {root.tag!r})", file=filename)
    return root


def parse_dmn(data: bytes | str, *, filename: str) -> etree._Element:
    """Parse a DMN file and check its namespace."""
    root = parse_xml(data, filename=filename)
    if not any(root.tag == f"{{{ns}}}definitions" for ns in DMN_NAMESPACES):
        raise UploadRejected(f"not a DMN document (root element {root.tag!r})", file=filename)
    return root
