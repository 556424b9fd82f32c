"""`hotline export` writes published versions back in the layout `hotline deploy` reads: deploying again is a no-op."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from processes.clock import FrozenClock
from processes.runtime import definitions
from tests.web_support import audit_rows
from tests.web_support import web_app
from webapp import runtime_of
from webapp.cli import cli

BPMN = Path(__file__).resolve().parent.parent / "bpmn"


@pytest.fixture
def app(db_url: str, clock: FrozenClock) -> Iterator[Flask]:
    yield from web_app(db_url, clock)


@pytest.fixture
def office_dir(tmp_path: Path) -> Path:
    """A copy of the office's bundles: case_phone with the shared library it includes."""
    root = tmp_path / "bpmn"
    for name in ("case_phone", "_shared"):
        shutil.copytree(BPMN / name, root / name)
    return root


def hotline(app: Flask, *args: str) -> tuple[int, str]:
    """Run a `hotline` command on the app's database; return exit code and output."""
    runner = CliRunner(env={"HOTLINE_DATABASE_URL": app.config["DATABASE_URL"]})
    result = runner.invoke(cli, list(args))
    return result.exit_code, result.output


def test_export_round_trips_into_the_reviewed_folder_and_a_fresh_one(app: Flask, office_dir: Path,
                                                                   tmp_path: Path) -> None:
    assert hotline(app, "deploy", str(office_dir / "case_phone"))[0] == 0
    (office_dir / "case_phone" / "forms" / "stale.schema.json").write_text("{}", encoding="utf-8")
    code, out = hotline(app, "export", "--dir", str(office_dir))
    assert code == 0, out
    assert "case_phone v1: 0 written" in out and "1 removed; round trip ok" in out
    assert not (office_dir / "case_phone" / "forms" / "stale.schema.json").exists()
    assert not (office_dir / "case_phone" / "case_lifecycle.bpmn").exists()  # stays in the included library
    again = hotline(app, "deploy", str(office_dir / "case_phone"))
    assert "version 1 (unchanged" in again[1]

    fresh = tmp_path / "fresh"
    code, out = hotline(app, "export", "--key", "case_phone", "--dir", str(fresh))
    assert code == 0 and "round trip ok" in out, out
    with runtime_of(app).read() as db:
        row = definitions.published_definition(db, "case_phone")
    files = definitions.read_bundle_dir(fresh / "case_phone")
    assert files == row.files and definitions.bundle_sha256(files) == row.sha256
    assert [r["result"] for r in audit_rows(app, "definition.export")] == ["success", "success"]


def test_export_writes_a_changed_published_version_and_refuses_unknown_keys(app: Flask, office_dir: Path) -> None:
    folder = office_dir / "case_phone"
    assert hotline(app, "deploy", str(folder))[0] == 0
    main = folder / "case_phone.bpmn"
    original = main.read_text(encoding="utf-8")
    main.write_text(original.replace("</bpmn:definitions>", "<!-- v2 -->\n</bpmn:definitions>"), encoding="utf-8")
    assert "version 2 (new version, draft)" in hotline(app, "deploy", str(folder))[1]
    rt = runtime_of(app)
    with rt.write() as db, db.begin():
        definitions.publish_version(db, "case_phone", 2, actor="admin2", now=rt.clock())
    main.write_text(original, encoding="utf-8")  # the folder is behind the published version
    code, out = hotline(app, "export", "--dir", str(office_dir))
    assert code == 0 and "case_phone v2: 1 written" in out, out
    assert "<!-- v2 -->" in main.read_text(encoding="utf-8")
    code, out = hotline(app, "export", "--key", "nope", "--dir", str(office_dir))
    assert code == 1 and "no published version" in out
    assert audit_rows(app, "definition.export")[-1]["result"] == "failure"
