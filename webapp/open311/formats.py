"""The two answer formats of GeoReport v2 (JSON and XML) and its error shape, built from the same plain data.

A JSON answer is the data as it is; the XML one wraps it the way the specification's examples do: a list in a root
element whose children are named for one item (`<services><service>…`), a nested list (attributes, values,
endpoints, formats) in an element of the list's name holding one element per item, `true`/`false` for booleans
and an empty element for a missing value. Errors are `[{"code": 400, "description": "…"}]` or
`<errors><error><code>400</code><description>…</description></error></errors>`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any
from xml.etree import ElementTree as ET  # builds XML from our own data only; nothing is parsed here

from flask import Response

FORMATS = ("json", "xml")
MIME = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# The element of one item of a nested list, by the list's name (GeoReport v2 examples).
ITEM_OF = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format",
           "errors": "error", "services": "service", "service_requests": "request"}


def _text(value: Any) -> str | None:
    """Return a value as XML text: booleans as true/false, None as an empty element."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: ET.Element, value: Any, name: str) -> None:
    """Put a value into an element: a mapping as children, a list as one child per item, else text."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item, key)
    elif isinstance(value, list | tuple):
        child = ITEM_OF.get(name, "item")
        for item in value:
            _fill(ET.SubElement(element, child), item, child)
    else:
        element.text = _text(value)


def to_xml(root: str, data: Any) -> bytes:
    """Return the XML document of the data under a root element (a list gives one child per item)."""
    element = ET.Element(root)
    _fill(element, data, root)
    return bytes(ET.tostring(element, encoding="utf-8", xml_declaration=True))


def answer(fmt: str, root: str, data: Any, status: int = 200) -> Response:
    """Answer with the data in the requested format (root names the XML document element)."""
    if fmt == "xml":
        return Response(to_xml(root, data), status=status, mimetype="text/xml", content_type=MIME["xml"])
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status=status, content_type=MIME["json"])


def errors(fmt: str, status: int, descriptions: Sequence[str], headers: Mapping[str, str] | None = None) -> Response:
    """Answer with GeoReport v2 errors: one entry per description, each carrying the HTTP status as its code."""
    items = [{"code": status, "description": str(text)} for text in descriptions]
    response = answer(fmt, "errors", items, status)
    response.headers.update(headers or {})
    return response
