"""Migration of running instances to a newer version (实例迁移): dry-run reasons, moves that keep open tasks,
claims and timers, old instances finishing on their old version, the CLI with its audit rows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask

from processes.clock import FrozenClock
from processes.modeling import migration
from processes.runtime import assignment
from processes.runtime import commands
from processes.runtime import control
from processes.runtime import definitions
from processes.runtime.core import Runtime
from processes.runtime.models import TimerJob
from tests.admin_support import sign_in
from tests.instance_support import history
from tests.instance_support import instance
from tests.instance_support import tasks
from tests.modeler_support import SIMPLE
from tests.modeler_support import deploy_text
from tests.modeler_support import scripted
from tests.modeler_support import sign_for_renamed
from tests.modeler_support import with_check
from tests.proc_helpers import open_task_id
from tests.support import deploy
from tests.web_support import audit_rows
from tests.web_support import web_app
from tests.workspace_support import post_form
from webapp import runtime_of
from webapp.cli import cli

DATA = {"lead_department": "区住建局"}


def start(rt: Runtime) -> str:
    """Start an instance of the published `simple`."""
    return commands.start(rt, "simple", DATA, actor="op").instance_id


def reasons(plans: list[migration.InstancePlan]) -> dict[str, set[tuple[str, str]]]:
    """Return each planned instance's reasons as (code, element) pairs."""
    return {p.instance_id: {(r.code, r.element) for r in p.reasons} for p in plans}


def test_dry_run_says_per_instance_whether_and_why_not(runtime: Runtime) -> None:
    deploy(runtime, "simple", "simple.bpmn")
    waiting, answered, paused = start(runtime), start(runtime), start(runtime)
    commands.complete_task(runtime, answered, open_task_id(runtime, answered, "sign_for"), {}, actor="h")
    control.suspend(runtime, paused, actor="sup", reason="核实中")
    deploy_text(runtime, sign_for_renamed(), publish=True)  # v2
    assert reasons(migration.plan(runtime, "simple", 1, 2)) == {
        waiting: {("open_missing", "sign_for")},
        answered: {("done_missing", "sign_for")},
        paused: {("status", "suspended")},
    }
    deploy_text(runtime, with_check(), publish=True)  # v3, retires v2
    plans = migration.plan(runtime, "simple", 1, 3)
    assert {p.instance_id: p.can_move for p in plans} == {waiting: True, answered: True, paused: False}
    assert next(p for p in plans if p.instance_id == answered).open_tasks == ("reply",)
    with pytest.raises(migration.InvalidState):
        migration.plan(runtime, "simple", 1, 2)  # v2 is retired now: only the published version is a target
    with pytest.raises(migration.InvalidState):
        migration.plan(runtime, "simple", 3, 1)  # backwards


