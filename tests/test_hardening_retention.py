"""Retention of closed cases' personal data (issue 16, finding 9): after the office's number of days the requester
is de-identified, numbers and the requester's name and address leave the case's texts, the case and its figures
stay; a dry run counts, a run is audited with counts, and exports and the handover package hold nothing personal."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from handlers.reference.settings import parse_setting
from processes.cases import retention
from processes.cases.models import Case
from processes.cases.models import CaseText
from processes.cases.models import Requester
from processes.cases.numbers import find_numbers
from processes.reference.models import Setting
from processes.runtime import commands
from tests.admin_support import sign_in
from tests.lifecycle_support import REPLY
from tests.web_support import audit_rows
from tests.web_support import post
from tests.workspace_support import Workspace
from tests.workspace_support import text
from webapp.cli import cli
from webapp.retention import run_retention

NAME, ADDRESS = "王小明", "洞头区北岙街道中心街88号"
CONTENT = f"{NAME}反映{ADDRESS}夜间施工，回电 139 1234 5678，身份证 330302 19900101 1234。"
CONTACT = f"已电话联系{NAME}（139-1234-5678），约定上门"


def close(ws: Workspace, started: commands.Started, days_ago: int) -> None:
    """Mark a case closed (归档) that many days before the workspace's clock."""
    with ws.office.rt.write() as db, db.begin():
        db.execute(sa.update(Case).where(Case.id == started.case_id).values(
            status="archived", closed_at=ws.office.clock() - timedelta(days=days_ago)))


def office(ws: Workspace) -> dict[str, commands.Started]:
    """An old closed case with personal data everywhere, a recently closed one and an open one."""
    old = ws.dispatched("sthj", title="噪音 139 1234 5678", content=CONTENT, location=f"{ADDRESS}旁工地")
    ws.office.complete(old, "sign_for", {"sign_decision": "sign"}, department="sthj")
    ws.office.complete(old, "reply", {**REPLY, "contact_record": CONTACT})
    recent, still_open = ws.dispatched("sthj", content=CONTENT), ws.dispatched("sthj", content=CONTENT)
    close(ws, old, 400)
    close(ws, recent, 10)
    return {"old": old, "recent": recent, "open": still_open}


def personal(ws: Workspace, started: commands.Started) -> dict[str, object]:
    """The case's requester columns, texts and routing columns as stored."""
    with ws.office.rt.read() as db:
        case = db.get(Case, started.case_id)
        assert case is not None
        requester = db.get(Requester, case.requester_id)
        texts = [t.value for t in db.scalars(sa.select(CaseText).where(CaseText.case_id == case.id))]
        return {"requester": [getattr(requester, c) for c in retention.PERSONAL_COLUMNS],
                "texts": [case.title, case.content, case.location, *texts],
                "case": (case.number, case.status, case.category, case.lead_department, case.closed_at,
                         case.callback_result, case.return_count), "flags": dict(case.flags or {})}


def set_days(ws: Workspace, days: int) -> None:
    """Store the office's retention setting."""
    with ws.office.rt.write() as db, db.begin():
        db.merge(Setting(name=retention.SETTING, value=str(days), note=""))


def test_the_setting_is_zero_or_at_least_a_month() -> None:
    assert parse_setting(retention.SETTING, "0") == 0 and parse_setting(retention.SETTING, "365") == 365
    for bad in ("10", "-1", "36501", "一年"):
        with pytest.raises(ValueError):
            parse_setting(retention.SETTING, bad)


def test_a_dry_run_counts_then_a_run_deidentifies_only_cases_closed_long_enough(ws: Workspace) -> None:
    cases = office(ws)
    before = {name: personal(ws, c) for name, c in cases.items()}
    assert run_retention(ws.app, actor="test").as_dict()["cases"] == 0  # setting 0 (the default): kept
    set_days(ws, 365)
    dry = run_retention(ws.app, actor="test", dry_run=True)
    assert dry.as_dict() == {"cases": 1, "requesters": 1, "texts": 4, "numbers": 4, "drafts": 0, "attachments": 0}
    assert {name: personal(ws, c) for name, c in cases.items()} == before and audit_rows(ws.app, "pii.retention") == []
    done = run_retention(ws.app, actor="system:timer")
    assert done.as_dict() == dry.as_dict()
    after = personal(ws, cases["old"])
    assert after["requester"] == [None] * len(retention.PERSONAL_COLUMNS)  # name, phone, ID, address, blind index
    assert after["case"] == before["old"]["case"]  # the case and its figures stay
    assert after["flags"] == {retention.MARK: "2026-11-25"}
    written = " ".join(str(t) for t in after["texts"])
    assert find_numbers(written) == [] and NAME not in written and ADDRESS not in written
    assert "夜间施工" in written and retention.REMOVED in written  # the complaint itself is still there
    assert personal(ws, cases["recent"]) == before["recent"] and personal(ws, cases["open"]) == before["open"]
    [row] = audit_rows(ws.app, "pii.retention")
    assert (row["actor"], row["object_type"]) == ("system:timer", "hotline_case")
    assert row["detail"] == {"days": 365, **done.as_dict()}
    assert run_retention(ws.app, actor="test").cases == 0 and len(audit_rows(ws.app, "pii.retention")) == 1


