"""Helpers for the intake and search tests: the web app on a prepared office database, users, cases, raw reads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from processes.cases.models import Case
from processes.clock import FrozenClock
from processes.runtime import commands
from processes.runtime.models import HumanTask
from tests.lifecycle_support import at
from tests.lifecycle_support import copy_office
from tests.lifecycle_support import prepare_office
from tests.web_support import add_user
from tests.web_support import login
from tests.web_support import post
from tests.web_support import web_app
from webapp import runtime_of

MONDAY_MORNING = "2026-11-23T09:00:00"
WEDNESDAY_MORNING = "2026-11-25T09:00:00"
PHONE = "13812345678"
CALL: dict[str, str] = {"requester_phone": PHONE, "requester_name": "王小明", "caller_type": "person",
                        "requester_address": "洞头区北岙街道中心街88号", "request_type": "complaint",
                        "urgency": "normal", "township": "beiao", "category": "噪音扰民", "title": "工地夜间施工",
                        "content": "楼下工地夜间施工，噪音很大", "location": "北岙街道东岙路工地"}


def office_url(db_url: str, office_template: Path, tmp_path: Path) -> str:
    """A prepared office (reference data, bundles from bpmn/ deployed): a SQLite copy, or PostgreSQL prepared."""
    if db_url.startswith("sqlite"):
        return copy_office(office_template, tmp_path)
    prepare_office(db_url)
    return db_url


def office_app(url: str, when: str = WEDNESDAY_MORNING) -> Iterator[Flask]:
    """The web app on an office database with the clock at a working morning."""
    yield from web_app(url, FrozenClock(at(when)))


def signed_in(app: Flask, username: str, *roles: str, department: str | None = None) -> FlaskClient:
    """A client signed in as a new user with these roles."""
    add_user(app, username, *roles, department=department)
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def register(client: FlaskClient, channel: str, **fields: Any) -> TestResponse:
    """Submit an intake screen with its CSRF token."""
    return post(client, f"/intake/{channel}", {k: str(v) for k, v in fields.items()})


def case_by_number(app: Flask, number: str) -> Case:
    """The case row with this number."""
    with runtime_of(app).read() as db:
        case = db.scalar(sa.select(Case).where(Case.number == number))
    assert case is not None
    return case


def cases(app: Flask) -> list[Case]:
    """Every case, oldest first."""
    with runtime_of(app).read() as db:
        return list(db.scalars(sa.select(Case).order_by(Case.created_at, Case.number)))


def open_tasks(app: Flask, case_id: str) -> list[str]:
    """BPMN ids of the case's open tasks."""
    with runtime_of(app).read() as db:
        return sorted(db.scalars(sa.select(HumanTask.bpmn_id).where(
            HumanTask.case_id == case_id, HumanTask.status == "open")))


def complete(app: Flask, case_id: str, bpmn_id: str, data: dict[str, Any], actor: str = "tester") -> None:
    """Complete the case's open task with this BPMN id (for setting up later states)."""
    with runtime_of(app).read() as db:
        task = db.scalar(sa.select(HumanTask).where(HumanTask.case_id == case_id, HumanTask.bpmn_id == bpmn_id,
                                                    HumanTask.status == "open"))
    assert task is not None, bpmn_id
    commands.complete_task(runtime_of(app), task.instance_id, task.id, data, actor=actor)


def open_case(app: Flask, key: str = "case_phone", channel: str = "phone", **data: Any) -> commands.Started:
    """Register a case directly through the runtime (setting up search scenarios)."""
    intake = {"request_type": "complaint", "urgency": "normal", "content": "夜间施工噪音", **data}
    return commands.open_case(runtime_of(app), key, intake, actor="tester", channel=channel)


def dispatch(app: Flask, case_id: str, lead: str) -> None:
    """Triage and dispatch a case to a lead unit (keeping it a case of its own when offered for 并单)."""
    if "merge_offer" in open_tasks(app, case_id):
        complete(app, case_id, "merge_offer", {"merge_decision": "new"})
    complete(app, case_id, "triage", {"request_type": "complaint", "urgency": "normal", "triage_result": "dispatch"})
    complete(app, case_id, "dispatch", {"dispatch_mode": "department", "lead_department": lead})
