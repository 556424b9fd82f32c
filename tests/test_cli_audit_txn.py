"""CLI case commands write their audit row inside the command's own transaction: both commit or neither (REL-02)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy import Connection

from processes.audit.models import AuditLog
from processes.db.engines import create_db_engine
from processes.runtime.models import HistoryEvent
from processes.runtime.models import HumanTask
from tests.support import TEST_BPMN
from tests.test_cli import BUNDLE
from webapp.cli import cli
from webapp.cli.support import AuditNote


@pytest.fixture
def hotline(db_url: str, tmp_path: Path) -> CliRunner:
    """A CLI runner on the test database with the simple bundle deployed."""
    folder = tmp_path / "bpmn" / "simple"
    folder.mkdir(parents=True)
    (folder / "simple.bpmn").write_text(BUNDLE, encoding="utf-8")
    runner = CliRunner(env={"HOTLINE_DATABASE_URL": db_url, "HOTLINE_BPMN_DIR": str(folder.parent)})
    assert runner.invoke(cli, ["deploy"]).exit_code == 0
    return runner


def rows(db_url: str, action: str) -> list[Any]:
    """Audit rows of one action, oldest first."""
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        found = conn.execute(sa.select(AuditLog.result, AuditLog.object_id, AuditLog.after, AuditLog.detail)
                             .where(AuditLog.action == action).order_by(AuditLog.id)).all()
    engine.dispose()
    return found


def task_state(db_url: str, task_id: str) -> tuple[str, str | None, int]:
    """Status and assignee of a task, and how many history events record its completion."""
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        status, assignee = conn.execute(sa.select(HumanTask.status, HumanTask.assignee)
                                        .where(HumanTask.id == task_id)).one()
        done = conn.scalar(sa.select(sa.func.count()).select_from(HistoryEvent).where(
            HistoryEvent.task_id == task_id, HistoryEvent.kind == "task_completed"))
    engine.dispose()
    return status, assignee, int(done or 0)


def fail_after_the_audit_insert(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the success row's insert go through and then fail the transaction it is in."""
    original = AuditNote.write

    def write_then_fail(self: AuditNote, conn: Connection, result: str = "success") -> None:
        original(self, conn, result)
        if result == "success":
            raise RuntimeError("injected failure after the audit insert")

    monkeypatch.setattr(AuditNote, "write", write_then_fail)


