"""Absence and turnover (请假/离职交接): staff list, preview and hand-over of a person's tasks, disabling accounts."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask.testing import FlaskClient

from processes.accounts.roles import ROLE_CODES
from processes.runtime import assignment
from processes.runtime import commands
from processes.runtime.models import HistoryEvent
from processes.runtime.models import HumanTask
from tests.admin_support import sign_in
from tests.admin_support import user_id
from tests.web_support import audit_rows
from tests.web_support import post
from tests.web_support import user_row
from tests.workspace_support import FULL_PHONE
from tests.workspace_support import Workspace
from tests.workspace_support import post_form
from tests.workspace_support import text
from webapp.cli import cli

MONITOR_ROLES = {"supervisor", "duty_leader", "leader"}
ROW_RE = re.compile(r'data-task="([^"]+)" data-receiver="([^"]*)"')
DONE = {"sign_decision": "sign"}


class Scene:
    """Handler h1 (环保局) holds two of its unit's sign-for tasks and one of 住建局 from before a move (调岗)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.a, self.b, self.c = ws.dispatched("sthj"), ws.dispatched("sthj"), ws.dispatched("zjj")
        ws.user("h1", "handler", department="sthj", real_name="李承办")
        ws.user("h2", "handler", department="sthj", real_name="周同事")
        ws.user("h3", "handler", department="zjj", real_name="吴住建")
        rt = ws.office.rt
        for case in (self.a, self.b):
            task = self.task(case)
            assignment.claim(rt, task.instance_id, task.id, actor="h1")
        task = self.task(self.c)
        assignment.assign(rt, task.instance_id, task.id, "h1", actor="d1")
        self.ids = {name: self.task(case).id for name, case in (("a", self.a), ("b", self.b), ("c", self.c))}

    def task(self, case: commands.Started) -> HumanTask:
        """The case's sign-for task."""
        return self.ws.office.task(case, "sign_for")

    def holders(self) -> dict[str, str | None]:
        """Who holds each of the three tasks now."""
        with self.ws.office.rt.read() as db:
            rows = db.execute(sa.select(HumanTask.id, HumanTask.assignee).where(HumanTask.id.in_(self.ids.values())))
            found = {task_id: who for task_id, who in rows}
        return {name: found[task_id] for name, task_id in self.ids.items()}


def preview(client: FlaskClient, holder: str = "h1", **args: str) -> tuple[int, dict[str, str], str]:
    """The hand-over page: status, receiver of each task ('-' stays, '' group) and the page."""
    response = client.get(f"/monitor/people/{holder}/handover", query_string=args)
    page = text(response)
    return response.status_code, dict(ROW_RE.findall(page)), page


def confirm(client: FlaskClient, page: str, holder: str = "h1", **fields: str) -> tuple[int, str]:
    """Submit the confirmation form of a preview page with its own hidden fields."""
    form = page[page.index('method="post"'):]
    hidden = re.findall(r'<input type="hidden" name="(to|fallback|item)" value="([^"]*)">', form)
    data: dict[str, list[str] | str] = {"kind": "leave", "reason": "休产假三个月"}
    for name, value in hidden:
        if name == "item":
            data.setdefault("items", [])
            data["items"].append(value)  # type: ignore[union-attr]  # built as a list above
        else:
            data[name] = value
    data["item"] = data.pop("items", [])
    data.update(fields)
    response = post_form(client, f"/monitor/people/{holder}/handover", data)
    return response.status_code, text(response)


@pytest.fixture
def scene(ws: Workspace) -> Scene:
    return Scene(ws)


def test_the_staff_list_counts_held_tasks_and_filters_by_unit_and_role(scene: Scene) -> None:
    sup = scene.ws.user("sup1", "supervisor")
    page = text(sup.get("/monitor/people"))
    assert re.search(r'data-person="h1">.*?data-held="3"', page, re.S)
    assert re.search(r'data-person="h2">.*?data-held="0"', page, re.S)
    assert "李承办" in page and "/monitor/people/h1/handover" in page
    assert 'data-person="h1"' not in text(sup.get("/monitor/people?unit=zjj"))
    assert 'data-person="h3"' in text(sup.get("/monitor/people?unit=zjj"))
    assert 'data-person="h1"' not in text(sup.get("/monitor/people?role=supervisor"))
    holding = text(sup.get("/monitor/people?holding=1"))
    assert 'data-person="h1"' in holding and 'data-person="h2"' not in holding
    for bad in ("unit=nowhere", "role=sysadmin", "page=0", "page=x"):
        assert sup.get(f"/monitor/people?{bad}").status_code == 400, bad


