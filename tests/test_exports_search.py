"""Case-list exports (工单导出): Excel and CSV read back, masked and formula-safe; long ones as background jobs
with progress, kept for their requester only, taken over after a crashed runner, audited (SQLite, PostgreSQL)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from processes.clock import FrozenClock
from processes.reports import exports as jobs
from processes.reports.models import ExportJob
from tests.intake_support import PHONE
from tests.intake_support import office_app
from tests.intake_support import office_url
from tests.intake_support import open_case
from tests.intake_support import signed_in
from tests.web_support import audit_rows
from tests.web_support import change_user
from tests.web_support import post
from webapp import runtime_of
from webapp.search import exports

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LEASE = timedelta(seconds=60)


@pytest.fixture
def app(db_url: str, office_template: Path, tmp_path: Path) -> Iterator[Flask]:
    yield from office_app(office_url(db_url, office_template, tmp_path))


def sheet_rows(content: bytes) -> list[list[object]]:
    """The first sheet's rows as values (header first)."""
    book = load_workbook(io.BytesIO(content))
    return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]


def clock(app: Flask) -> FrozenClock:
    found = runtime_of(app).clock
    assert isinstance(found, FrozenClock)
    return found


def job_rows(app: Flask) -> list[ExportJob]:
    with runtime_of(app).read() as db:
        return list(db.scalars(sa.select(ExportJob).order_by(ExportJob.created_at)))


def queue(app: Flask, client: FlaskClient, cases: int, **criteria: str) -> str:
    """Register cases, ask for a background Excel export of them and return the job's page path."""
    app.config["EXPORT_INLINE_ROWS"] = 1
    for n in range(cases):
        open_case(app, requester_phone=PHONE if n % 2 else "13900001111", requester_name="王小明",
                  category=f"类别{n}")
    response = post(client, "/search/export", {"format": "xlsx", **criteria})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return response.headers["Location"]


def test_a_small_excel_export_is_answered_at_once_masked_formula_safe_and_audited(app: Flask) -> None:
    formula = open_case(app, requester_phone=PHONE, requester_name="王小明", category='=HYPERLINK("x")')
    client = signed_in(app, "lead1", "leader")
    response = post(client, "/search/export", {"format": "xlsx", "number": formula.case_number})
    assert response.status_code == 200 and response.mimetype == XLSX
    assert 'filename="cases-20261125-090000.xlsx"' in response.headers["Content-Disposition"]
    rows = sheet_rows(response.get_data())
    assert rows[0][:3] == ["工单编号", "登记时间", "渠道"] and len(rows) == 2
    assert rows[1][0] == formula.case_number and rows[1][9] == "王** 138****5678"
    book = load_workbook(io.BytesIO(response.get_data()))
    cell = book.worksheets[0]["D2"]
    assert cell.value == '=HYPERLINK("x")' and cell.data_type == "s"  # text, never a formula
    assert PHONE.encode() not in response.get_data() and "王小明".encode() not in response.get_data()
    [row] = audit_rows(app, "case.export")
    assert row["actor"] == "lead1" and row["detail"]["format"] == "xlsx" and row["detail"]["rows"] == 1


def test_a_long_export_runs_in_the_background_with_progress_and_only_its_requester_downloads_it(
        app: Flask) -> None:
    client = signed_in(app, "sup1", "supervisor")
    page = queue(app, client, 5, phone="5678")
    assert client.get(page).status_code == 200 and "排队中" in client.get(page).get_data(as_text=True)
    [job] = job_rows(app)
    assert job.status == "pending" and job.rows_total == 2 and job.criteria["phone"] == ""
    assert "5678" not in str(job.criteria)  # the searched number only sealed
    [requested] = audit_rows(app, "case.export_requested")
    assert requested["object_id"] == job.id and requested["detail"]["criteria"] == ["phone"]

    assert exports.run_waiting(app, "runner-a") == 1
    progress = client.get(f"{page}/progress").get_data(as_text=True)
    assert 'data-status="done"' in progress and "hx-trigger" not in progress  # polling stops once done
    response = client.get(f"{page}/download")
    assert response.status_code == 200 and response.mimetype == XLSX
    rows = sheet_rows(response.get_data())
    assert len(rows) == 3 and {r[9] for r in rows[1:]} == {"王** 138****5678"}  # the two 5678 cases, masked
    [downloaded] = audit_rows(app, "case.export_download")
    assert downloaded["actor"] == "sup1" and downloaded["object_id"] == job.id

    other = signed_in(app, "sup2", "supervisor")
    for path in (page, f"{page}/progress", f"{page}/download"):
        assert other.get(path).status_code == 404  # someone else's export: as if there were none
    assert len(audit_rows(app, "case.export_download")) == 1


