"""Decision screens in Chromium: the dispatcher sees the 派单目录 suggestion preselected on 派单, and the reviewer
sees the unit's reply (text, who, when, file) on 审核 before deciding.

With HOTLINE_SCREENSHOTS=1 both screens are saved to docs/screenshots/ for the README.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser
from playwright.sync_api import expect

from processes.cases.models import Case
from processes.runtime import commands
from processes.runtime.models import HumanTask
from tests.browser.conftest import LiveServer
from tests.browser.test_case_flow import as_user
from tests.browser.test_case_flow import choose
from tests.browser.test_case_flow import open_task
from tests.browser.test_case_flow import shot
from tests.browser.test_case_flow import submit
from tests.web_support import add_user
from webapp import runtime_of

pytestmark = pytest.mark.browser
USERS = {"dc.disp": ("dispatcher", None, "张伟"), "dc.sthj": ("handler", "sthj", "郑承办"),
         "dc.gafj": ("handler", "gafj", "林警官"), "dc.zhzf": ("handler", "zhzf", "吴执法")}
PHONE = "13957700001"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(scope="module")
def users(live_server: LiveServer) -> Iterator[None]:
    """The dispatcher and the unit's handler of this module."""
    for username, (role, unit, name) in USERS.items():
        add_user(live_server.app, username, role, department=unit, real_name=name)
    yield


def triaged_case(live_server: LiveServer) -> str:
    """A noise complaint from 北岙街道, registered and triaged for dispatch; return its number."""
    rt = runtime_of(live_server.app)
    opened = commands.open_case(rt, "case_phone", {
        "requester_name": "陈先生", "requester_phone": PHONE, "request_type": "complaint", "urgency": "normal",
        "township": "beiao", "category": "噪音扰民", "title": "中心街工地夜间施工噪音",
        "content": "中心街工地每晚十点后仍在施工，噪音很大。", "location": "北岙街道中心街"}, actor="dc.disp",
        channel="phone")
    with rt.read() as db:
        triage = db.scalars(sa.select(HumanTask).where(HumanTask.case_id == opened.case_id,
                                                       HumanTask.status == "open")).one()
        number = db.scalar(sa.select(Case.number).where(Case.id == opened.case_id))
    commands.complete_task(rt, triage.instance_id, triage.id, {
        "request_type": "complaint", "urgency": "normal", "triage_result": "dispatch"}, actor="dc.disp")
    return str(number)


def assisted(live_server: LiveServer, number: str) -> None:
    """The assisting units the suggestion added sign for and reply (through the runtime: not what is tested)."""
    rt = runtime_of(live_server.app)
    notes = {"gafj": "派出所已配合夜间巡查，未发现扰民施工。", "zhzf": "已对工地围挡和夜间照明进行检查，符合要求。"}
    for step in ("sign_for", "reply"):
        with rt.read() as db:
            tasks = db.scalars(sa.select(HumanTask).join(Case, Case.id == HumanTask.case_id).where(
                Case.number == number, HumanTask.status == "open", HumanTask.bpmn_id == step,
                HumanTask.department.in_(list(notes)))).all()
        for task in tasks:
            data = {"sign_decision": "sign"} if step == "sign_for" else {
                "reply_action": "reply", "claim_true": True, "solved": True, "contacted": False,
                "reply_text": notes[str(task.department)], "public_reply": notes[str(task.department)]}
            commands.complete_task(rt, task.instance_id, task.id, data, actor=f"dc.{task.department}")


def test_dispatch_shows_the_catalogue_suggestion_and_review_shows_the_reply(
        browser: Browser, live_server: LiveServer, users: None) -> None:
    number = triaged_case(live_server)

    dispatcher = as_user(browser, live_server, "dc.disp")
    open_task(dispatcher, number, "派单")
    decision = dispatcher.locator("section.decision")
    expect(decision).to_contain_text("派单目录建议")
    expect(decision).to_contain_text("建议主办单位")
    expect(decision).to_contain_text("区生态环境分局")
    expect(decision).to_contain_text("施工、商业、社会生活噪音")
    expect(dispatcher.locator("main select[name=lead_department]")).to_have_value("sthj")
    expect(dispatcher.locator("main input[name=dispatch_mode][value=department]")).to_be_checked()
    shot(dispatcher, "decision-dispatch.png")
    submit(dispatcher)  # the preselected suggestion goes through as it stands

    unit = as_user(browser, live_server, "dc.sthj")
    open_task(unit, number, "签收")
    choose(unit, "sign_decision", "sign")
    submit(unit)
    open_task(unit, number, "答复")
    choose(unit, "reply_action", "reply")
    for name in ("claim_true", "solved", "contacted"):
        choose(unit, name, "true")
    unit.fill("[name=reply_text]", "已责令施工单位夜间22时后停止作业，并于11月26日晚现场复查，已无夜间施工。")
    unit.fill("[name=contact_record]", f"11月26日电话联系诉求人（{PHONE}），告知处理情况，诉求人认可。")
    unit.fill("[name=public_reply]", "经核查，已责令施工单位夜间停止作业，复查时未发现夜间施工。")
    unit.set_input_files("#f-attachments", files=[{"name": "复查照片.png", "mimeType": "image/png",
                                                   "buffer": io.BytesIO(PNG).getvalue()}])
    submit(unit)
    unit.context.close()
    assisted(live_server, number)

    open_task(dispatcher, number, "审核")
    decision = dispatcher.locator("section.decision")
    expect(decision).to_contain_text("待审核的答复")
    expect(decision).to_contain_text("区生态环境分局的答复")
    expect(decision).to_contain_text("郑承办")
    expect(decision).to_contain_text("已责令施工单位夜间22时后停止作业")
    expect(decision).to_contain_text("经核查，已责令施工单位夜间停止作业")
    expect(decision).to_contain_text("复查照片.png")
    body = dispatcher.content()
    assert PHONE not in body and "139****0001" in body  # the reviewer holds no contact task
    box = decision.bounding_box()
    field = dispatcher.locator("main input[name=review_result]").first.bounding_box()
    assert box is not None and field is not None and box["y"] < field["y"]  # above the fields
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", decision.inner_text())  # when it was replied
    shot(dispatcher, "decision-review.png")
    choose(dispatcher, "review_result", "accept")
    submit(dispatcher)
    dispatcher.context.close()
