"""An analyst changes a process in the browser modeler and a second person publishes it, in Chromium.

`mdemo` v1 (签收 → 答复) is published and two cases wait at 签收. The analyst opens v1 in the modeler, renames 答复,
drops an event on 签收's border, turns it into a timer boundary event through the Chinese replace menu, gives it an
end, and types its value in the properties panel: `P3` is shown as an error next to the timer (校验), `P3D` is
clean; the save makes draft v2. The system administrator publishes v2 with a TOTP code; a new case starts on v2
while one old case finishes on v1, and a supervisor migrates the other one (实例迁移). Screenshots: the modeler,
its validation and the diff of the two versions (saved beside the test; to docs/screenshots/ with
HOTLINE_SCREENSHOTS=1).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from playwright.sync_api import BrowserContext
from playwright.sync_api import Page
from playwright.sync_api import expect

from processes.accounts import totp
from processes.modeling import diff as diffing
from processes.runtime import commands
from processes.runtime import definitions
from processes.runtime.models import ProcessDefinition
from processes.runtime.models import ProcessInstance
from tests.admin_support import enrol_totp
from tests.browser.conftest import LiveServer
from tests.browser.conftest import login
from tests.browser.test_deadline_verdicts import shot
from tests.proc_helpers import open_task_id
from tests.web_support import add_user
from webapp import runtime_of

pytestmark = pytest.mark.browser

SHAPES = {"start": (152, 162, 36, 36), "sign_for": (240, 140, 100, 80), "reply": (400, 140, 100, 80),
          "end": (562, 162, 36, 36)}
FLOWS = {"f1": ("start", "sign_for"), "f2": ("sign_for", "reply"), "f3": ("reply", "end")}


def user_task(task_id: str, name: str) -> str:
    """A user task for a unit's handlers."""
    return (f'<bpmn:userTask id="{task_id}" name="{name}"><bpmn:extensionElements><spiffworkflow:properties>'
            '<spiffworkflow:property name="candidate_role" value="handler"/></spiffworkflow:properties>'
            '</bpmn:extensionElements></bpmn:userTask>')


def diagram() -> str:
    """`mdemo` v1 with its diagram interchange, as a modeling tool exports it."""
    shapes = "".join(f'<bpmndi:BPMNShape id="{k}_di" bpmnElement="{k}"><dc:Bounds x="{x}" y="{y}" width="{w}" '
                     f'height="{h}"/></bpmndi:BPMNShape>' for k, (x, y, w, h) in SHAPES.items())
    edges = "".join(f'<bpmndi:BPMNEdge id="{k}_di" bpmnElement="{k}"><di:waypoint x="{SHAPES[a][0] + SHAPES[a][2]}" '
                    f'y="180"/><di:waypoint x="{SHAPES[b][0]}" y="180"/></bpmndi:BPMNEdge>'
                    for k, (a, b) in FLOWS.items())
    flows = "".join(f'<bpmn:sequenceFlow id="{k}" sourceRef="{a}" targetRef="{b}"/>' for k, (a, b) in FLOWS.items())
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'
        ' xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"'
        ' xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'
        ' id="Definitions_mdemo" targetNamespace="http://bpmn.io/schema/bpmn">'
        '<bpmn:process id="mdemo" name="建模演示" isExecutable="true"><bpmn:startEvent id="start"/>'
        f'{user_task("sign_for", "签收")}{user_task("reply", "答复")}<bpmn:endEvent id="end"/>{flows}</bpmn:process>'
        f'<bpmndi:BPMNDiagram id="d"><bpmndi:BPMNPlane id="p" bpmnElement="mdemo">{shapes}{edges}'
        '</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>')


@pytest.fixture(scope="module")
def office(live_server: LiveServer) -> Iterator[dict[str, str]]:
    """The published v1, the people of this test (the administrator with a TOTP secret) and two waiting cases."""
    app, rt = live_server.app, runtime_of(live_server.app)
    with rt.write() as db, db.begin():
        definitions.deploy(db, "mdemo", {"mdemo.bpmn": diagram()}, actor="md.an0", now=rt.clock(),
                           operators=rt.handlers, publish=True)
    add_user(app, "md.an", "analyst", real_name="吴分析")
    add_user(app, "md.sv", "supervisor", real_name="郑督办")
    add_user(app, "md.admin", "sysadmin", real_name="王管理")
    secret = enrol_totp(app, "md.admin")
    old = [commands.start(rt, "mdemo", {}, actor="md.op").instance_id for _ in range(2)]
    yield {"secret": secret, "finishes": old[0], "moves": old[1]}


