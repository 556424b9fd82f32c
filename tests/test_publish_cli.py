"""`hotline publish` needs a second person with a TOTP code (AC-04, AUTH-06, S4.4): refusals exit 2 and are audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from click.testing import Result
from flask import Flask

from processes.accounts import totp
from processes.accounts import users as accounts
from processes.clock import FrozenClock
from processes.runtime import definitions
from tests.admin_support import enrol_totp
from tests.test_cli import BUNDLE
from tests.web_support import add_user
from tests.web_support import audit_rows
from tests.web_support import change_user
from tests.web_support import user_row
from tests.web_support import web_app
from webapp import runtime_of
from webapp.cli import cli


@pytest.fixture
def app(db_url: str, clock: FrozenClock) -> Iterator[Flask]:
    yield from web_app(db_url, clock)


@pytest.fixture
def hotline(app: Flask, tmp_path: Path) -> CliRunner:
    """A CLI runner on the app's database with two draft versions of `simple` deployed by analyst an1."""
    runner = CliRunner(env={"HOTLINE_DATABASE_URL": app.config["DATABASE_URL"]})
    for n in (1, 2):
        folder = tmp_path / f"v{n}" / "simple"
        folder.mkdir(parents=True)
        (folder / "simple.bpmn").write_text(BUNDLE + f"<!-- v{n} -->\n", encoding="utf-8")
        deployed = runner.invoke(cli, ["deploy", str(folder), "--draft", "--actor", "an1"], catch_exceptions=False)
        assert f"version {n} (new version, draft)" in deployed.output
    return runner


def publish(runner: CliRunner, version: int, *options: str, code: str | None = None) -> Result:
    """Run `hotline publish simple VERSION OPTIONS` with the code on standard input."""
    return runner.invoke(cli, ["publish", "simple", str(version), *options], input=code)


def now_code(secret: str) -> str:
    """Return the code of a secret now (the CLI runs on the system clock)."""
    return totp.code_at(secret, datetime.now(UTC))


def status(app: Flask, version: int) -> str:
    """Return the status of a version of `simple`."""
    with runtime_of(app).read() as db:
        return next(r.status for r in definitions.list_versions(db, "simple") if r.version == version)


def test_refusals_exit_2_and_write_a_denied_row(app: Flask, hotline: CliRunner) -> None:
    add_user(app, "admin1", "sysadmin")
    add_user(app, "an1", "analyst")
    add_user(app, "admin2", "sysadmin")  # not enrolled
    secret = enrol_totp(app, "admin1")
    analyst_secret = enrol_totp(app, "an1")
    wrong = f"{(int(now_code(secret)) + 500_000) % 1_000_000:06d}"
    attempts = [
        (publish(hotline, 1), "no_publisher"),  # no publisher, no code
        (publish(hotline, 1, "--publisher", "admin1"), "no_publisher"),  # no --totp-stdin
        (publish(hotline, 1, "--publisher", "admin1", "--totp-stdin", code=""), "no_code"),
        (publish(hotline, 1, "--publisher", "admin1", "--totp-stdin", code=wrong), "bad_code"),
        (publish(hotline, 1, "--publisher", "an1", "--totp-stdin", code=now_code(analyst_secret)), "not_allowed"),
        (publish(hotline, 1, "--publisher", "admin2", "--totp-stdin", code="123456"), "not_enrolled"),
        (publish(hotline, 1, "--publisher", "nobody", "--totp-stdin", code="123456"), "unknown_publisher"),
    ]
    for result, _reason in attempts:
        assert result.exit_code == 2 and "publish refused" in result.output, result.output
        assert "Traceback" not in result.output
    assert status(app, 1) == "draft"
    rows = audit_rows(app, "definition.publish")
    assert [(r["result"], r["detail"]["reason"]) for r in rows] == [("denied", reason) for _, reason in attempts]
    assert rows[3]["actor"] == "admin1" and rows[3]["role"] == "sysadmin" and rows[3]["object_id"] == "simple v1"
    assert rows[6]["actor"] == "cli" and "nobody" not in str(rows[6])  # an unknown name is not recorded
    assert user_row(app, "admin1").totp_failed_count == 1  # a wrong code counts towards the lock


