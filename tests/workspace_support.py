"""Helpers for the workspace web tests (待办, 办理, 工单详情): the web app on a prepared office database.

`workspace()` backs the `ws` fixtures of the test modules: a copy of the prepared SQLite office, or the run's
PostgreSQL database prepared the same way, with a web app on it that shares the office's frozen clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from processes.cases.models import Case
from processes.clock import FrozenClock
from processes.runtime import commands
from tests.lifecycle_support import Office
from tests.lifecycle_support import at
from tests.lifecycle_support import copy_office
from tests.lifecycle_support import prepare_office
from tests.support import truncate_all
from tests.web_support import add_user
from tests.web_support import login
from tests.web_support import token
from tests.web_support import web_app

FULL_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
DISPATCH = {"request_type": "complaint", "urgency": "normal", "triage_result": "dispatch"}
PERSON = {"requester_name": "王小明", "requester_phone": "13812345678", "requester_id_number": "11010119900307123X",
          "requester_address": "洞头区北岙街道中心街88号"}


class Workspace:
    """The office (runtime, clock) and a web app on the same database, with users and signed-in clients."""

    def __init__(self, office: Office, app: Flask) -> None:
        self.office = office
        self.app = app
        self.clients: dict[str, FlaskClient] = {}

    def user(self, username: str, *roles: str, department: str | None = None, real_name: str = "") -> FlaskClient:
        """Create a user and return a client signed in as them."""
        add_user(self.app, username, *roles, department=department, real_name=real_name or username)
        client = self.app.test_client()
        assert login(client, username).status_code == 302
        self.clients[username] = client
        return client

    def case(self, key: str = "case_phone", channel: str = "phone", **intake: Any) -> commands.Started:
        """Register a case with a requester of its own (a new number each time: no 并单 offer)."""
        with self.office.rt.read() as db:
            registered = db.scalar(sa.select(sa.func.count()).select_from(Case)) or 0
        person = {**PERSON, "requester_phone": f"13812{345678 + registered:06d}"}
        return self.office.open(key, channel, **{**person, **intake})

    def dispatched(self, lead: str = "sthj", **intake: Any) -> commands.Started:
        """A phone case triaged and dispatched to one unit: its sign-for task waits there."""
        case = self.case(**intake)
        self.office.complete(case, "triage", DISPATCH)
        self.office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": lead})
        return case


def workspace(request: pytest.FixtureRequest, template: Path, tmp_path: Path) -> Iterator[Workspace]:
    """Yield a workspace on SQLite or PostgreSQL (request.param), on Wednesday 2026-11-25 09:00 Beijing time."""
    if request.param == "sqlite":
        url = copy_office(template, tmp_path)
    else:
        url = request.getfixturevalue("pg_url")
        truncate_all(url)
        prepare_office(url)
    clock = FrozenClock(at("2026-11-25T09:00:00"))
    office = Office(url, clock)
    for app in web_app(url, clock, ATTACHMENT_DIR=str(tmp_path / "attachments")):
        yield Workspace(office, app)
    office.close()


def post_form(client: FlaskClient, path: str, data: dict[str, Any] | None = None, *, page: str = "/",
              **kwargs: Any) -> TestResponse:
    """POST a form with the session's CSRF token read from a page."""
    return client.post(path, data={"csrf_token": token(client, page), **(data or {})}, **kwargs)


def text(response: TestResponse) -> str:
    """Return a response body as text."""
    return response.get_data(as_text=True)
