"""Reports (报表) and 部门考评: files read back (openpyxl, pypdf) equal the metrics API's figures, roles and reach,
audit rows, a missing CJK font, the scheduler's once-only reports, checked weights (SQLite, PostgreSQL)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from pypdf import PdfReader

from processes import metrics
from processes.clock import FrozenClock
from processes.metrics import Period
from processes.reports.models import ReportFile
from tests.intake_support import PHONE
from tests.intake_support import dispatch
from tests.intake_support import office_app
from tests.intake_support import office_url
from tests.intake_support import open_case
from tests.intake_support import signed_in
from tests.lifecycle_support import at
from tests.web_support import audit_rows
from tests.web_support import post
from webapp import runtime_of
from webapp.reports import schedule


@pytest.fixture
def app(db_url: str, office_template: Path, tmp_path: Path) -> Iterator[Flask]:
    yield from office_app(office_url(db_url, office_template, tmp_path))


def november(app: Flask) -> None:
    """Three cases in November 2026, two dispatched to sthj, then the clock in December (one is overdue)."""
    clock = runtime_of(app).clock
    assert isinstance(clock, FrozenClock)
    clock.now = at("2026-11-10T10:00:00")
    for category in ("噪音扰民", "噪音扰民", "市政设施"):
        case = open_case(app, requester_phone=PHONE, requester_name="王小明", category=category, township="beiao")
        if category == "噪音扰民":
            dispatch(app, str(case.case_id), "sthj")
    clock.now = at("2026-12-02T09:00:00")


def stored(app: Flask) -> list[ReportFile]:
    with runtime_of(app).read() as db:
        return list(db.scalars(sa.select(ReportFile).order_by(ReportFile.scope, ReportFile.file_format)))


def generate(client: FlaskClient, scope: str = "office", period: str = "2026-11", kind: str = "monthly") -> int:
    return post(client, "/reports/generate", {"kind": kind, "period": period, "scope": scope}).status_code


def pdf_text(content: bytes) -> str:
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return "".join(text.replace("\x00", "").split())  # pypdf spaces out CJK glyphs; the words are what count


def test_a_monthly_report_holds_the_metrics_apis_figures_in_excel_and_pdf(app: Flask) -> None:
    november(app)
    client = signed_in(app, "lead1", "leader")
    assert generate(client) == 303
    files = {r.file_format: r for r in stored(app)}
    assert set(files) == {"pdf", "xlsx"}
    month, rt = Period.month(date(2026, 11, 1)), runtime_of(app)
    with rt.read() as db:
        figures = {f.metric: f for f in metrics.figures(db, month, metrics=("volume", "ontime", "overdue"),
                                                        now=rt.clock())}
    book = load_workbook(io.BytesIO(files["xlsx"].content))
    overview = {row[0]: row[1:] for row in book["概览"].iter_rows(values_only=True) if row and row[0]}
    assert overview["来件量"][0] == figures["volume"].numerator == 3
    for name, code in (("按时办结率", "ontime"), ("超期率", "overdue")):
        figure = figures.get(code)  # no figure at all when nothing fell due in the month
        assert overview[name][1:3] == ((figure.numerator, figure.denominator) if figure else (0, 0))
    places = [row for row in book["分类与地点"].iter_rows(values_only=True) if row and row[0] == "噪音扰民"]
    assert places[0][1:] == (2, 0, 2)  # 2 this month, none before: a rising topic
    assert book["每日来件"]._charts  # the chart is in the sheet
    text = pdf_text(files["pdf"].content)
    assert "洞头区12345热线月度分析报告（2026-11）" in text and "本期受理工单3件" in text
    assert "王小明" not in text and PHONE not in text and "噪音扰民" in text
    [made] = audit_rows(app, "report.generate")
    assert made["actor"] == "lead1" and made["detail"] == {"kind": "monthly", "period": "2026-11", "scope": "office"}
    response = client.get(f"/reports/{files['pdf'].id}/download")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert audit_rows(app, "report.download")[0]["object_id"] == files["pdf"].id


def test_a_unit_reads_and_makes_only_its_own_reports(app: Flask) -> None:
    november(app)
    generate(signed_in(app, "sup1", "supervisor"))
    unit = signed_in(app, "h-sthj", "handler", department="sthj")
    assert generate(unit, "office") == 404 and generate(unit, "zjj") == 404
    assert generate(unit, "sthj") == 303
    office_pdf = next(r for r in stored(app) if r.scope == "office")
    assert unit.get(f"/reports/{office_pdf.id}/download").status_code == 404
    page = unit.get("/reports").get_data(as_text=True)
    assert office_pdf.id not in page and page.count("/download") == 2  # its own PDF and Excel only
    own = next(r for r in stored(app) if r.scope == "sthj" and r.file_format == "xlsx")
    overview = {row[0]: row[1:] for row in load_workbook(io.BytesIO(own.content))["概览"].iter_rows(values_only=True)
                if row and row[0]}
    assert overview["来件量"][0] == 2  # the unit's own cases only
    for role in ("operator", "dispatcher", "auditor"):
        assert signed_in(app, f"u-{role}", role).get("/reports").status_code == 403


def test_bad_periods_and_a_missing_font_answer_with_a_message(app: Flask) -> None:
    client = signed_in(app, "an1", "analyst")
    assert generate(client, period="2026-13") == 400
    assert "统计周期格式不正确" in post(client, "/reports/generate", {"kind": "weekly", "period": "2026-11",
                                                                      "scope": "office"}).get_data(as_text=True)
    assert generate(client, period="2027-01") == 400  # not begun
    assert generate(client, kind="yearly") == 400
    app.config["REPORT_FONT"] = "/nonexistent/font.ttc"
    response = post(client, "/reports/generate", {"kind": "weekly", "period": "2026-W48", "scope": "office"})
    assert response.status_code == 503 and "REPORT_FONT" in response.get_data(as_text=True)
    assert stored(app) == [] and audit_rows(app, "report.generate") == []


def test_the_scheduler_makes_last_weeks_and_last_months_reports_once(app: Flask) -> None:
    november(app)  # Wednesday 2 December, 09:00
    assert schedule.make_due(app) == ["2026-W48", "2026-11"]
    assert schedule.make_due(app) == []
    assert {(r.kind, r.period, r.file_format) for r in stored(app)} == {
        ("weekly", "2026-W48", "pdf"), ("weekly", "2026-W48", "xlsx"), ("monthly", "2026-11", "pdf"),
        ("monthly", "2026-11", "xlsx")}
    assert [r["actor"] for r in audit_rows(app, "report.generate")] == ["system:reports"]


def test_evaluation_scorecards_deductions_and_weights(app: Flask) -> None:
    november(app)
    leader = signed_in(app, "lead1", "leader")
    page = leader.get("/reports/evaluation?month=2026-11").get_data(as_text=True)
    assert "区级部门" in page and "乡镇（街道）" in page and 'data-unit="sthj"' in page
    assert leader.get("/reports/evaluation?month=2026-99").status_code == 400
    # 及时签收率: the two sign-for tasks of sthj were due in November and are still unsigned in December
    cases = leader.get("/reports/evaluation/cases?month=2026-11&unit=sthj&metric=signed")
    assert cases.status_code == 200 and cases.get_data(as_text=True).count('href="/cases/') == 2
    assert leader.get("/reports/evaluation/cases?month=2026-11&unit=nope&metric=overdue").status_code == 404
    unit = signed_in(app, "h-zjj", "handler", department="zjj")
    assert 'data-unit="sthj"' not in unit.get("/reports/evaluation?month=2026-11").get_data(as_text=True)
    assert unit.get("/reports/evaluation/cases?month=2026-11&unit=sthj&metric=overdue").status_code == 404
    assert post(unit, "/reports/evaluation/weights", {}).status_code == 403
    assert "现为" not in leader.get("/reports/evaluation/weights").get_data(as_text=True)  # no problem shown
    assert signed_in(app, "an2", "analyst").get("/reports/evaluation/weights").status_code == 403

    form = {f"{klass}.{m}.{part}": value for klass in ("department", "township")
            for m, (w, t) in {"ontime": ("60", "95"), "overdue": ("40", "2")}.items()
            for part, value in (("weight", w), ("target", t))}
    form.update({"grade.excellent": "95", "grade.good": "85", "grade.pass": "70", "note": "简化"})
    bad = post(leader, "/reports/evaluation/weights", {**form, "township.ontime.weight": "50"})
    assert bad.status_code == 400 and "权重合计应为 100，现为 90" in bad.get_data(as_text=True)
    assert post(leader, "/reports/evaluation/weights", {**form, "grade.pass": "x"}).status_code == 400
    assert audit_rows(app, "evaluation.scheme") == []
    assert post(leader, "/reports/evaluation/weights", form).status_code == 303
    [row] = audit_rows(app, "evaluation.scheme")
    assert row["after"]["classes"]["department"] == {"ontime": {"weight": 60, "target": 0.95},
                                                     "overdue": {"weight": 40, "target": 0.02}}
    assert row["before"]["classes"]["department"]["satisfied"]["weight"] == 20
    page = leader.get("/reports/evaluation?month=2026-11").get_data(as_text=True)
    assert "权重 60" in page and "满意率" not in page.split("<table")[1]
