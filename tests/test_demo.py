"""`hotline demo` sets up a working demo on a fresh instance folder, once."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from webapp.cli import cli


def test_demo_deploys_seeds_and_shows_tasks_without_personal_data(tmp_path: Path) -> None:
    runner = CliRunner(env={"HOTLINE_INSTANCE_PATH": str(tmp_path), "HOTLINE_DATABASE_URL": ""})
    first = runner.invoke(cli, ["demo", "--no-scheduler"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert "deployed case_phone v1" in first.output and "opened 6 sample case(s)" in first.output
    assert "reference calendar: 23 years loaded" in first.output and "started the weekly upward report" in first.output
    for expected in ("签收", "初审", "审核", "110移交受理", "区级审核", "registered", "dispatched", "replied", "closed",
                     "剩余", "every_period"):
        assert expected in first.output
    assert "138123" not in first.output and "张三" not in first.output
    assert (tmp_path / "hotline.sqlite").exists()
    again = runner.invoke(cli, ["demo", "--no-scheduler"], catch_exceptions=False)
    assert "opened 0 sample case(s)" in again.output and "started the weekly" not in again.output
    assert again.output.count("DT2") == first.output.count("DT2")