def test_the_preview_names_each_task_and_who_would_receive_it(scene: Scene) -> None:
    sup = scene.ws.user("sup1", "supervisor")
    status, rows, page = preview(sup, to="h2")
    ids = scene.ids
    assert status == 200 and rows == {ids["a"]: "h2", ids["b"]: "h2", ids["c"]: ""}  # h2 cannot take 住建局's
    assert str(scene.a.case_number) in page and "接收人不能办理" in page and not FULL_PHONE.search(page)
    assert preview(sup, to="h2", fallback="keep")[1][ids["c"]] == "-"
    assert set(preview(sup)[1].values()) == {""}  # nobody named: all back to the group
    assert preview(sup, to="h3")[1] == {ids["a"]: "", ids["b"]: "", ids["c"]: "h3"}
    assert scene.holders() == {"a": "h1", "b": "h1", "c": "h1"}  # a preview changes nothing
    assert sup.get("/monitor/people/nobody/handover").status_code == 404
    for args in ({"to": "nobody"}, {"to": "h1"}, {"fallback": "drop"}):
        assert preview(sup, **args)[0] == 400, args


def test_apply_to_a_person_with_the_rest_back_to_the_group_audited_and_in_history(scene: Scene) -> None:
    ws = scene.ws
    sup = ws.user("sup1", "supervisor")
    status, _ = confirm(sup, preview(sup, to="h2")[2])
    assert status == 303
    assert scene.holders() == {"a": "h2", "b": "h2", "c": None}
    given = audit_rows(ws.app, "task.hand_over")
    back = audit_rows(ws.app, "task.unclaim")
    assert {r["object_id"] for r in given} == {scene.ids["a"], scene.ids["b"]}
    assert [r["object_id"] for r in back] == [scene.ids["c"]]
    assert all(r["actor"] == "sup1" and r["detail"]["reason"] == "休产假三个月" and r["detail"]["previous"] == "h1"
               and r["detail"]["handover"] == "leave" for r in given + back)
    with ws.office.rt.read() as db:
        events = db.execute(sa.select(HistoryEvent.task_id, HistoryEvent.kind, HistoryEvent.actor).where(
            HistoryEvent.task_id.in_(scene.ids.values()), HistoryEvent.actor == "sup1")).all()
    assert sorted((t, k) for t, k, _ in events) == sorted(
        [(scene.ids["a"], "assigned"), (scene.ids["b"], "assigned"), (scene.ids["c"], "unclaimed")])
    h2 = ws.clients["h2"]
    assert scene.ids["a"] in text(h2.get("/worklist"))
    assert scene.ids["c"] in text(ws.clients["h3"].get("/worklist?tab=group"))
    # the runtime's own projection follows: the new holder completes the task
    task = scene.task(scene.a)
    commands.complete_task(ws.office.rt, task.instance_id, task.id, DONE, actor="h2")


def test_apply_back_to_the_group_or_keep_what_the_receiver_cannot_take(scene: Scene) -> None:
    sup = scene.ws.user("sup1", "leader")
    assert confirm(sup, preview(sup, to="h2", fallback="keep")[2])[0] == 303
    assert scene.holders() == {"a": "h2", "b": "h2", "c": "h1"}
    assert confirm(sup, preview(sup)[2], kind="leaving")[0] == 303
    assert scene.holders() == {"a": "h2", "b": "h2", "c": None}


def test_a_task_changed_after_the_preview_refuses_the_whole_batch_with_409(scene: Scene) -> None:
    ws = scene.ws
    sup = ws.user("sup1", "duty_leader")
    page = preview(sup, to="h2")[2]
    task = scene.task(scene.a)
    commands.complete_task(ws.office.rt, task.instance_id, task.id, DONE, actor="h1")  # done before leaving
    status, answer = confirm(sup, page)
    assert status == 409 and "整批未执行" in answer
    assert scene.holders()["b"] == "h1" and scene.holders()["c"] == "h1"  # nothing handed over
    assert scene.ids["a"] not in dict(ROW_RE.findall(answer))  # the new preview, without the finished task
    assert [(r["result"], r["object_id"]) for r in audit_rows(ws.app, "task.hand_over")] == [("failure", "h1")]
    new = ws.dispatched("sthj")  # a task newly given to h1 meanwhile is refused the same way
    fresh = ws.office.task(new, "sign_for")
    assignment.assign(ws.office.rt, fresh.instance_id, fresh.id, "h1", actor="d1")
    status, answer = confirm(sup, answer)
    assert status == 409 and fresh.id in dict(ROW_RE.findall(answer))
    status, _ = confirm(sup, answer)  # confirming the new preview goes through
    assert status == 303 and scene.holders()["b"] == "h2"
    assert ws.office.task(new, "sign_for").assignee == "h2"