def context_of(browser: Browser, live_server: LiveServer) -> BrowserContext:
    """A browser context with a Chinese locale and a screen wide enough for the diagram and its panel."""
    return browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 1440, "height": 1000})


def select(page: Page, element_id: str) -> None:
    """Click an element of the diagram, as a person selects it."""
    shape = page.locator(f".djs-element[data-element-id='{element_id}']")
    box = shape.bounding_box()
    assert box is not None
    if "selected" not in (shape.get_attribute("class") or ""):  # a click on a selected element deselects it
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator("[data-section='general']")).to_be_visible()
    expect(page.locator("[data-bind='id']")).to_have_text(element_id)


def add_boundary_timer(page: Page) -> str:
    """Drop an event on 签收's lower border, make it a timer in the replace menu, name it and give it an end."""
    box = page.locator(".djs-element[data-element-id='sign_for']").bounding_box()
    assert box is not None
    page.click(".djs-palette [data-action='create.intermediate-event']")
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] - 5)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"])
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"])
    expect(page.locator(".djs-context-pad [data-action='replace']")).to_be_visible()
    page.click(".djs-context-pad [data-action='replace']")
    entry = page.locator(".djs-popup [data-id='replace-with-timer-boundary']")
    expect(entry).to_contain_text("定时边界事件")  # the replace menu speaks Chinese
    entry.click()
    timer_id = page.locator("[data-bind='id']").inner_text()
    assert page.locator("[data-bind='type']").inner_text() == "边界事件"  # the type in words, not BoundaryEvent
    page.fill("[data-field='name']", "三天未签收")
    page.press("[data-field='name']", "Tab")
    page.click(".djs-context-pad [data-action='append.end-event']")
    page.fill("[data-field='name']", "已催办")
    page.press("[data-field='name']", "Tab")
    select(page, timer_id)
    return timer_id


def set_timer(page: Page, value: str) -> None:
    """Type a literal ISO 8601 value into the panel's timer field and wait for the server's check."""
    page.check("[data-field='timer_mode'][value='literal']")
    page.fill("[data-field='timer_value']", value)
    page.press("[data-field='timer_value']", "Tab")
    expect(page.locator("[data-check='timer']")).not_to_be_empty()


def validate(page: Page) -> None:
    """Press 校验 and wait for the answer."""
    page.evaluate("document.getElementById('modeler-edit').removeAttribute('data-problems')")
    page.click("[data-action='validate']")
    expect(page.locator("#modeler-edit[data-problems]")).to_have_count(1)


def sign_in_with_code(page: Page, live_server: LiveServer, username: str, secret: str) -> None:
    """Sign in with password and the current TOTP code."""
    login(page, username)
    page.fill("input[name=code]", totp.code_at(secret, live_server.clock()))
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    live_server.clock.advance(seconds=30)


def version_of(live_server: LiveServer, instance_id: str) -> int:
    """Return the definition version an instance runs on."""
    with runtime_of(live_server.app).read() as db:
        row = db.get(ProcessInstance, instance_id)
        assert row is not None
        definition = db.get(ProcessDefinition, row.definition_id)
        assert definition is not None
        return definition.version


