"""Choosing the top process (主流程) on the web: a collaboration with two executable pools is refused with the
candidates to choose from and the upload form again, not a command-line flag; the choice is kept by later saves."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from processes.clock import FrozenClock
from processes.modeling import versions
from processes.runtime import definitions
from tests.admin_support import sign_in
from tests.modeler_support import SIMPLE
from tests.modeler_support import scripted
from tests.web_support import audit_rows
from tests.web_support import post
from tests.web_support import token
from tests.web_support import web_app
from webapp import runtime_of

CALLBACK = ('<bpmn:collaboration id="collab"><bpmn:participant id="pool_a" name="受理" processRef="simple"/>'
            '<bpmn:participant id="pool_b" name="回访" processRef="callback"/></bpmn:collaboration>'
            '<bpmn:process id="callback" name="回访流程" isExecutable="true">'
            '<bpmn:startEvent id="cb_start"><bpmn:outgoing>cb_f1</bpmn:outgoing></bpmn:startEvent>'
            '<bpmn:userTask id="cb_call" name="电话回访"><bpmn:extensionElements><spiffworkflow:properties>'
            '<spiffworkflow:property name="candidate_role" value="callback"/></spiffworkflow:properties>'
            '</bpmn:extensionElements><bpmn:incoming>cb_f1</bpmn:incoming><bpmn:outgoing>cb_f2</bpmn:outgoing>'
            '</bpmn:userTask><bpmn:endEvent id="cb_end"><bpmn:incoming>cb_f2</bpmn:incoming></bpmn:endEvent>'
            '<bpmn:sequenceFlow id="cb_f1" sourceRef="cb_start" targetRef="cb_call"/>'
            '<bpmn:sequenceFlow id="cb_f2" sourceRef="cb_call" targetRef="cb_end"/></bpmn:process>\n  ')
TWO_POOLS = scripted(SIMPLE).replace('<bpmn:process id="simple"', CALLBACK + '<bpmn:process id="simple"', 1)


@pytest.fixture
def app(db_url: str, clock: FrozenClock) -> Iterator[Flask]:
    yield from web_app(db_url, clock)


def upload(client: FlaskClient, text: str, *, key: str = "visit", process: str | None = None,
           csrf: bool = True) -> TestResponse:
    """Upload a diagram as a new draft of `key`, naming its top process or not."""
    data: dict[str, object] = {"key": key, "file": (io.BytesIO(text.encode("utf-8")), "two.bpmn")}
    if process is not None:
        data["process"] = process
    if csrf:
        data["csrf_token"] = token(client, "/modeler")
    return client.post("/modeler/upload", data=data, content_type="multipart/form-data")


def process_of(app: Flask, key: str = "visit") -> list[tuple[int, str]]:
    """Return (version, top process id) of every version of a key, newest first."""
    with runtime_of(app).read() as db:
        return [(r.version, r.process_id) for r in definitions.list_versions(db, key)]


def choices(page: str) -> list[str]:
    """Return the process ids the page offers as a choice."""
    return re.findall(r'<input type="radio" name="process" value="([^"]+)"', page)


def test_an_ambiguous_upload_offers_the_candidates_not_a_flag(app: Flask, clock: FrozenClock) -> None:
    analyst = sign_in(app, clock, "an1", "analyst")
    refused = upload(analyst, TWO_POOLS)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "无法确定要运行哪个流程：有 2 个可执行的流程" in page and "请重新选择文件" in page
    assert choices(page) == ["callback", "simple"] and "回访流程" in page and "简单工单" in page
    assert "--process" not in page and "hotline" not in page
    assert 'name="key" value="visit"' in page and 'type="file"' in page
    assert process_of(app) == []
    rows = audit_rows(app, "definition.upload")
    assert [r["result"] for r in rows] == ["failure"] and "process.ambiguous" in str(rows[0]["detail"])
    assert upload(analyst, TWO_POOLS, process="callback").status_code == 303
    assert process_of(app) == [(1, "callback")]
    with runtime_of(app).read() as db:
        assert versions.get_version(db, "visit", 1).name == "回访流程"
    assert audit_rows(app, "definition.upload")[-1]["detail"]["process"] == "callback"


def test_an_unknown_choice_is_refused_with_the_choice_again(app: Flask, clock: FrozenClock) -> None:
    analyst = sign_in(app, clock, "an1", "analyst")
    refused = upload(analyst, TWO_POOLS, process="nope<script>")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "文件中没有可执行的流程 nope&lt;script&gt;" in page
    assert choices(page) == ["callback", "simple"] and "--process" not in page and "<script>" not in page
    assert process_of(app) == []
    assert [r["result"] for r in audit_rows(app, "definition.upload")] == ["failure"]


def test_a_single_process_file_may_name_its_process_or_not(app: Flask, clock: FrozenClock) -> None:
    analyst = sign_in(app, clock, "an1", "analyst")
    assert upload(analyst, scripted(SIMPLE), key="plain", process="").status_code == 303
    assert upload(analyst, scripted(SIMPLE).replace("通知", "通知（新）"), key="plain",
                  process="simple").status_code == 303
    assert process_of(app, "plain") == [(2, "simple"), (1, "simple")]
    assert 'name="process"' in analyst.get("/modeler").get_data(as_text=True)  # the optional 主流程 field


def test_later_saves_keep_the_chosen_process(app: Flask, clock: FrozenClock) -> None:
    analyst = sign_in(app, clock, "an1", "analyst")
    assert upload(analyst, TWO_POOLS, process="simple").status_code == 303
    assert upload(analyst, TWO_POOLS.replace("电话回访", "电话回访（改）")).status_code == 303  # no choice given
    rt = runtime_of(app)
    with rt.write() as db, db.begin():  # a save of the modeler: based on the version it opened, no choice
        versions.upload_draft(db, "visit", "two.bpmn", TWO_POOLS.replace("答复", "答复（改）"), actor="an1",
                              now=rt.clock(), operators=rt.handlers, base_version=2)
    assert process_of(app) == [(3, "simple"), (2, "simple"), (1, "simple")]
    assert upload(analyst, TWO_POOLS.replace("签收", "签收（改）"), process="callback").status_code == 303
    assert process_of(app)[0] == (4, "callback")  # a new choice replaces the kept one


def test_only_analysts_upload_and_only_with_the_csrf_token(app: Flask, clock: FrozenClock) -> None:
    analyst = sign_in(app, clock, "an1", "analyst")
    assert upload(analyst, TWO_POOLS, process="callback", csrf=False).status_code == 400
    operator = sign_in(app, clock, "op1", "operator")
    assert operator.get("/modeler").status_code == 403
    refused = operator.post("/modeler/upload", data={"csrf_token": token(operator, "/"), "key": "visit",
                                                     "process": "callback",
                                                     "file": (io.BytesIO(TWO_POOLS.encode()), "two.bpmn")},
                            content_type="multipart/form-data")
    assert refused.status_code == 403
    supervisor = sign_in(app, clock, "sv1", "supervisor")  # reads the workbench, uploads nothing
    assert 'name="process"' not in supervisor.get("/modeler").get_data(as_text=True)
    also = supervisor.post("/modeler/upload", data={"csrf_token": token(supervisor, "/modeler"), "key": "visit",
                                                    "process": "callback",
                                                    "file": (io.BytesIO(TWO_POOLS.encode()), "two.bpmn")},
                           content_type="multipart/form-data")
    assert also.status_code == 403
    assert process_of(app) == []


def test_a_save_of_another_file_of_the_bundle_keeps_the_chosen_process(app: Flask, clock: FrozenClock) -> None:
    head, _, _ = SIMPLE.partition("<bpmn:process ")
    callback_file = head + CALLBACK.split("</bpmn:collaboration>")[1] + "</bpmn:definitions>\n"
    rt = runtime_of(app)
    with rt.write() as db, db.begin():  # two files, each with an executable process: the first version chose one
        definitions.deploy(db, "visit", {"simple.bpmn": scripted(SIMPLE), "callback.bpmn": callback_file},
                           actor="an1", now=rt.clock(), operators=rt.handlers, process_id="simple")
    analyst = sign_in(app, clock, "an1", "analyst")
    changed = callback_file.replace("电话回访", "电话回访（改）").encode()
    response = analyst.post("/modeler/upload", data={"csrf_token": token(analyst, "/modeler"), "key": "visit",
                                                     "file": (io.BytesIO(changed), "callback.bpmn")},
                            content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[-800:]
    assert process_of(app) == [(2, "simple"), (1, "simple")]
    with rt.read() as db:
        assert "电话回访（改）" in str(versions.get_version(db, "visit", 2).files["callback.bpmn"])


def test_the_choice_speaks_the_page_language(app: Flask, clock: FrozenClock) -> None:
    analyst = sign_in(app, clock, "an1", "analyst")
    assert post(analyst, "/lang", {"lang": "en"}).status_code == 302
    page = upload(analyst, TWO_POOLS).get_data(as_text=True)
    assert "Cannot tell which process to run: there are 2 executable processes" in page
    assert "please choose the file again" in page and "Top process" in page and "--process" not in page
    assert choices(page) == ["callback", "simple"]


def test_the_modeler_says_how_to_keep_one_pool_not_a_command_line_flag(app: Flask, clock: FrozenClock) -> None:
    analyst = sign_in(app, clock, "an1", "analyst")
    assert upload(analyst, scripted(SIMPLE)).status_code == 303  # v1 with one process, no choice stored
    renamed = TWO_POOLS.replace('"simple"', '"renamed"')  # the stored process is gone: two candidates remain
    checked = analyst.post("/modeler/visit/v1/validate", json={"xml": renamed}, headers={
        "X-CSRFToken": token(analyst, "/modeler")}).get_json()
    ambiguous = [p for p in checked["problems"] if p["code"] == "process.ambiguous"]
    assert ambiguous and "--process" not in ambiguous[0]["hint"] and "可执行" in ambiguous[0]["hint"]