def test_an_export_is_kept_for_a_limited_time(app: Flask) -> None:
    client = signed_in(app, "sup1", "supervisor")
    app.config["EXPORT_KEEP_HOURS"] = 0.1  # six minutes: the session outlives it
    page = queue(app, client, 3)
    exports.run_waiting(app, "runner-a")
    assert client.get(f"{page}/download").status_code == 200
    clock(app).now += timedelta(minutes=6, seconds=1)
    assert client.get(f"{page}/download").status_code == 404
    exports.run_waiting(app, "runner-a")  # each sweep drops the files past their time
    [job] = job_rows(app)
    assert job.status == "expired" and job.content is None
    assert "已过保留期" in client.get(page).get_data(as_text=True)


def test_a_crashed_runners_job_is_taken_over_once_its_lease_runs_out(app: Flask) -> None:
    client = signed_in(app, "sup1", "supervisor")
    page = queue(app, client, 3)
    rt = runtime_of(app)
    job_id = jobs.claim(rt, "dead-runner", lease=LEASE)  # claimed, then the process died
    assert job_id is not None
    assert 'data-status="running"' in client.get(f"{page}/progress").get_data(as_text=True)
    assert exports.run_waiting(app, "runner-b") == 0  # still leased: nobody else touches it
    clock(app).now += LEASE + timedelta(seconds=1)
    assert exports.run_waiting(app, "runner-b") == 1
    [job] = job_rows(app)
    assert job.status == "done" and job.attempts == 2 and job.rows_done == job.rows_total == 3
    with pytest.raises(jobs.LeaseLost):  # the old runner, if it wakes up, can neither report nor finish
        jobs.progress(rt, job_id, "dead-runner", done=1, total=3, lease=LEASE)
    assert not jobs.finish(rt, job_id, "dead-runner", b"stale", "x.csv", keep=timedelta(hours=1))
    assert len(sheet_rows(client.get(f"{page}/download").get_data())) == 4


def test_a_job_whose_runners_keep_dying_fails_instead_of_looping(app: Flask) -> None:
    client = signed_in(app, "sup1", "supervisor")
    page = queue(app, client, 3)
    rt = runtime_of(app)
    for n in range(jobs.MAX_ATTEMPTS):
        assert jobs.claim(rt, f"dead-{n}", lease=LEASE) is not None
        clock(app).now += LEASE + timedelta(seconds=1)
    assert exports.run_waiting(app, "runner-b") == 0
    assert job_rows(app)[0].status == "failed"
    assert "导出失败" in client.get(page).get_data(as_text=True)


def test_progress_is_reported_batch_by_batch(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    client = signed_in(app, "sup1", "supervisor")
    queue(app, client, 5)
    monkeypatch.setattr(exports, "BATCH", 2)
    seen: list[tuple[int, int]] = []
    [job] = job_rows(app)
    with app.app_context():
        content, name = exports.build(job, lambda done, total: seen.append((done, total)))
    assert seen == [(0, 5), (2, 5), (4, 5), (5, 5)] and name.endswith(".xlsx") and len(sheet_rows(content)) == 6


def test_a_requester_who_lost_the_right_gets_no_file(app: Flask) -> None:
    client = signed_in(app, "sup1", "supervisor")
    queue(app, client, 3)
    change_user(app, "sup1", lambda db, user: setattr(user, "active", False))
    exports.run_waiting(app, "runner-a")
    [job] = job_rows(app)
    assert job.status == "failed" and job.content is None


def test_csv_in_the_background_and_refusals(app: Flask) -> None:
    client = signed_in(app, "sup1", "supervisor")
    app.config["EXPORT_INLINE_ROWS"] = 1
    for n in range(3):
        open_case(app, requester_phone=PHONE, category=f"@SUM({n})")
    assert post(client, "/search/export", {"format": "pdf"}).status_code == 400
    app.config["EXPORT_MAX_ROWS"] = 2
    refused = post(client, "/search/export", {"format": "csv"})
    assert refused.status_code == 400 and "超过导出上限 2 件" in refused.get_data(as_text=True)
    assert job_rows(app) == [] and audit_rows(app, "case.export_requested") == []
    app.config["EXPORT_MAX_ROWS"] = 100
    page = post(client, "/search/export", {"format": "csv"}).headers["Location"]
    exports.run_waiting(app, "runner-a")
    text = client.get(f"{page}/download").get_data().decode("utf-8")
    assert text.startswith("\ufeff工单编号") and text.count("'@SUM(") == 3 and PHONE not in text