def test_a_moved_instance_keeps_its_task_claim_and_timer_and_runs_the_new_diagram(runtime: Runtime,
                                                                                 clock: FrozenClock) -> None:
    v1 = deploy(runtime, "simple", "simple.bpmn")
    moved, stays, paused = start(runtime), start(runtime), start(runtime)
    task_id = open_task_id(runtime, moved, "sign_for")
    assignment.claim(runtime, moved, task_id, actor="h1")
    commands.complete_task(runtime, stays, open_task_id(runtime, stays, "sign_for"), {}, actor="h")
    control.suspend(runtime, paused, actor="sup", reason="核实中")
    with runtime.read() as db:
        timer_before = db.execute(sa.select(TimerJob.task_id, TimerJob.due_at).where(
            TimerJob.instance_id == moved, TimerJob.status == "pending")).all()
    v2 = deploy_text(runtime, with_check(), publish=True)

    results = migration.apply(runtime, "simple", 1, 2, [moved, paused], actor="sup", reason="新增核对环节")
    assert [(m.instance_id, m.ok) for m in results] == [(moved, True), (paused, False)]
    assert (instance(runtime, moved).definition_id, instance(runtime, paused).definition_id) == (
        v2.definition_id, v1.definition_id)
    open_now = tasks(runtime, moved)["sign_for"]
    assert (open_now.id, open_now.assignee, open_now.status) == (task_id, "h1", "open")
    with runtime.read() as db:
        assert db.execute(sa.select(TimerJob.task_id, TimerJob.due_at).where(
            TimerJob.instance_id == moved, TimerJob.status == "pending")).all() == timer_before
    event = next(e for e in history(runtime, moved) if e.kind == "migrated")
    assert (event.actor, event.detail) == ("sup", {"from_version": 1, "to_version": 2, "reason": "新增核对环节"})

    commands.complete_task(runtime, moved, task_id, {}, actor="h1")
    assert tasks(runtime, moved)["check"].role == "dispatcher"  # the step only the new version has
    commands.complete_task(runtime, moved, open_task_id(runtime, moved, "check"), {}, actor="d")
    assert tasks(runtime, moved)["reply"].name == "答复（新版）"
    assert commands.complete_task(runtime, moved, open_task_id(runtime, moved, "reply"), {}, actor="h") == "completed"

    assert tasks(runtime, stays)["reply"].name == "答复"  # not moved: finishes on v1
    assert commands.complete_task(runtime, stays, open_task_id(runtime, stays, "reply"), {}, actor="h") == "completed"
    assert instance(runtime, stays).definition_id == v1.definition_id
    assert instance(runtime, start(runtime)).definition_id == v2.definition_id  # new cases start on v2


def test_moving_twice_is_refused_and_changes_nothing(runtime: Runtime) -> None:
    deploy(runtime, "simple", "simple.bpmn")
    one = start(runtime)
    deploy_text(runtime, with_check(), publish=True)
    assert migration.apply(runtime, "simple", 1, 2, [one], actor="sup", reason="r")[0].ok
    version = instance(runtime, one).version
    again = migration.apply(runtime, "simple", 1, 2, [one], actor="sup", reason="r")[0]
    assert (again.ok, again.reasons) == (False, (migration.Reason("not_on_version", "1"),))
    assert instance(runtime, one).version == version
    with pytest.raises(migration.InvalidState):
        migration.apply(runtime, "simple", 1, 2, [one], actor="sup", reason=" ")


@pytest.fixture
def app(db_url: str, clock: FrozenClock) -> Iterator[Flask]:
    yield from web_app(db_url, clock)