def test_the_uploader_cannot_publish_their_own_version(app: Flask, tmp_path: Path) -> None:
    runner = CliRunner(env={"HOTLINE_DATABASE_URL": app.config["DATABASE_URL"]})
    folder = tmp_path / "simple"
    folder.mkdir()
    (folder / "simple.bpmn").write_text(BUNDLE, encoding="utf-8")
    runner.invoke(cli, ["deploy", str(folder), "--draft", "--actor", "Admin1"], catch_exceptions=False)
    add_user(app, "admin1", "sysadmin")
    secret = enrol_totp(app, "admin1")
    result = publish(runner, 1, "--publisher", "admin1", "--totp-stdin", code=now_code(secret))
    assert result.exit_code == 2 and "second person" in result.output  # names compare like usernames
    assert status(app, 1) == "draft"
    row = audit_rows(app, "definition.publish")[-1]
    assert (row["result"], row["detail"]["reason"], row["detail"]["uploaded_by"]) == ("denied", "same_person", "Admin1")


def test_a_second_person_with_a_valid_code_publishes_once(app: Flask, hotline: CliRunner) -> None:
    add_user(app, "admin1", "sysadmin")
    secret = enrol_totp(app, "admin1")
    code = now_code(secret)
    result = publish(hotline, 1, "--publisher", "admin1", "--totp-stdin", code=code + "\n")
    assert result.exit_code == 0 and "simple v1 published by admin1" in result.output, result.output
    assert status(app, 1) == "published"
    with runtime_of(app).read() as db:
        row = next(r for r in definitions.list_versions(db, "simple") if r.version == 1)
        assert row.published_by == "admin1"
    audited = audit_rows(app, "definition.publish")[-1]
    assert (audited["result"], audited["actor"], audited["role"]) == ("success", "admin1", "sysadmin")
    assert audited["after"] == {"version": 1, "sha256": row.sha256, "status": "published"}
    assert audited["detail"]["uploaded_by"] == "an1"
    replay = publish(hotline, 2, "--publisher", "admin1", "--totp-stdin", code=code)  # the same code again
    assert replay.exit_code == 2 and status(app, 2) == "draft"
    assert audit_rows(app, "definition.publish")[-1]["detail"]["reason"] == "reused"
    change_user(app, "admin1", lambda db, user: accounts.disable_user(db, user))
    disabled = publish(hotline, 2, "--publisher", "admin1", "--totp-stdin", code="000000")
    assert disabled.exit_code == 2 and audit_rows(app, "definition.publish")[-1]["detail"]["reason"] == "disabled"
    missing = publish(hotline, 9, "--publisher", "admin1", "--totp-stdin", code="000000")
    assert missing.exit_code == 1 and "NotFound" in missing.output


def test_a_version_with_validation_errors_is_refused_before_the_code_is_used(app: Flask, hotline: CliRunner) -> None:
    add_user(app, "admin1", "sysadmin")
    secret = enrol_totp(app, "admin1")
    with runtime_of(app).write() as db, db.begin():  # its handler left the registry after the upload
        row = next(r for r in definitions.list_versions(db, "simple") if r.version == 1)
        row.files = {name: text.replace("case.set_status", "case.retired_handler") for name, text in row.files.items()}
    code = now_code(secret)
    refused = publish(hotline, 1, "--publisher", "admin1", "--totp-stdin", code=code)
    assert refused.exit_code == 2 and "validation errors" in refused.output, refused.output
    assert "case.retired_handler" in refused.output and "Traceback" not in refused.output
    assert status(app, 1) == "draft"
    assert audit_rows(app, "definition.publish")[-1]["detail"]["reason"] == "invalid"
    ok = publish(hotline, 2, "--publisher", "admin1", "--totp-stdin", code=code)  # the code was not used up
    assert ok.exit_code == 0 and status(app, 2) == "published", ok.output