def test_the_confirmation_needs_a_kind_a_clean_reason_and_its_token(scene: Scene) -> None:
    sup = scene.ws.user("sup1", "supervisor")
    page = preview(sup, to="h2")[2]
    for fields in ({"reason": ""}, {"kind": "holiday"}, {"reason": "请联系 13912345678"}, {"reason": "长" * 301}):
        status, answer = confirm(sup, page, **fields)
        assert status == 400 and 'class="flash flash-error"' in answer, fields
    no_token = sup.post("/monitor/people/h1/handover", data={"kind": "leave", "reason": "x", "to": "h2"})
    assert no_token.status_code == 400
    assert scene.holders() == {"a": "h1", "b": "h1", "c": "h1"}


def test_only_supervisors_duty_leaders_and_leaders_may_hand_over(scene: Scene) -> None:
    ws = scene.ws
    for role in sorted(ROLE_CODES):
        unit = {"handler": "sthj", "township_reporter": "luxi"}.get(role)
        client = ws.user(f"u-{role}", role, department=unit)
        expected = 200 if role in MONITOR_ROLES else 403
        assert client.get("/monitor/people").status_code == expected, role
        assert client.get("/monitor/people/h1/handover").status_code == expected, role
    handler = ws.clients["h2"]
    assert post_form(handler, "/monitor/people/h1/handover", {"kind": "leave", "reason": "x"}).status_code == 403
    assert scene.holders() == {"a": "h1", "b": "h1", "c": "h1"}


def test_disabling_an_account_hands_its_tasks_over_with_the_disable(scene: Scene) -> None:
    ws = scene.ws
    admin = sign_in(ws.app, ws.office.clock, "admin1", "sysadmin")
    target = user_id(ws.app, "h1")
    page = text(admin.get(f"/admin/users/{target}"))
    assert 'data-held-tasks="3"' in page and str(scene.c.case_number) in page and "签收" in page
    assert not FULL_PHONE.search(page) and "王小明" not in page  # 三员分立: no requester data for the sysadmin
    bad = post_form(admin, f"/admin/users/{target}/disable", {"tasks": "person", "to": "h1"})
    assert bad.status_code == 400 and user_row(ws.app, "h1").active
    assert audit_rows(ws.app, "user.disable")[-1]["result"] == "failure"
    assert post_form(admin, f"/admin/users/{target}/disable", {"tasks": "person", "to": "h2"}).status_code == 302
    assert not user_row(ws.app, "h1").active
    assert scene.holders() == {"a": "h2", "b": "h2", "c": None}  # none stays with the disabled account
    row = audit_rows(ws.app, "user.disable")[-1]
    assert row["after"] == {"active": False, "tasks_to": "h2", "tasks_given": 2, "tasks_to_group": 1}
    assert len(audit_rows(ws.app, "task.hand_over")) == 2 and len(audit_rows(ws.app, "task.unclaim")) == 1
    receiver = ws.user("d9", "dispatcher")
    assert "账号停用" in text(receiver.get(f"/cases/{scene.a.case_id}"))  # the history says why the task moved
    post(receiver, "/lang", {"lang": "en"})
    english = text(receiver.get(f"/cases/{scene.a.case_id}"))
    assert "Account disabled" in english and "账号停用" not in english


def test_disabling_by_default_sends_the_tasks_back_to_the_group(scene: Scene) -> None:
    ws = scene.ws
    admin = sign_in(ws.app, ws.office.clock, "admin1", "sysadmin")
    assert post_form(admin, f"/admin/users/{user_id(ws.app, 'h1')}/disable").status_code == 302
    assert scene.holders() == {"a": None, "b": None, "c": None}
    with ws.office.rt.read() as db:
        assert not db.scalar(sa.select(sa.func.count()).select_from(HumanTask).where(HumanTask.assignee == "h1"))


def test_disabling_on_the_command_line_hands_the_tasks_over_too(scene: Scene) -> None:
    ws = scene.ws
    url = ws.office.rt.db.url.render_as_string(hide_password=False)
    hotline = CliRunner(env={"HOTLINE_DATABASE_URL": url})
    refused = hotline.invoke(cli, ["users", "disable", "h1", "--tasks-to", "nobody"])
    assert refused.exit_code != 0 and "nobody" in refused.output and user_row(ws.app, "h1").active
    assert scene.holders() == {"a": "h1", "b": "h1", "c": "h1"}  # a refused disable moves nothing
    done = hotline.invoke(cli, ["users", "disable", "h1", "--tasks-to", "h2"])
    assert done.exit_code == 0, done.output
    assert "2 task(s) to h2, 1 back to their group" in done.output
    assert not user_row(ws.app, "h1").active
    assert scene.holders() == {"a": "h2", "b": "h2", "c": None}
    row = audit_rows(ws.app, "user.disable")[-1]
    assert row["after"] == {"active": False, "tasks_to": "h2", "tasks_given": 2, "tasks_to_group": 1}
    assert len(audit_rows(ws.app, "task.hand_over")) == 2 and len(audit_rows(ws.app, "task.unclaim")) == 1