def test_cli_dry_run_and_apply_with_audit_rows(app: Flask) -> None:
    rt = runtime_of(app)
    runner = CliRunner(env={"HOTLINE_DATABASE_URL": app.config["DATABASE_URL"]})
    with rt.write() as session, session.begin():
        definitions.deploy(session, "simple", {"simple.bpmn": SIMPLE}, actor="an1", now=rt.clock(),
                           operators=["test.echo"], publish=True)
    # the CLI's runtime has the product handlers only: test.echo must not be reached, so stay before `notify`
    first, second = (commands.start(rt, "simple", DATA, actor="op").instance_id for _ in range(2))
    control.suspend(rt, second, actor="sup", reason="核实中")
    with rt.write() as session, session.begin():
        definitions.deploy(session, "simple", {"simple.bpmn": with_check()}, actor="an1", now=rt.clock(),
                           operators=["test.echo"], publish=True)
    dry = runner.invoke(cli, ["migrate", "simple", "--from", "1", "--to", "2", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"{first}" in dry.output and "1 of 2 instances can move (dry run)" in dry.output
    assert "cannot move (status:suspended)" in dry.output
    assert not audit_rows(app, "instance.migrate")
    assert runner.invoke(cli, ["migrate", "simple", "--from", "1", "--to", "2"]).exit_code == 2  # no --reason
    done = runner.invoke(cli, ["migrate", "simple", "--from", "1", "--to", "2", "--instance", first,
                               "--instance", second, "--reason", "新增核对环节"])
    assert done.exit_code == 3, done.output
    assert "1 of 2 instances moved to simple v2" in done.output
    rows = {r["object_id"]: r for r in audit_rows(app, "instance.migrate")}
    assert (rows[first]["result"], rows[second]["result"]) == ("success", "failure")
    assert rows[first]["detail"]["to_version"] == 2 and "suspended" in rows[second]["detail"]["refused"]


def test_web_dry_run_then_a_supervisor_moves_one_instance(app: Flask, clock: FrozenClock) -> None:
    rt = runtime_of(app)
    first = ""
    for text in (scripted(SIMPLE), scripted(with_check())):
        with rt.write() as session, session.begin():
            definitions.deploy(session, "simple", {"simple.bpmn": text}, actor="an1", now=rt.clock(),
                               operators=rt.handlers, publish=True)
        first = first or commands.start(rt, "simple", DATA, actor="op").instance_id  # on v1
    analyst, supervisor = sign_in(app, clock, "an1", "analyst"), sign_in(app, clock, "sup1", "supervisor")
    plan = analyst.get("/modeler/simple/migrate").get_data(as_text=True)  # defaults: from v1 to the published v2
    assert f'name="instance" value="{first}"' in plan and "可以迁移" in plan
    assert "迁移选中的实例" not in plan  # the analyst sees the dry run; a supervisor moves
    assert supervisor.get("/modeler/simple/migrate?from=2&to=1").status_code == 400
    assert supervisor.get("/modeler/simple/migrate?from=x").status_code == 400
    assert supervisor.get("/modeler/nope/migrate").status_code == 404
    no_reason = post_form(supervisor, "/modeler/simple/migrate", {"from": "1", "to": "2", "instance": first},
                          page="/modeler")
    assert no_reason.status_code == 400 and "请填写原因" in no_reason.get_data(as_text=True)
    done = post_form(supervisor, "/modeler/simple/migrate", {"from": "1", "to": "2", "instance": first,
                                                              "reason": "新增核对"}, page="/modeler")
    assert done.status_code == 200 and "已迁移到第 2 版" in done.get_data(as_text=True)
    rows = audit_rows(app, "instance.migrate")
    assert [(r["object_id"], r["result"], r["actor"]) for r in rows] == [(first, "success", "sup1")]
    again = post_form(supervisor, "/modeler/simple/migrate", {"from": "1", "to": "2", "instance": first,
                                                               "reason": "再次"}, page="/modeler")
    assert again.status_code == 409 and "实例已不在第 1 版" in again.get_data(as_text=True)
    assert audit_rows(app, "instance.migrate")[-1]["result"] == "failure"


def test_the_migration_page_says_why_a_pair_cannot_move_and_shows_states_and_steps_in_words(
        app: Flask, clock: FrozenClock) -> None:
    rt = runtime_of(app)
    with rt.write() as session, session.begin():
        definitions.deploy(session, "simple", {"simple.bpmn": scripted(SIMPLE)}, actor="an1", now=rt.clock(),
                           operators=rt.handlers, publish=True)
    waiting = commands.start(rt, "simple", DATA, actor="op").instance_id
    analyst = sign_in(app, clock, "an1", "analyst")
    alone = analyst.get("/modeler/simple/migrate")  # only v1: nothing older than the published version
    assert alone.status_code == 200 and "没有可迁移的实例" in alone.get_data(as_text=True)
    same = analyst.get("/modeler/simple/migrate?from=1&to=1")  # the form offers it: the page says why not
    text = same.get_data(as_text=True)
    assert same.status_code == 400 and "迁移的目标版本须比原版本新" in text and 'name="from"' in text
    with rt.write() as session, session.begin():
        definitions.deploy(session, "simple", {"simple.bpmn": scripted(with_check())}, actor="an1",
                           now=rt.clock(), operators=rt.handlers, publish=True)
    control.suspend(rt, waiting, actor="sup", reason="核实中")
    plan = analyst.get("/modeler/simple/migrate").get_data(as_text=True)
    row = plan[plan.index(waiting[:8]):]
    assert "挂起" in row and ">suspended<" not in row  # the state in words, in the list and in the reason
    assert "签收 <code>sign_for</code>" in row  # the step as people know it, with its id
