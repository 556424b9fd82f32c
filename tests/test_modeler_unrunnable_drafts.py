"""Drafts the engine cannot run yet (草稿，有错误): an imported file with problems or an unfinished diagram is kept,
opened where its problems show on the diagram, fixed in a new version; it never runs and is never published.

Before, an upload or a save the engine refused was lost: an analyst with a Signavio export (isExecutable="false") or
a half-connected diagram could neither open it in the modeler nor keep the work. Hostile files and scripts the
sandbox forbids are still refused outright (tests/test_modeler_versions.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from processes.accounts import totp
from processes.clock import FrozenClock
from processes.errors import InvalidState
from processes.runtime import definitions
from processes.runtime.models import ProcessDefinition
from tests.admin_support import sign_in
from tests.test_modeler_edit import V1
from tests.test_modeler_edit import send
from tests.test_modeler_edit import versions
from tests.test_modeler_versions import admin_with_secret
from tests.test_modeler_versions import form
from tests.test_modeler_versions import upload
from tests.web_support import audit_rows
from tests.web_support import location
from tests.web_support import web_app
from webapp import runtime_of

DANGLING = V1.replace('sourceRef="notify" targetRef="reply"', 'sourceRef="notify" targetRef="gone"')
NOT_EXECUTABLE = V1.replace('isExecutable="true"', 'isExecutable="false"')


@pytest.fixture
def app(db_url: str, clock: FrozenClock) -> Iterator[Flask]:
    yield from web_app(db_url, clock)


def row(app: Flask, version: int) -> ProcessDefinition:
    """Return a version of `simple`."""
    with runtime_of(app).read() as db:
        return next(r for r in definitions.list_versions(db, "simple") if r.version == version)


@pytest.mark.parametrize("text, code", [(DANGLING, "flow.dangling"), (NOT_EXECUTABLE, "process.not_executable")])
def test_an_upload_the_engine_refuses_is_kept_as_a_draft_that_opens_with_its_problems(
        app: Flask, clock: FrozenClock, text: str, code: str) -> None:
    analyst = sign_in(app, clock, "an1", "analyst")
    uploaded = upload(analyst, "simple", text)
    assert uploaded.status_code == 303 and location(uploaded) == "/modeler/simple/v1/edit"
    assert "引擎还无法运行它" in analyst.get("/modeler/simple/v1/edit").get_data(as_text=True)
    kept = row(app, 1)
    assert (kept.status, kept.runnable, kept.created_by, kept.files) == ("draft", False, "an1", {"simple.bpmn": text})
    assert kept.name == "简单工单"
    listed = analyst.get("/modeler/simple").get_data(as_text=True)
    assert "有错误" in listed and "/modeler/simple/v1/publish" not in listed
    checked = send(analyst, "/modeler/simple/v1/validate", {"xml": text}).get_json()
    assert code in {p["code"] for p in checked["problems"]} and checked["can_publish"] is False
    assert [r["result"] for r in audit_rows(app, "definition.upload")] == ["success"]


def test_a_kept_draft_never_runs_or_publishes_and_its_fix_does(app: Flask, clock: FrozenClock) -> None:
    analyst = sign_in(app, clock, "an1", "analyst")
    upload(analyst, "simple", DANGLING)
    admin, secret = admin_with_secret(app, clock, "admin1")
    refused = form(admin, "/modeler/simple/v1/publish", {"code": totp.code_at(secret, clock())})
    assert refused.status_code == 409 and versions(app) == [(1, "draft", "an1")]
    rt = runtime_of(app)
    with pytest.raises(InvalidState, match="validation errors"), rt.write() as db, db.begin():
        definitions.publish_version(db, "simple", 1, actor="admin1", now=rt.clock())  # as `hotline publish` does
    with pytest.raises(InvalidState), rt.read() as db:
        definitions.SpecCache().get(db, row(app, 1).id)
    fixed = send(analyst, "/modeler/simple/v1/save", {"xml": V1}).get_json()
    assert fixed["ok"] and fixed["version"] == 2 and fixed["errors"] == 0 and row(app, 2).runnable
    clock.advance(seconds=30)
    assert form(admin, "/modeler/simple/v2/publish", {"code": totp.code_at(secret, clock())}).status_code == 303
    assert versions(app) == [(2, "published", "an1"), (1, "draft", "an1")]


def test_saving_unfinished_work_in_the_modeler_keeps_it_and_says_it_cannot_be_published(
        app: Flask, clock: FrozenClock) -> None:
    analyst = sign_in(app, clock, "an1", "analyst")
    upload(analyst, "simple", V1)
    saved = send(analyst, "/modeler/simple/v1/save", {"xml": DANGLING})
    body = saved.get_json()
    assert saved.status_code == 200 and body["ok"] and body["version"] == 2 and body["errors"] >= 1
    assert "有 " in body["message"] and "才能发布" in body["message"]
    assert body["save_url"] == "/modeler/simple/v2/save"  # the next save builds on the kept work
    assert row(app, 2).files["simple.bpmn"] == DANGLING and not row(app, 2).runnable
    again = send(analyst, "/modeler/simple/v2/save", {"xml": DANGLING}).get_json()
    assert again["ok"] and again["created"] is False and again["version"] == 2


def test_hostile_scripts_are_still_refused_not_kept(app: Flask, clock: FrozenClock) -> None:
    analyst = sign_in(app, clock, "an1", "analyst")
    hostile = V1.replace("notified = True", "__import__('os').system('id')")
    assert upload(analyst, "simple", hostile).status_code == 400
    assert versions(app) == []
