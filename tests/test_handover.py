"""Handover (移交, PII-07 / R4.4): export a prepared office, import it into a fresh database, refuse tampering."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner

from processes.audit.models import AuditLog
from processes.audit.record import record
from processes.db.engines import create_db_engine
from processes.db.schema import METADATA
from processes.runtime import control
from tests.lifecycle_support import Office
from tests.test_audit import KEY
from webapp.cli import cli

PHONE = "13812345678"


def counts(url: str) -> dict[str, int]:
    """Rows per table."""
    engine = create_db_engine(url)
    with engine.connect() as conn:
        found = {t.name: int(conn.scalar(sa.select(sa.func.count()).select_from(t)) or 0)
                 for t in METADATA.sorted_tables}
    engine.dispose()
    return found


def busy_office(office: Office, tmp_path: Path) -> CliRunner:
    """Open and work cases, write and seal audit rows and anchor the head; return a CLI runner on the office."""
    started = office.open("case_phone", "phone", requester_name="张三", requester_address="洞头区北岙街道中心街88号")
    office.open("case_visit", "visit")
    office.complete(started, "triage", {"triage_result": "dispatch", "request_type": "complaint",
                                        "urgency": "normal"})
    control.suspend(office.rt, started.instance_id, actor="admin", reason="核查")
    with office.rt.db.begin() as conn:
        record(conn, action="case.open", actor="op1", object_id=started.instance_id, after={"status": "running"})
    runner = CliRunner(env={"HOTLINE_DATABASE_URL": office.rt.db.url.render_as_string(hide_password=False),
                            "HOTLINE_AUDIT_HMAC_KEY": KEY.decode(),
                            "HOTLINE_AUDIT_ANCHOR_PATH": str(tmp_path / "anchors.jsonl"),
                            "HOTLINE_AUDIT_ARCHIVE_DIR": str(tmp_path / "no-archives-yet")})
    assert runner.invoke(cli, ["audit", "seal"]).exit_code == 0
    assert runner.invoke(cli, ["audit", "anchor"]).exit_code == 0
    return runner


def test_export_import_round_trip_with_identical_counts_and_a_verifiable_chain(
        office: Office, db_url: str, tmp_path: Path) -> None:
    source = busy_office(office, tmp_path)
    package = tmp_path / "package"
    exported = source.invoke(cli, ["export-all", "--to", str(package)])
    assert exported.exit_code == 0, exported.output
    source_url = office.rt.db.url.render_as_string(hide_password=False)
    before = counts(source_url)  # now with the export's own audit row, written after the snapshot
    manifest = json.loads((package / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["tables"] == {**before, "audit_log": before["audit_log"] - 1}
    assert manifest["pii"]["key_id"] and "requester.phone" in manifest["pii"]["columns"]
    definitions = {(d["key"], d["version"]) for d in manifest["definitions"]}
    assert ("case_phone", 1) in definitions and (package / "definitions" / "case_phone" / "v1").is_dir()
    assert "audit/anchors.jsonl" in manifest["files"] and "tables/requester.jsonl" in manifest["files"]
    everything = b"".join(p.read_bytes() for p in package.rglob("*") if p.is_file())
    assert PHONE.encode() not in everything and "张三".encode() not in everything  # ciphertext only
    sha = exported.output.split("manifest sha256 ")[1].split()[0]

    target = CliRunner(env={"HOTLINE_DATABASE_URL": db_url, "HOTLINE_AUDIT_HMAC_KEY": KEY.decode()})
    imported = target.invoke(cli, ["import-all", "--from", str(package), "--expect-sha256", sha])
    assert imported.exit_code == 0, imported.output
    restored = counts(db_url)
    assert restored == {**manifest["tables"], "audit_log": manifest["tables"]["audit_log"] + 1}  # + the import
    verified = target.invoke(cli, ["audit", "verify", "--anchors", str(package / "audit" / "anchors.jsonl")])
    assert verified.exit_code == 0 and "intact" in verified.output
    assert "unsealed: 2" in verified.output  # the anchor's row and the import's, sealed by the next run

    again = tmp_path / "again"
    assert target.invoke(cli, ["export-all", "--to", str(again)]).exit_code == 0
    for name in manifest["tables"]:  # the same bytes, row for row, whichever backend it went through
        first = (package / "tables" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        second = (again / "tables" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        assert second[:len(first)] == first and len(second) == len(first) + (name == "audit_log"), name
    refused = target.invoke(cli, ["import-all", "--from", str(package)])
    assert refused.exit_code == 1 and "not empty" in refused.output
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).where(AuditLog.action == "handover.import")) == 1
    engine.dispose()


def test_a_tampered_package_is_refused_before_anything_is_written(office: Office, sqlite_url: str,
                                                                 tmp_path: Path) -> None:
    source = busy_office(office, tmp_path)
    package = tmp_path / "package"
    assert source.invoke(cli, ["export-all", "--to", str(package)]).exit_code == 0
    assert "not empty" in source.invoke(cli, ["export-all", "--to", str(package)]).output
    target = CliRunner(env={"HOTLINE_DATABASE_URL": sqlite_url})

    cases = package / "tables" / "hotline_case.jsonl"
    original = cases.read_bytes()
    cases.write_bytes(original.replace(b"normal", b"urgent", 1))
    changed = target.invoke(cli, ["import-all", "--from", str(package)])
    assert changed.exit_code == 1 and "file changed since export: tables/hotline_case.jsonl" in changed.output
    cases.write_bytes(original)
    (package / "tables" / "extra.jsonl").write_text("{}\n")
    extra = target.invoke(cli, ["import-all", "--from", str(package)])
    assert extra.exit_code == 1 and "file not in the manifest: tables/extra.jsonl" in extra.output
    (package / "tables" / "extra.jsonl").unlink()
    wrong = target.invoke(cli, ["import-all", "--from", str(package), "--expect-sha256", "0" * 64])
    assert wrong.exit_code == 1 and "differs from the SHA-256 given" in wrong.output
    assert sum(counts(sqlite_url).values()) == 0  # nothing written, not even an audit row
    assert target.invoke(cli, ["import-all", "--from", str(package)]).exit_code == 0
