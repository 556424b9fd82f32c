"""The `hotline` command line against a real database: init, db, deploy, validate, start, tasks, complete, timers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from click.testing import Result

from tests.support import TEST_BPMN
from webapp import create_app
from webapp.cli import cli

BUNDLE = (TEST_BPMN / "simple.bpmn").read_text(encoding="utf-8").replace(
    'id="test.echo" resultVariable="echo_result"', 'id="case.set_status" resultVariable="status_result"').replace(
    '<spiffworkflow:parameter id="value" type="str" value="lead_department"/>',
    "<spiffworkflow:parameter id=\"status\" type=\"str\" value=\"'signed'\"/>")


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Path:
    """A bundle folder named after its process key."""
    folder = tmp_path / "bpmn" / "simple"
    folder.mkdir(parents=True)
    (folder / "simple.bpmn").write_text(BUNDLE, encoding="utf-8")
    return folder


@pytest.fixture
def hotline(db_url: str, bundle_dir: Path) -> CliRunner:
    """A CLI runner whose app uses the test database and bundle folder."""
    return CliRunner(env={"HOTLINE_DATABASE_URL": db_url, "HOTLINE_BPMN_DIR": str(bundle_dir.parent)})


def run(runner: CliRunner, *args: str) -> Result:
    """Invoke `hotline ARGS` and return the result."""
    return runner.invoke(cli, list(args), catch_exceptions=False)


def test_deploy_start_complete_and_inspect(hotline: CliRunner) -> None:
    from processes.db.migrate import head_revision

    assert f"revision {head_revision('sqlite://')}" in run(hotline, "db", "upgrade").output
    assert "simple: version 1 (new version, published)" in run(hotline, "deploy").output
    assert "simple: version 1 (unchanged, published)" in run(hotline, "deploy").output
    out = run(hotline, "start", "simple", "--channel", "phone", "--data",
              '{"lead_department": "区住建局", "requester_phone": "13812345678", "content": "噪音"}').output
    instance_id = re.search(r"instance ([0-9a-f-]{36}) running case DT\d{8}-0001", out)
    assert instance_id, out
    tasks = run(hotline, "tasks").output
    assert "签收" in tasks and "dept=区住建局" in tasks and re.search("剩余 (59m|1h0m)", tasks)
    task_id = tasks.split()[1]
    assert "1 timer" in run(hotline, "reschedule", instance_id[1], "--shift", "2h", "--reason", "延期已批准").output
    assert re.search("剩余 (2h59m|3h0m)", run(hotline, "tasks").output)
    assert "completed; instance running" in run(hotline, "complete", instance_id[1], task_id, "--data", "{}").output
    again = hotline.invoke(cli, ["complete", instance_id[1], task_id, "--data", "{}"])
    assert again.exit_code == 1 and "TaskNotReady" in again.output and "Traceback" not in again.output
    show = run(hotline, "instance", "show", instance_id[1]).output
    assert "status=running" in show and "timers_rescheduled" in show and "答复" in show
    assert "13812345678" not in show


def test_a_changed_diagram_of_an_installed_process_waits_for_a_second_person(hotline: CliRunner,
                                                                             bundle_dir: Path) -> None:
    run(hotline, "db", "upgrade")
    assert "version 1 (new version, published)" in run(hotline, "deploy").output  # installation
    (bundle_dir / "simple.bpmn").write_text(BUNDLE.replace("</bpmn:definitions>", "<!-- v2 -->\n</bpmn:definitions>"),
                                            encoding="utf-8")
    forced = hotline.invoke(cli, ["deploy", "--publish"])
    assert forced.exit_code == 2 and "hotline publish" in forced.output
    assert "version 2 (new version, draft)" in run(hotline, "deploy").output
    versions = run(hotline, "versions", "simple").output
    assert re.search(r"v2\s+draft", versions) and re.search(r"v1\s+published", versions)  # v1 still serves


def test_bad_input_gives_one_line_errors(hotline: CliRunner) -> None:
    run(hotline, "db", "upgrade")
    run(hotline, "deploy")
    bad_json = hotline.invoke(cli, ["start", "simple", "--data", "{nope"])
    assert bad_json.exit_code == 2 and "not JSON" in bad_json.output
    unknown = hotline.invoke(cli, ["start", "missing_process"])
    assert unknown.exit_code == 1 and "no published version" in unknown.output
    missing = hotline.invoke(cli, ["instance", "show", "00000000-0000-0000-0000-000000000000"])
    assert missing.exit_code == 1 and "NotFound" in missing.output


def test_validate_needs_no_database(tmp_path: Path, bundle_dir: Path) -> None:
    runner = CliRunner(env={"HOTLINE_DATABASE_URL": f"sqlite:///{tmp_path}/never-created.sqlite"})
    assert "simple: ok (process simple" in run(runner, "validate", str(bundle_dir)).output
    (bundle_dir / "simple.bpmn").write_text(BUNDLE.replace('targetRef="notify"', 'targetRef="nowhere"'))
    result = runner.invoke(cli, ["validate", str(bundle_dir)])
    assert result.exit_code == 1 and "simple.bpmn:45: 错误 [f2] 顺序流的终点 “nowhere” 在文件中不存在" in result.output
    assert not (tmp_path / "never-created.sqlite").exists()


def test_init_writes_secrets_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner(env={"HOTLINE_INSTANCE_PATH": str(tmp_path)})
    assert "wrote" in run(runner, "init").output
    config = (tmp_path / "config.py").read_text()
    assert re.search(r"SECRET_KEY = '[0-9a-f]{64}'", config)
    assert re.search(r"AUDIT_HMAC_KEY = '[0-9a-f]{64}'", config)
    assert (tmp_path / "config.py").stat().st_mode & 0o777 == 0o600
    second = runner.invoke(cli, ["init"])
    assert second.exit_code == 1 and "exists" in second.output
    assert (tmp_path / "config.py").read_text() == config
    monkeypatch.setenv("HOTLINE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("HOTLINE_ENV", "production")
    app = create_app()  # a production server starts with the generated secret
    assert app.config["SECRET_KEY"] in config
    from webapp.config import audit_key

    assert audit_key(app) == (app.config["AUDIT_HMAC_KEY"].encode(), None)  # and the sealer with its key


def test_production_cli_commands_need_no_secret(tmp_path: Path, bundle_dir: Path) -> None:
    runner = CliRunner(env={"HOTLINE_ENV": "production", "HOTLINE_DATABASE_URL": f"sqlite:///{tmp_path}/p.sqlite",
                            "HOTLINE_BPMN_DIR": str(bundle_dir.parent)})
    assert run(runner, "db", "upgrade").exit_code == 0
    assert run(runner, "deploy").exit_code == 0
    served = runner.invoke(cli, ["run"])
    assert served.exit_code != 0 and "SECRET_KEY" in str(served.exception)


def test_help_is_the_help_and_nothing_else(tmp_path: Path) -> None:
    env = {**os.environ, "HOTLINE_INSTANCE_PATH": str(tmp_path)}  # no instance config: no personal-data key
    env.pop("HOTLINE_PII_ENCRYPTION_KEY", None)
    shown = subprocess.run([sys.executable, "-c", "from webapp.cli import cli; cli(prog_name='hotline')",
                            "--help"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert shown.returncode == 0 and shown.stdout.startswith("Usage: hotline") and "clock" in shown.stdout
    assert shown.stderr == ""  # no "PII_ENCRYPTION_KEY not set" glued on: nothing encrypts to show the help
