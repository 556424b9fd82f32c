"""`hotline demo --live-cases 12`: an office at work on the supervisor's board, each task workable by its people."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from processes.accounts import pii
from processes.cases.models import Case
from processes.cases.models import Requester
from processes.clock import office_date_text
from processes.runtime.models import HistoryEvent
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessInstance
from tests.reference_support import CHEAP_ENV
from tests.web_support import CHEAP
from tests.web_support import audit_rows
from tests.web_support import location
from tests.web_support import login
from tests.web_support import post
from webapp import create_app
from webapp import runtime_of
from webapp.cli import cli
from webapp.cli.demo_live import PROFILES
from webapp.search.query import light_expr
from webapp.search.query import open_case

LIVE = 12
# A Tuesday morning (Beijing): the working days before it are fixed, so the lights the ages give are too.
CLOCK = "2026-12-08T10:00+08:00"
STAGES = {aim for aim, _ in PROFILES[:LIVE]} | {"supervise"}  # an overdue 办理 opens a 督办


@dataclass
class Demo:
    """The demo's app, its accounts' passwords and the live cases' numbers."""

    app: Flask
    passwords: dict[str, str]
    live: set[str]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """Set the demo up once with twelve live cases and no past, and open the web app on it."""
    folder = tmp_path_factory.mktemp("demo")
    env = {"HOTLINE_INSTANCE_PATH": str(folder), "HOTLINE_DATABASE_URL": "", "HOTLINE_CLOCK": CLOCK, **CHEAP_ENV}
    result = CliRunner(env=env).invoke(cli, ["demo", "--no-serve", "--history-days", "0", "--live-cases", str(LIVE)],
                                       catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert re.search(rf"opened {LIVE} live case\(s\) over the last working days .*timers fired", result.output)
    lines = (folder / "demo-users.txt").read_text(encoding="utf-8").splitlines()
    passwords = {user: password for user, _, password in (line.split("\t") for line in lines)}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOTLINE_INSTANCE_PATH", str(folder))  # its config.py and its clock file
        app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{Path(folder) / 'hotline.sqlite'}",
                          "MONITOR_CACHE_SECONDS": 0, **CHEAP})
        with app.app_context(), runtime_of(app).read() as db:
            samples = {str(n) for n in db.scalars(sa.select(Case.number).order_by(Case.created_at.desc()).limit(6))}
            live = {str(n) for n in db.scalars(sa.select(Case.number))} - samples
        yield Demo(app, passwords, live)
        runtime_of(app).db.dispose()


@pytest.fixture(autouse=True)
def instance_key(demo: Demo) -> None:
    """Use the demo instance's personal-data key (conftest sets the development key before every test)."""
    pii.configure(demo.app.config["PII_ENCRYPTION_KEY"], production=False)


def signed_in(demo: Demo, username: str) -> FlaskClient:
    """Return a client signed in as a demo account."""
    client = demo.app.test_client()
    assert location(login(client, username, demo.passwords[username])) == "/"
    return client


def board_counts(html: str) -> dict[str, int]:
    """Return the board's numbers by their data-count name."""
    tiles = dict(re.findall(r'data-count="([^"]+)">\s*<strong>(\d+)</strong>', html))
    cells = dict(re.findall(r'data-count="([^"]+)">(\d+)</a>', html))
    return {name: int(n) for name, n in {**tiles, **cells}.items()}


def live_task(demo: Demo, bpmn_id: str) -> HumanTask:
    """Return an open task of a live case at this step."""
    with runtime_of(demo.app).read() as db:
        tasks = db.scalars(sa.select(HumanTask).join(Case, Case.id == HumanTask.case_id).where(
            HumanTask.bpmn_id == bpmn_id, HumanTask.status == "open", Case.number.in_(demo.live)))
        found = tasks.first()
    assert found is not None, bpmn_id
    return found


def test_the_board_counts_the_open_cases_at_every_stage_with_red_and_yellow(demo: Demo) -> None:
    client = signed_in(demo, "sv1")
    response = client.get("/monitor")
    assert response.status_code == 200
    shown = board_counts(response.get_data(as_text=True))
    now = runtime_of(demo.app).clock()
    with runtime_of(demo.app).read() as db:
        lights = {str(light): int(n) for light, n in db.execute(
            sa.select(light_expr(now), sa.func.count()).where(open_case()).group_by(light_expr(now)))}
    assert {k: n for k, n in shown.items() if k.startswith("light-") and n} == {f"light-{k}": n
                                                                                for k, n in lights.items()}
    assert sum(lights.values()) >= LIVE + 4  # the live cases and the samples still open
    assert lights.get("overdue", 0) >= 1 and lights.get("red", 0) >= 1 and lights.get("yellow", 0) >= 1
    assert lights["green"] > lights["overdue"]  # the office is mostly on time
    assert {stage for stage in STAGES if shown.get(f"stage-{stage}-total")} == STAGES
    with runtime_of(demo.app).read() as db:
        units = db.scalars(sa.select(sa.func.count(sa.distinct(Case.lead_department))).where(
            Case.number.in_(demo.live))).one()
        townships = db.scalars(sa.select(sa.func.count(sa.distinct(Case.township))).where(
            Case.number.in_(demo.live))).one()
    assert units >= 4 and townships >= 4