def edit_and_save(page: Page, tmp_path: Path) -> None:
    """The analyst's part: rename, add a timer, see the problem on the diagram, fix it, save v2."""
    page.goto("/modeler/mdemo/v1/edit")
    expect(page.locator("#modeler-edit[data-ready='1']")).to_have_count(1)
    expect(page.locator(".djs-palette [data-action='create.task']")).to_have_attribute("aria-label", "新建任务")
    select(page, "reply")
    expect(page.locator("[data-field='candidate_role']")).to_have_value("handler")
    page.fill("[data-field='name']", "办理答复")
    page.press("[data-field='name']", "Tab")
    expect(page.locator(".djs-element[data-element-id='reply'] text")).to_contain_text("办理答复")
    select(page, "sign_for")
    page.select_option("[data-field='form']", "*new")
    page.fill("[data-field='new_form']", "sign_note")
    page.press("[data-field='new_form']", "Tab")
    expect(page.locator("[data-form-preview]")).to_contain_text("这个表单没有字段")  # drawn by the server
    page.fill("[data-field='form_json']", '{"title": "签收", "type": "object", "properties": '
                                          '{"note": {"type": "string", "title": "签收说明"}}}')
    expect(page.locator("[data-form-preview] label[for='f-note']")).to_have_text("签收说明")
    timer_id = add_boundary_timer(page)
    set_timer(page, "P3")
    expect(page.locator("[data-check='timer']")).to_contain_text("不是有效的 ISO 8601")
    validate(page)
    badge = page.locator(f"[data-problem-badge='{timer_id}']")
    expect(badge).to_have_class("problem-badge problem-error")
    expect(page.locator(f".problem-list [data-element='{timer_id}'][data-code='timer.iso']")).to_contain_text("P7D")
    select(page, "reply")
    page.click(f".problem-list [data-element='{timer_id}']")  # a problem in the list leads to its element
    expect(page.locator("[data-bind='id']")).to_have_text(timer_id)
    expect(page.locator("[data-canvas]")).to_be_in_viewport(ratio=1)  # the diagram is in view with its panel
    shot(page, tmp_path, "modeler-validation.png")
    set_timer(page, "P3D")
    expect(page.locator("[data-check='timer']")).to_have_class("check ok")
    validate(page)
    expect(page.locator(".problem-list .problem-error")).to_have_count(0)
    expect(badge).to_have_count(0)
    page.click("[data-action='save']")
    expect(page.locator("[data-status]")).to_contain_text("已保存为第 2 版（草稿）")
    assert page.url.endswith("/modeler/mdemo/v2/edit?file=mdemo.bpmn")
    select(page, timer_id)
    shot(page, tmp_path, "modeler.png")


def test_an_analyst_edits_a_process_and_a_second_person_publishes_it(
        browser: Browser, live_server: LiveServer, office: dict[str, str], tmp_path: Path) -> None:
    rt = runtime_of(live_server.app)
    analyst = context_of(browser, live_server)
    page = analyst.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(page, "md.an")
    edit_and_save(page, tmp_path)
    assert not [e for e in errors if "Content Security Policy" in e], errors
    analyst.close()
    with rt.read() as db:
        v2 = definitions.list_versions(db, "mdemo")[0]
    assert (v2.version, v2.status, v2.created_by) == (2, "draft", "md.an")
    assert "办理答复" in v2.files["mdemo.bpmn"] and ">P3D</bpmn:timeDuration>" in v2.files["mdemo.bpmn"]
    assert 'name="formJsonSchemaFilename" value="sign_note.schema.json"' in v2.files["mdemo.bpmn"]
    assert "签收说明" in v2.files["forms/sign_note.schema.json"]

    admin = context_of(browser, live_server)
    page = admin.new_page()
    sign_in_with_code(page, live_server, "md.admin", office["secret"])
    page.goto("/modeler/mdemo/v2/publish")
    expect(page.locator("[data-can-publish='1']")).to_have_count(1)
    page.fill("input[name=code]", totp.code_at(office["secret"], live_server.clock()))
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    expect(page.locator(".flash-success")).to_contain_text("第 2 版已发布")
    page.goto("/modeler/mdemo/diff?a=1&b=2")
    expect(page.locator(".bpmn-canvas[data-ready='1']")).to_have_count(2)
    expect(page.locator(".diff-added-list li")).not_to_have_count(0)
    shot(page, tmp_path, "modeler-diff.png")
    admin.close()

    new = commands.start(rt, "mdemo", {}, actor="md.op").instance_id
    assert version_of(live_server, new) == 2
    finishing = office["finishes"]
    for step in ("sign_for", "reply"):
        commands.complete_task(rt, finishing, open_task_id(rt, finishing, step), {}, actor="md.h")
    with rt.read() as db:
        done = db.get(ProcessInstance, finishing)
        assert done is not None and done.status == "completed"
    assert version_of(live_server, finishing) == 1

    supervisor = context_of(browser, live_server)
    page = supervisor.new_page()
    login(page, "md.sv")
    page.goto("/modeler/mdemo/migrate?from=1&to=2")
    page.check(f"input[name=instance][value='{office['moves']}']")
    page.fill("input[name=reason]", "按新版本办理")
    with page.expect_navigation():
        page.click("main form[method=post] button[type=submit]")
    expect(page.locator(".migration-results li.ok")).to_have_count(1)
    supervisor.close()
    assert version_of(live_server, office["moves"]) == 2


