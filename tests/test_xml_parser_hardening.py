"""The XML parser follows no entity, DTD, schema hint, stylesheet or import (no connection is made); lxml >= 5."""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path

import pytest
from lxml import etree

from processes.engine.bundle import parse_bundle
from processes.engine.xmlsafe import parse_bpmn
from processes.errors import DefinitionInvalid
from processes.errors import UploadRejected
from tests.upload_support import BPMN_NS
from tests.upload_support import OPERATORS
from tests.upload_support import SECRET
from tests.upload_support import Canary
from tests.upload_support import definitions_doc
from tests.upload_support import linear


def test_canary_listener_counts_connections() -> None:
    listener = Canary()
    try:
        with socket.create_connection(("127.0.0.1", listener.port), timeout=2):
            pass
        deadline = time.monotonic() + 2
        while listener.connections == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert listener.connections == 1
    finally:
        listener.close()


def test_hardened_parser_refuses_entities_in_any_encoding(canary: Canary, secret_file: Path) -> None:
    """Bytes, not str: a DOCTYPE spelled in UTF-16 slips past a byte search but not the parsed-tree check."""
    doc = definitions_doc(linear() + "<bpmn:documentation>&x;</bpmn:documentation>",
                          head=f'<!DOCTYPE bpmn:definitions [<!ENTITY x SYSTEM "file://{secret_file}">]>\n')
    for data in (doc.encode("utf-8"), doc.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"),
                 doc.replace(f"file://{secret_file}", f"http://127.0.0.1:{canary.port}/").encode("utf-8")):
        with pytest.raises(UploadRejected) as info:
            parse_bpmn(data, filename="x.bpmn")
        assert "DOCTYPE" in str(info.value) or "malformed" in str(info.value)
        assert SECRET not in str(info.value)
    assert canary.connections == 0


def test_schema_hints_and_stylesheets_fetch_nothing(canary: Canary) -> None:
    """References the parser must never follow; whatever the verdict, no connection is made."""
    url = f"http://127.0.0.1:{canary.port}"
    docs = [
        definitions_doc(linear(), head=f'<?xml-stylesheet type="text/xsl" href="{url}/s.xsl"?>\n'),
        definitions_doc(linear(), extra='xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                                        f'xsi:schemaLocation="{BPMN_NS} {url}/BPMN20.xsd"'),
        definitions_doc(f'<bpmn:import importType="{BPMN_NS}" location="{url}/other.bpmn" namespace="urn:o"/>'
                        + linear()),
    ]
    for doc in docs:
        with contextlib.suppress(DefinitionInvalid):
            parse_bundle({"x.bpmn": doc}, process_id=None, operators=OPERATORS)
    assert canary.connections == 0


def test_lxml_is_at_least_5() -> None:
    """security.md §2.2: lxml < 5 resolves external entities by default; CI fails on an old lxml."""
    assert etree.LXML_VERSION >= (5, 0, 0, 0)