def test_a_rolled_back_command_takes_its_audit_row_with_it(hotline: CliRunner, db_url: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    started = hotline.invoke(cli, ["start", "simple", "--channel", "phone", "--data",
                                   '{"lead_department": "区住建局", "requester_phone": "13812345678"}'])
    instance_id = re.search(r"instance ([0-9a-f-]{36}) running case (DT\d{8}-\d{4})", started.output)
    assert instance_id, started.output
    [opened] = rows(db_url, "case.open")
    assert opened.result == "success" and opened.object_id == instance_id[1]
    assert opened.after == {"status": "running", "case_number": instance_id[2]}
    task_id = hotline.invoke(cli, ["tasks"]).output.split()[1]

    with monkeypatch.context() as patch:
        fail_after_the_audit_insert(patch)
        claimed = hotline.invoke(cli, ["claim", instance_id[1], task_id, "--actor", "li"])
        completed = hotline.invoke(cli, ["complete", instance_id[1], task_id, "--data", "{}"])
    assert claimed.exit_code == 1 and completed.exit_code == 1
    assert task_state(db_url, task_id) == ("open", None, 0)  # neither change committed …
    assert [(r.result, r.detail["error"]) for r in rows(db_url, "task.claim")] == [("failure", "RuntimeError")]
    assert [(r.result, r.detail["error"]) for r in rows(db_url, "task.complete")] == [("failure", "RuntimeError")]

    assert hotline.invoke(cli, ["claim", instance_id[1], task_id, "--actor", "li"]).exit_code == 0
    assert hotline.invoke(cli, ["complete", instance_id[1], task_id, "--actor", "li", "--data", "{}"]).exit_code == 0
    assert task_state(db_url, task_id) == ("completed", "li", 1)
    assert [r.result for r in rows(db_url, "task.claim")] == ["failure", "success"]
    completions = rows(db_url, "task.complete")
    assert [r.result for r in completions] == ["failure", "success"]  # … and each success has exactly one row
    assert completions[1].after == {"instance_status": "running"} and completions[1].object_id == task_id


def test_instance_commands_record_their_outcome_in_their_transaction(hotline: CliRunner, db_url: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    out = hotline.invoke(cli, ["start", "simple", "--data", '{"lead_department": "区住建局"}']).output
    instance_id = out.split()[1]
    with monkeypatch.context() as patch:
        fail_after_the_audit_insert(patch)
        assert hotline.invoke(cli, ["instance", "suspend", instance_id, "--reason", "核查"]).exit_code == 1
    status = hotline.invoke(cli, ["instance", "show", instance_id]).output
    assert "status=running" in status  # the suspension rolled back with its audit row
    assert hotline.invoke(cli, ["instance", "suspend", instance_id, "--reason", "核查"]).exit_code == 0
    moved = hotline.invoke(cli, ["reschedule", instance_id, "--shift", "2h", "--reason", "延期"])
    assert moved.exit_code == 1 and "InvalidState" in moved.output  # suspended: refused, audited as a failure
    assert [(r.result, r.after) for r in rows(db_url, "instance.suspend")] == [
        ("failure", None), ("success", {"status": "suspended"})]
    assert hotline.invoke(cli, ["instance", "resume", instance_id, "--reason", "核查完毕"]).exit_code == 0
    assert hotline.invoke(cli, ["reschedule", instance_id, "--shift", "2h", "--reason", "延期"]).exit_code == 0
    assert [(r.result, r.after) for r in rows(db_url, "timers.reschedule")] == [
        ("failure", None), ("success", {"rescheduled": 1, "status": "running"})]
    [started] = rows(db_url, "instance.start")
    assert started.object_id == instance_id and started.after == {"status": "running", "case_number": None}


def test_message_assignment_and_termination_rows_commit_with_their_change(hotline: CliRunner, db_url: str,
                                                                          tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "bpmn" / "message_wait"
    folder.mkdir()
    (folder / "message_wait.bpmn").write_text((TEST_BPMN / "message_wait.bpmn").read_text(encoding="utf-8"),
                                              encoding="utf-8")
    assert hotline.invoke(cli, ["deploy"]).exit_code == 0
    instance_id = hotline.invoke(cli, ["start", "message_wait", "--data", '{"incident_no": "110-7"}']).output.split()[1]
    deliver = ["message", "feedback_110", "--correlation", "incident_no=110-7", "--data", '{"incident_no": "110-7"}']
    with monkeypatch.context() as patch:
        fail_after_the_audit_insert(patch)
        assert hotline.invoke(cli, deliver).exit_code == 1
    assert "review_feedback" not in hotline.invoke(cli, ["tasks"]).output  # the message rolled back with its row
    assert f"delivered to {instance_id}" in hotline.invoke(cli, deliver).output
    delivered = rows(db_url, "message.deliver")
    assert [(r.result, r.object_id, r.detail.get("error")) for r in delivered] == [
        ("failure", None, "RuntimeError"), ("success", instance_id, None)]
    assert delivered[1].after == {"status": "running"} and delivered[1].detail["correlation"] == "incident_no"

    task_id = hotline.invoke(cli, ["tasks", "--instance", instance_id]).output.split()[1]
    with monkeypatch.context() as patch:
        fail_after_the_audit_insert(patch)
        assert hotline.invoke(cli, ["claim", instance_id, task_id, "--to", "wang"]).exit_code == 1
        assert hotline.invoke(cli, ["instance", "terminate", instance_id, "--reason", "重复"]).exit_code == 1
    assert task_state(db_url, task_id) == ("open", None, 0)
    assert hotline.invoke(cli, ["claim", instance_id, task_id, "--to", "wang"]).exit_code == 0
    assert task_state(db_url, task_id) == ("open", "wang", 0)
    assert hotline.invoke(cli, ["claim", instance_id, task_id, "--release"]).exit_code == 0
    assert task_state(db_url, task_id) == ("open", None, 0)
    assert hotline.invoke(cli, ["instance", "terminate", instance_id, "--reason", "重复"]).exit_code == 0
    assert [(r.result, r.object_id, r.detail.get("error")) for r in rows(db_url, "task.assign")] == [
        ("failure", task_id, "RuntimeError"), ("success", task_id, None)]
    assert [(r.result, r.object_id) for r in rows(db_url, "task.release")] == [("success", task_id)]
    assert [(r.result, r.after, r.detail.get("error")) for r in rows(db_url, "instance.terminate")] == [
        ("failure", None, "RuntimeError"), ("success", {"status": "terminated"}, None)]