PRODUCT_FILES = ("case_phone.bpmn", "case_lifecycle.bpmn", "department_handling.bpmn")


def test_a_product_diagram_opened_in_the_modeler_is_downloaded_as_it_was_stored(
        browser: Browser, live_server: LiveServer, office: dict[str, str]) -> None:
    """Opening changes nothing (no unsaved mark) and what bpmn-js writes back keeps every element as stored.

    The lifecycle's multi-instance names its collections by variable (<loopDataInputRef>units</…>), which bpmn-js
    drops as an unresolved reference unless the page keeps it: a saved copy would no longer run.
    """
    analyst = context_of(browser, live_server)
    page = analyst.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, "md.an")
    with runtime_of(live_server.app).read() as db:
        stored = definitions.list_versions(db, "case_phone")[-1]
    for name in PRODUCT_FILES:
        page.goto(f"/modeler/case_phone/v{stored.version}/edit?file={name}")
        expect(page.locator("#modeler-edit[data-ready='1']")).to_have_count(1)
        expect(page.locator("[data-status]")).to_be_empty()  # nothing is unsaved in a diagram just opened
        if name == "department_handling.bpmn":  # a change in the panel rewrites the call: days stays an int
            select(page, "extend_deadline")
            for value in ("other", "handle_deadline"):
                page.fill("[data-field='result_variable']", value)
                page.press("[data-field='result_variable']", "Tab")
        with page.expect_download() as download:
            page.click("[data-action='download']")
        written = Path(download.value.path()).read_text(encoding="utf-8")
        found = diffing.compare({name: stored.files[name]}, {name: written})
        assert (found.added, found.removed, found.changed) == ([], [], []), name
        if name == "case_lifecycle.bpmn":
            assert "<bpmn:loopDataInputRef>units</bpmn:loopDataInputRef>" in written
    page.goto(f"/modeler/case_phone/v{stored.version}/edit?file=case_phone.bpmn")
    expect(page.locator("#modeler-edit[data-ready='1']")).to_have_count(1)
    label = page.locator(".djs-element[data-element-id='f_gw_duplicates_merge_offer_label']")
    box = label.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # a flow's name, as people click
    expect(page.locator("[data-bind='id']")).to_have_text("f_gw_duplicates_merge_offer")
    expect(page.locator("[data-section='flow']")).to_be_visible()
    no_layout = ('<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn='
                 '"http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x"><bpmn:process id="p">'
                 '<bpmn:startEvent id="s"/></bpmn:process></bpmn:definitions>')
    page.set_input_files("[data-action='open']", files=[
        {"name": "no-layout.bpmn", "mimeType": "application/xml", "buffer": no_layout.encode()}])
    expect(page.locator("[data-status]")).to_contain_text("没有图形信息（DI）")  # says why and what to do
    expect(page.locator(".djs-element[data-element-id='lifecycle']")).to_have_count(1)  # the diagram is kept
    select(page, "lifecycle")  # a call activity shows the process it calls
    expect(page.locator("[data-bind='type']")).to_have_text("调用活动（子流程）")
    expect(page.locator("[data-field='called_element']")).to_have_value("case_lifecycle")
    lane = page.locator(".djs-element[data-element-id='lane_operator']").bounding_box()
    assert lane is not None
    palette = page.locator(".djs-palette").bounding_box()
    assert palette is not None and lane["x"] > palette["x"] + palette["width"]  # the whole diagram beside the palette
    page.mouse.click(lane["x"] + 12, lane["y"] + lane["height"] / 2)  # on the lane's title bar
    expect(page.locator("[data-bind='type']")).to_have_text("泳道")
    expect(page.locator("[data-bind='lane_role']")).to_contain_text("不是角色代码")  # 受理员, not operator
    page.fill("[data-field='name']", "operator")
    page.press("[data-field='name']", "Tab")
    expect(page.locator("[data-bind='lane_role']")).to_contain_text("交给 受理员/话务员 (operator)")
    page.click("[data-action='save']")
    expect(page.locator("[data-status]")).to_contain_text("（草稿）")
    saved = page.locator("#modeler-edit").get_attribute("data-version")
    chooser = page.locator(".toolbar form[method='get']")  # other files now open from the saved version
    expect(chooser).to_have_attribute("action", f"/modeler/case_phone/v{saved}/edit")
    assert not errors, errors
    analyst.close()
