"""An upload of several files at once (流程设计 上传): a diagram with the process it calls and its form schemas.

Before, the web upload took one .bpmn: a new process whose diagram calls another file could not come in from the
browser at all (each file alone was refused for its missing half). Odd sets are refused in words, never a 500.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from processes.clock import FrozenClock
from processes.runtime import definitions
from tests.admin_support import sign_in
from tests.support import read_bundle
from tests.web_support import audit_rows
from tests.web_support import location
from tests.web_support import token
from tests.web_support import web_app
from webapp import runtime_of

CALLS = read_bundle("call_parent.bpmn", "call_child.bpmn")
FORM = '{"title": "办结", "type": "object", "properties": {"note": {"type": "string", "title": "说明"}}}'


@pytest.fixture
def app(db_url: str, clock: FrozenClock) -> Iterator[Flask]:
    yield from web_app(db_url, clock)


def upload(client: FlaskClient, files: list[tuple[str, bytes]], key: str = "nested") -> TestResponse:
    """Upload files in one request, as a multiple file input sends them."""
    return client.post("/modeler/upload", content_type="multipart/form-data", data={
        "csrf_token": token(client, "/modeler"), "key": key,
        "file": [(io.BytesIO(raw), name) for name, raw in files]})


def stored(app: Flask, key: str = "nested") -> list[definitions.ProcessDefinition]:
    """Return the versions of a key, newest first."""
    with runtime_of(app).read() as db:
        return definitions.list_versions(db, key)


def test_a_diagram_comes_with_the_process_it_calls_and_its_form(app: Flask, clock: FrozenClock) -> None:
    analyst = sign_in(app, clock, "an1", "analyst")
    files = [("call_child.bpmn", CALLS["call_child.bpmn"].encode("utf-8")),  # a browser lists files by name
             ("call_parent.bpmn", CALLS["call_parent.bpmn"].encode("gb18030").replace(
                 b'encoding="UTF-8"', b'encoding="GB18030"')),
             ("close.schema.json", FORM.encode("utf-8"))]
    response = upload(analyst, files)
    assert response.status_code == 303 and location(response) == "/modeler/nested", response.get_data(as_text=True)
    [row] = stored(app)
    assert sorted(row.files) == ["call_child.bpmn", "call_parent.bpmn", "forms/close.schema.json"]
    assert row.runnable and row.process_id == "call_parent" and "转办（调用子流程）" in row.files["call_parent.bpmn"]
    [audit] = audit_rows(app, "definition.upload")
    assert audit["result"] == "success" and audit["detail"]["files"] == [
        "call_parent.bpmn", "call_child.bpmn", "forms/close.schema.json"]


def test_one_half_alone_is_kept_with_its_error_and_the_other_half_completes_it(app: Flask, clock: FrozenClock) -> None:
    analyst = sign_in(app, clock, "an1", "analyst")
    upload(analyst, [("call_parent.bpmn", CALLS["call_parent.bpmn"].encode("utf-8"))])
    assert not stored(app)[0].runnable  # the called process is missing
    upload(analyst, [("call_child.bpmn", CALLS["call_child.bpmn"].encode("utf-8")),
                     ("call_parent.bpmn", CALLS["call_parent.bpmn"].encode("utf-8"))])
    assert [(r.version, r.runnable) for r in stored(app)] == [(2, True), (1, False)]


@pytest.mark.parametrize("files, says", [
    ([("note.txt", b"x")], "只接受流程图"),
    ([("close.schema.json", FORM.encode("utf-8"))], "没有流程图"),
    ([(f"p{n}.bpmn", b"<x/>") for n in range(21)], "最多上传 20 个文件"),
    ([("a.bpmn", b"<x/>"), ("a.xml", b"<x/>")], "同名文件"),
    ([("a.bpmn", CALLS["call_child.bpmn"].encode("utf-8")), ("流程.bpmn", b"<x/>")], "文件名 流程.bpmn 不可用"),
    ([("a.bpmn", CALLS["call_child.bpmn"].encode("utf-8")), ("x.schema.json", "{}".encode("utf-16"))], "不是 UTF-8"),
    ([("a.bpmn", CALLS["call_child.bpmn"].encode("utf-8")),
      ("rules.dmn", b'<!DOCTYPE d [<!ENTITY e "x">]><d/>')], "DOCTYPE"),
    ([("a.bpmn", CALLS["call_child.bpmn"].encode("utf-8")), ("rules.dmn", b"<svg/>")], "DMN"),
])
def test_odd_sets_of_files_are_refused_in_words_and_nothing_is_stored(app: Flask, clock: FrozenClock,
                                                                      files: list[tuple[str, bytes]],
                                                                      says: str) -> None:
    analyst = sign_in(app, clock, "an1", "analyst")
    response = upload(analyst, files)
    assert response.status_code == 400 and says in response.get_data(as_text=True)
    assert stored(app) == []
    assert [r["result"] for r in audit_rows(app, "definition.upload")] == ["failure"]