def test_deadlines_come_from_the_workflow_on_the_days_the_cases_came_in(demo: Demo) -> None:
    with runtime_of(demo.app).read() as db:
        cases = list(db.scalars(sa.select(Case).where(Case.number.in_(demo.live))))
        handled = [c for c in cases if c.deadline is not None]
    days = {c.created_at.date() for c in cases}
    assert len(days) >= 5  # spread over the last working days, numbered on the day they came in
    assert all(c.number[2:10] == office_date_text(c.created_at) for c in cases)  # the office's day, Beijing time
    assert handled and all(c.deadline > c.created_at for c in handled)


def test_a_dispatcher_triages_and_a_unit_signs_a_live_case(demo: Demo) -> None:
    triage = live_task(demo, "triage")
    dispatcher = signed_in(demo, triage.assignee or "zhang.wei")
    with runtime_of(demo.app).read() as db:
        number = db.scalar(sa.select(Case.number).where(Case.id == triage.case_id))
    tab = "" if triage.assignee else "?tab=group"  # the duty roster's at night, else the dispatchers' pool
    assert number and number in dispatcher.get(f"/worklist{tab}").get_data(as_text=True)
    assert dispatcher.get(f"/tasks/{triage.id}").status_code == 200
    done = post(dispatcher, f"/tasks/{triage.id}", {"request_type": "complaint", "urgency": "normal",
                                                    "triage_result": "dispatch"})
    assert done.status_code == 303, done.get_data(as_text=True)[:400]
    sign = live_task(demo, "sign_for")
    handler = signed_in(demo, f"h.{sign.department}")
    with runtime_of(demo.app).read() as db:
        number = db.scalar(sa.select(Case.number).where(Case.id == sign.case_id))
    assert number and number in handler.get("/worklist?tab=group").get_data(as_text=True)  # the unit's 组待办
    assert handler.get(f"/tasks/{sign.id}").status_code == 200
    signed = post(handler, f"/tasks/{sign.id}", {"sign_decision": "sign"})
    assert signed.status_code == 303, signed.get_data(as_text=True)[:400]
    with runtime_of(demo.app).read() as db:
        done_ids = set(db.scalars(sa.select(HumanTask.id).where(HumanTask.status == "completed")))
        assert {triage.id, sign.id} <= done_ids
        assert db.scalar(sa.select(HumanTask.id).where(HumanTask.instance_id == sign.instance_id,
                                                       HumanTask.bpmn_id == "reply", HumanTask.status == "open"))


def test_the_supervisor_opens_a_supervision_task_and_a_live_instance(demo: Demo) -> None:
    supervise = live_task(demo, "supervise")
    client = signed_in(demo, "sv1")
    assert client.get(f"/tasks/{supervise.id}").status_code == 200
    assert client.get(f"/monitor/instances/{supervise.instance_id}").status_code == 200


def test_nothing_personal_in_workflow_state(demo: Demo) -> None:
    with runtime_of(demo.app).read() as db:
        rows = db.execute(sa.select(Requester, ProcessInstance.snapshot, ProcessInstance.id)
                          .join(Case, Case.requester_id == Requester.id)
                          .join(ProcessInstance, ProcessInstance.case_id == Case.id)
                          .where(Case.number.in_(demo.live))).all()
        assert len(rows) >= LIVE - 2  # every call, visit and transcribed order has a requester
        for requester, snapshot, instance_id in rows:
            phone = str(pii.cipher().decrypt("phone", requester.phone))
            assert phone.startswith("170") and phone not in snapshot
            history = " ".join(str(d) for d in db.scalars(sa.select(HistoryEvent.detail).where(
                HistoryEvent.instance_id == instance_id)))
            assert phone not in history
            if requester.name:
                name = str(pii.cipher().decrypt("name", requester.name))
                assert name not in snapshot and name not in history


def test_the_live_cases_are_audited_as_counts(demo: Demo) -> None:
    rows = audit_rows(demo.app, "demo.live")
    assert [(r["actor"], r["result"]) for r in rows] == [("demo", "success")]
    detail = str(rows[0])
    assert f"'cases': {LIVE}" in detail and "'triage': " in detail and not re.search(r"170\d{8}", detail)
