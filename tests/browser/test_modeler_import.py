"""An analyst imports a diagram another tool exported as documentation only, and makes it runnable in the browser.

Signavio and ARIS export processes with isExecutable="false". The upload keeps it as a draft with errors (草稿，有错误)
and opens it in the modeler with the problem listed; the analyst clicks the pool, ticks 可执行 in the properties panel,
checks and saves: the new version has no errors and can be published. In Chromium.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser
from playwright.sync_api import expect

from processes.runtime import definitions
from tests.browser.conftest import LiveServer
from tests.browser.conftest import login
from tests.browser.test_modeler import context_of
from tests.browser.test_modeler import validate
from tests.web_support import add_user
from webapp import runtime_of

pytestmark = pytest.mark.browser


def exported() -> str:
    """A one-pool collaboration whose process is marked not executable, with its diagram interchange."""
    task = ('<bpmn:userTask id="check" name="核实"><bpmn:extensionElements><spiffworkflow:properties>'
            '<spiffworkflow:property name="candidate_role" value="handler"/></spiffworkflow:properties>'
            '</bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'
        ' xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"'
        ' xmlns:di="http://www.omg.org/spec/DD/20100524/DI"'
        ' xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="x">'
        '<bpmn:collaboration id="collab"><bpmn:participant id="pool" name="核实流程" processRef="imported"/>'
        '</bpmn:collaboration>'
        '<bpmn:process id="imported" name="核实流程" isExecutable="false">'
        '<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
        f'{task}<bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="end"/></bpmn:process>'
        '<bpmndi:BPMNDiagram id="d"><bpmndi:BPMNPlane id="p" bpmnElement="collab">'
        '<bpmndi:BPMNShape id="pool_di" bpmnElement="pool" isHorizontal="true">'
        '<dc:Bounds x="100" y="60" width="600" height="250"/></bpmndi:BPMNShape>'
        '<bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="180" y="162" width="36" height="36"/>'
        '</bpmndi:BPMNShape><bpmndi:BPMNShape id="check_di" bpmnElement="check">'
        '<dc:Bounds x="300" y="140" width="100" height="80"/></bpmndi:BPMNShape>'
        '<bpmndi:BPMNShape id="end_di" bpmnElement="end"><dc:Bounds x="500" y="162" width="36" height="36"/>'
        '</bpmndi:BPMNShape>'
        '<bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="216" y="180"/><di:waypoint x="300" y="180"/>'
        '</bpmndi:BPMNEdge><bpmndi:BPMNEdge id="f2_di" bpmnElement="f2"><di:waypoint x="400" y="180"/>'
        '<di:waypoint x="500" y="180"/></bpmndi:BPMNEdge></bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>')


def test_an_imported_documentation_only_process_is_made_runnable_in_the_panel(
        browser: Browser, live_server: LiveServer, tmp_path: Path) -> None:
    add_user(live_server.app, "imp.an", "analyst", real_name="钱分析")
    source = tmp_path / "signavio-export.bpmn"
    source.write_text(exported(), encoding="utf-8")
    context = context_of(browser, live_server)
    page = context.new_page()
    login(page, "imp.an")
    page.goto("/modeler")
    page.fill("input[name=key]", "imported")
    page.set_input_files("input[name=file]", str(source))
    with page.expect_navigation():
        page.click("form.upload button[type=submit]")
    assert page.url.endswith("/modeler/imported/v1/edit")
    expect(page.locator(".flash")).to_contain_text("引擎还无法运行它")
    expect(page.locator("#modeler-edit[data-ready='1']")).to_have_count(1)
    validate(page)
    expect(page.locator(".problem-list [data-code='process.not_executable']")).to_contain_text("可执行")
    box = page.locator(".djs-element[data-element-id='pool']").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] - 40, box["y"] + box["height"] - 20)  # the pool's empty corner
    expect(page.locator("[data-bind='process_id']")).to_have_text("imported")
    checkbox = page.locator("[data-field='is_executable']")
    expect(checkbox).not_to_be_checked()
    checkbox.check()
    validate(page)
    expect(page.locator(".problem-list .problem-error")).to_have_count(0)
    page.click("[data-action='save']")
    expect(page.locator("[data-status]")).to_contain_text("已保存为第 2 版（草稿）")
    with runtime_of(live_server.app).read() as db:
        rows = {r.version: r for r in definitions.list_versions(db, "imported")}
    assert not rows[1].runnable and rows[2].runnable and rows[2].process_id == "imported"
    assert 'isExecutable="true"' in rows[2].files["signavio-export.bpmn"]
    page.goto("/modeler/imported")
    expect(page.locator("tr", has_text="第 1 版")).to_contain_text("有错误")
    expect(page.locator("tr", has_text="第 2 版")).not_to_contain_text("有错误")
    context.close()
