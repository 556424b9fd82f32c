"""`hotline seed-load`: exact counts, values from the reference tables, every light, rows the views find."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask

from processes.audit.models import AuditLog
from processes.cases.models import Case
from processes.cases.models import Requester
from processes.reference.models import CaseDeadline
from processes.reference.models import Department
from processes.runtime import queries
from processes.runtime.models import HistoryEvent
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessDefinition
from processes.runtime.models import ProcessInstance
from processes.runtime.models import TimerJob
from tests.intake_support import office_app
from tests.intake_support import office_url
from tests.intake_support import signed_in
from tests.web_support import post
from webapp import labels
from webapp import runtime_of
from webapp.cli import cli
from webapp.workspace import RED_SECONDS
from webapp.workspace import YELLOW_SECONDS

CASES, OPEN = 600, 150
PHONE = re.compile(r"1[3-9]\d{9}")


@pytest.fixture
def seeded(db_url: str, office_template: Path, tmp_path: Path) -> Iterator[Flask]:
    """An office filled by `hotline seed-load`, and the web app on it."""
    url = office_url(db_url, office_template, tmp_path)
    result = CliRunner(env={"HOTLINE_DATABASE_URL": url}).invoke(
        cli, ["seed-load", "--cases", str(CASES), "--open-tasks", str(OPEN), "--batch", "97"],
        catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"{CASES} cases, {OPEN} open tasks" in result.output
    yield from office_app(url)


def light(deadline: datetime, warning: str, now: datetime) -> str:
    """The light the worklist shows (webapp.workspace.countdown's rule)."""
    left = (deadline - now).total_seconds()
    if left < 0:
        return "overdue"
    if left <= RED_SECONDS or warning == "red":
        return "red"
    return "yellow" if left <= YELLOW_SECONDS or warning == "yellow" else "green"


def test_counts_values_lights_and_no_personal_data(seeded: Flask) -> None:
    now = datetime.now(UTC)
    with runtime_of(seeded).read() as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(Case)) == CASES
        assert db.scalar(sa.select(sa.func.count()).select_from(ProcessInstance)) == CASES
        assert db.scalar(sa.select(sa.func.count()).where(HumanTask.status == "open")) == OPEN
        assert db.scalar(sa.select(sa.func.count()).where(Case.closed_at.is_(None))) == OPEN
        assert (db.scalar(sa.select(sa.func.count()).where(HumanTask.status == "completed")) or 0) > CASES
        assert (db.scalar(sa.select(sa.func.count()).select_from(HistoryEvent)) or 0) > CASES * 2
        assert (db.scalar(sa.select(sa.func.count()).select_from(CaseDeadline)) or 0) > 0
        assert (db.scalar(sa.select(sa.func.count()).where(TimerJob.status == "pending")) or 0) > 0
        assert db.scalar(sa.select(sa.func.count()).where(AuditLog.action == "seed.load")) == 1
        units = {str(c) for c in db.scalars(sa.select(Department.code).where(Department.kind == "department"))}
        towns = {str(c) for c in db.scalars(sa.select(Department.code).where(Department.kind == "township"))}
        cases = list(db.scalars(sa.select(Case)))
        published = set(db.scalars(sa.select(ProcessDefinition.id).where(ProcessDefinition.status == "published")))
        assert set(db.scalars(sa.select(ProcessInstance.definition_id))) <= published
        assert {t.department for t in db.scalars(sa.select(HumanTask).where(HumanTask.department.is_not(None)))
                } <= units
        assert db.scalar(sa.select(sa.func.count()).select_from(Requester)) == 0
    assert {c.township for c in cases} <= towns and {c.channel for c in cases} <= set(labels.CHANNELS)
    assert {c.lead_department for c in cases if c.lead_department} <= units
    assert {c.request_type for c in cases} <= set(labels.REQUEST_TYPES)
    assert {c.urgency for c in cases} <= set(labels.URGENCIES) and {c.status for c in cases} <= set(labels.STATUSES)
    assert any(c.direct_answer for c in cases)
    shown = {light(c.deadline, c.warning_level, now) for c in cases if c.closed_at is None and c.deadline}
    assert shown == {"green", "yellow", "red", "overdue"}
    assert not any(PHONE.search(c.content or "") for c in cases)


def test_worklist_and_search_find_the_seeded_rows(seeded: Flask) -> None:
    with runtime_of(seeded).read() as db:
        task = db.scalars(sa.select(HumanTask).where(HumanTask.status == "open", HumanTask.bpmn_id == "reply")
                          ).first()
        assert task is not None
        found = queries.human_tasks(db, role="handler", department=task.department)
        assert task.id in {t.id for t in found}
        number = db.scalar(sa.select(Case.number).where(Case.id == task.case_id))
    client = signed_in(seeded, "sup1", "supervisor")
    response = post(client, "/search", {"number": str(number)})
    assert response.status_code == 200 and str(number) in response.get_data(as_text=True)


def test_refused_in_production(sqlite_url: str) -> None:
    result = CliRunner(env={"HOTLINE_DATABASE_URL": sqlite_url, "HOTLINE_ENV": "production"}).invoke(
        cli, ["seed-load", "--cases", "1", "--open-tasks", "0"])
    assert result.exit_code == 1 and "refuses to run with HOTLINE_ENV=production" in result.output
