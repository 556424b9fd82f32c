"""`hotline demo` sets up a working demo on a fresh instance folder, once."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from processes.accounts.roles import ROLE_CODES
from tests.reference_support import CHEAP_ENV
from tests.reference_support import REFERENCE_DIR
from tests.web_support import CHEAP
from tests.web_support import COOKIE
from tests.web_support import add_user
from tests.web_support import location
from tests.web_support import login
from webapp import create_app
from webapp import runtime_of
from webapp.cli import cli
from webapp.cli import demo
from webapp.cli.demo_users import DEMO_USERS


def test_demo_deploys_seeds_and_shows_tasks_without_personal_data(tmp_path: Path) -> None:
    runner = CliRunner(env={"HOTLINE_INSTANCE_PATH": str(tmp_path), "HOTLINE_DATABASE_URL": "", **CHEAP_ENV})
    first = runner.invoke(cli, ["demo", "--no-scheduler"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert "deployed case_phone v1" in first.output and "opened 6 sample case(s)" in first.output
    assert "reference calendar: 23 years loaded" in first.output and "started the weekly upward report" in first.output
    for expected in ("签收", "初审", "审核", "110移交受理", "区级审核", "registered", "dispatched", "replied", "closed",
                     "剩余", "every_period"):
        assert expected in first.output
    assert "138123" not in first.output and "张三" not in first.output
    lines = (tmp_path / "demo-users.txt").read_text(encoding="utf-8").splitlines()
    units = [row for row in csv.DictReader((REFERENCE_DIR / "departments.csv").read_text("utf-8").splitlines())
             if row["kind"] in ("department", "township")]
    accounts = len(DEMO_USERS) + len(units) + sum(1 for row in units if row["kind"] == "township")
    assert len(lines) == accounts and oct((tmp_path / "demo-users.txt").stat().st_mode & 0o777) == "0o600"
    assert {role for line in lines for role in line.split("\t")[1].split(",")} == set(ROLE_CODES)
    for line in lines:  # every role has an account, and each password is printed once
        user, _, password = line.split("\t")
        assert f"{user}" in first.output and password in first.output
    assert (tmp_path / "hotline.sqlite").exists()
    again = runner.invoke(cli, ["demo", "--no-scheduler"], catch_exceptions=False)
    assert "opened 0 sample case(s)" in again.output and "started the weekly" not in again.output
    assert "demo accounts exist" in again.output and lines[0].split("\t")[2] not in again.output
    assert again.output.count("DT2") == first.output.count("DT2")


def test_the_demo_keeps_its_session_key_so_sign_ins_survive_a_restart(tmp_path: Path, sqlite_url: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.py"
    config.write_text("AUDIT_HMAC_KEY = 'an instance setting that stays as it is'\n", encoding="utf-8")
    keys: list[str] = []
    monkeypatch.setattr(demo, "run_demo", lambda app, **_: None)  # the setup itself is tested above
    monkeypatch.setattr(demo, "serve", lambda port: keys.append(create_app().config["SECRET_KEY"]))
    runner = CliRunner(env={"HOTLINE_INSTANCE_PATH": str(tmp_path), "HOTLINE_DATABASE_URL": sqlite_url,
                            "HOTLINE_SECRET_KEY": None})
    first = runner.invoke(cli, ["demo"], catch_exceptions=False)
    again = runner.invoke(cli, ["demo"], catch_exceptions=False)  # Ctrl-C, then ./scripts/demo.sh again
    assert "wrote SECRET_KEY, PII_ENCRYPTION_KEY to" in first.output and "wrote" not in again.output
    assert len(keys) == 2 and keys[0] == keys[1] and len(keys[0]) == 64
    assert oct(config.stat().st_mode & 0o777) == "0o600"
    text = config.read_text(encoding="utf-8")
    assert text.count("SECRET_KEY") == 1 and "an instance setting that stays as it is" in text

    monkeypatch.setenv("HOTLINE_INSTANCE_PATH", str(tmp_path))
    before = create_app({"DATABASE_URL": sqlite_url, **CHEAP})
    add_user(before, "op.demo", "operator")
    browser = before.test_client()
    assert location(login(browser, "op.demo")) == "/"
    cookie = browser.get_cookie(COOKIE)
    assert cookie is not None
    after = create_app({"DATABASE_URL": sqlite_url, **CHEAP})  # the demo restarted
    returning = after.test_client()
    returning.set_cookie(COOKIE, cookie.value)
    assert returning.get("/").status_code == 200  # still signed in
    for app in (before, after):
        runtime_of(app).db.dispose()