def test_pages_and_exports_of_a_deidentified_case_hold_no_personal_data(ws: Workspace) -> None:
    cases = office(ws)
    set_days(ws, 365)
    run_retention(ws.app, actor="test")
    number = personal(ws, cases["old"])["case"][0]
    leader = sign_in(ws.app, ws.office.clock, "lead.ret", "leader")
    page = text(leader.get(f"/cases/{cases['old'].case_id}"))
    exported = post(leader, "/search/export", {"format": "csv", "number": str(number)})
    assert exported.status_code == 200
    body = exported.get_data().decode("utf-8-sig")
    assert str(number) in body and "夜间施工" not in body.split("\n", 1)[0]
    for shown in (page, body):
        assert NAME not in shown and "王**" not in shown and "138****" not in shown and find_numbers(shown) == []
    found = post(leader, "/search", {"phone": "13812345678"})
    assert str(number) not in text(found)  # the blind index is gone: a phone lookup no longer finds it


def test_the_handover_package_of_a_deidentified_case_is_empty_of_personal_data(ws: Workspace, tmp_path: Path) -> None:
    cases = office(ws)
    set_days(ws, 365)
    run_retention(ws.app, actor="test")
    runner = CliRunner(env={"HOTLINE_DATABASE_URL": ws.office.rt.db.url.render_as_string(hide_password=False),
                            "HOTLINE_AUDIT_ANCHOR_PATH": str(tmp_path / "anchors.jsonl")})
    exported = runner.invoke(cli, ["export-all", "--to", str(tmp_path / "package")])
    assert exported.exit_code == 0, exported.output
    tables = tmp_path / "package" / "tables"

    def rows(table: str) -> list[dict[str, object]]:
        return [json.loads(line) for line in (tables / f"{table}.jsonl").read_text(encoding="utf-8").splitlines()]

    [case] = [r for r in rows("hotline_case") if r["id"] == cases["old"].case_id]
    [row] = [r for r in rows("requester") if r["id"] == case["requester_id"]]
    assert [row[c] for c in retention.PERSONAL_COLUMNS] == personal(ws, cases["old"])["requester"] == [None] * 6
    texts = [str(r["value"]) for r in rows("case_text") if r["case_id"] == cases["old"].case_id]
    texts += [str(case[c]) for c in ("title", "content", "location")]
    assert len(texts) == 6 and all(find_numbers(t) == [] and NAME not in t and ADDRESS not in t for t in texts)


def test_the_command_line_dry_run_prints_counts_and_the_run_applies_them(ws: Workspace) -> None:
    cases = office(ws)
    runner = CliRunner(env={"HOTLINE_DATABASE_URL": ws.office.rt.db.url.render_as_string(hide_password=False)})
    kept = runner.invoke(cli, ["pii", "retention", "--dry-run"])
    assert kept.exit_code == 0 and "pii_retention_days is 0" in kept.output
    dry = runner.invoke(cli, ["pii", "retention", "--dry-run", "--days", "365"])
    assert dry.exit_code == 0, dry.output
    assert "would de-identify (closed over 365 days): cases=1 requesters=1 texts=4 numbers=4 drafts=0" in dry.output
    assert personal(ws, cases["old"])["requester"][0] is not None
    done = runner.invoke(cli, ["pii", "retention", "--days", "365", "--actor", "secadmin1"])
    assert done.exit_code == 0 and "de-identified (closed over 365 days): cases=1" in done.output
    assert personal(ws, cases["old"])["requester"] == [None] * 6
    assert [r["actor"] for r in audit_rows(ws.app, "pii.retention")] == ["secadmin1"]
    assert runner.invoke(cli, ["pii", "retention", "--days", "0"]).exit_code == 2  # 0 only through the setting


def test_the_settings_page_lists_the_retention_setting(ws: Workspace) -> None:
    admin = sign_in(ws.app, ws.office.clock, "sys.ret", "sysadmin")
    page = text(admin.get("/reference/settings"))
    assert retention.SETTING in page and "去标识化" in page
