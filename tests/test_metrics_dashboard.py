"""The dashboard (数据看板): roles and object rules, the JSON it draws, drill-downs equal to the figures, bad input.

The November office of tests/metrics_support.py (units zjj and zhzf) and one township report from 北岙, counted
into the rollup; SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from processes.cases.models import Case
from processes.metrics import rollup
from tests.metrics_support import NOVEMBER
from tests.metrics_support import NOW
from tests.metrics_support import add_case
from tests.metrics_support import seed_month
from tests.workspace_support import Workspace
from tests.workspace_support import text

NOV = "start=2026-11-01&end=2026-11-30"


@pytest.fixture
def board(ws: Workspace) -> Workspace:
    """The workspace with the November office counted into the rollup."""
    with ws.office.rt.write() as db, db.begin():
        seed_month(db)
        add_case(db, "T", "2026-11-05T10:00:00", channel="township", township="beiao", lead_department="zjj",
                 status="dispatched")
        db.execute(sa.update(Case).where(Case.lead_department == "D1").values(lead_department="zjj"))
        db.execute(sa.update(Case).where(Case.lead_department == "D2").values(lead_department="zhzf"))
        db.execute(sa.update(Case).where(Case.category == "noise").values(category="城市管理"))
        db.execute(sa.text("UPDATE human_task SET department = CASE department WHEN 'D1' THEN 'zjj' "
                           "ELSE 'zhzf' END WHERE id LIKE 'task-case-%'"))
        rollup.refresh(db, date(2026, 10, 1), date(2026, 11, 30), now=NOW)
    return ws


def data(client: FlaskClient, query: str = NOV) -> dict[str, Any]:
    """GET the dashboard's JSON."""
    response = client.get(f"/dashboard/data?{query}")
    assert response.status_code == 200, text(response)
    return response.get_json()  # type: ignore[no-any-return]


def totals(payload: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Return metric → (numerator, denominator) of the payload's totals."""
    return {t["code"]: (t["numerator"], t["denominator"]) for t in payload["totals"]}


def test_office_sees_every_figure_with_formula_and_reading(board: Workspace) -> None:
    client = board.user("sup", "supervisor")
    payload = data(client)
    # the township report T adds one received, accepted and dispatched case
    expected = {**NOVEMBER, "volume": (10, 10), "direct": (1, 8), "closure": (4, 7), "returned": (1, 7)}
    assert totals(payload) == expected
    ontime = next(t for t in payload["totals"] if t["code"] == "ontime")
    assert ontime["formula"] == "按时办结 ÷ 期内到期" and ontime["rate"] == pytest.approx(66.67)
    assert [r["name"] for r in payload["reading"]] == ["满意率口径", "重复计数", "统计归期"]
    assert {r["code"]: (r["numerator"], r["denominator"]) for r in payload["breakdown"]} == {"zjj": (3, 4),
                                                                                            "zhzf": (1, 2)}
    assert payload["breakdown"][0]["label"] == "区住建局"
    assert payload["trend"]["labels"] and payload["daily"]["series"] and payload["weekly"]["series"]
    assert payload["place"] == []
    page = text(client.get(f"/dashboard/?{NOV}"))
    assert 'id="dashboard-data"' in page and 'id="chart-trend"' in page and "<script>" not in page


def test_every_drill_down_lists_its_figure(board: Workspace) -> None:
    client = board.user("lead", "leader")
    for t in data(client, NOV + "&metric=satisfied&by=township")["totals"]:
        for part in ("numerator", "denominator"):
            listed = client.get(t[f"drill_{part}"] + "&format=json").get_json()
            assert listed["total"] == t[part] and len(listed["numbers"]) == min(t[part], 50), (t["code"], part)
    payload = data(client, NOV + "&metric=ontime&grain=day")
    line = next(s for s in payload["trend"]["series"] if s["code"] == "ontime")
    for p in line["points"]:
        assert client.get(p["drill_numerator"] + "&format=json").get_json()["total"] == p["numerator"]
    page = text(client.get(payload["breakdown"][0]["drill_denominator"]))
    assert "MA" in page and "MB" in page and "MC" not in page  # zjj's due cases, not zhzf's


def test_unit_sees_its_own_unit_and_its_place(board: Workspace) -> None:
    client = board.user("h1", "handler", department="zjj")
    payload = data(client)
    assert totals(payload)["ontime"] == (3, 4) and payload["scope"] == "unit"
    assert [r["code"] for r in payload["breakdown"]] == ["zjj"]
    place = {p["code"]: (p["rank"], p["units"]) for p in payload["place"]}
    assert place["ontime"] == (1, 2) and place["signed"] == (1, 2)  # 3/4 against 1/2; 1/2 against 0/1
    assert "numerator" not in payload["place"][0]  # a place, not the other units' figures
    assert client.get(f"/dashboard/data?{NOV}&department=zhzf").status_code == 404
    assert client.get(f"/dashboard/cases?{NOV}&metric=ontime&department=zhzf").status_code == 404
    listed = client.get(f"/dashboard/cases?{NOV}&metric=ontime&part=denominator&format=json").get_json()
    assert sorted(listed["numbers"]) == ["MA", "MB", "MH", "MJ"]


def test_township_sees_its_own_reports(board: Workspace) -> None:
    client = board.user("town", "township_reporter", department="beiao")
    payload = data(client)
    assert totals(payload)["volume"] == (1, 1) and payload["scope"] == "township"
    assert client.get(f"/dashboard/data?{NOV}&township=dongping").status_code == 404
    assert client.get(f"/dashboard/data?{NOV}&channel=phone").status_code == 404
    listed = client.get(f"/dashboard/cases?{NOV}&metric=volume&format=json").get_json()
    assert listed["numbers"] == ["MT"]


def test_other_roles_are_refused(board: Workspace) -> None:
    assert board.user("op", "operator").get("/dashboard/").status_code == 403
    assert board.user("adm", "sysadmin").get("/dashboard/data").status_code == 403


@pytest.mark.parametrize("query", ["start=2026-13-01", "start=2026-11-30&end=2026-11-01", "metric=bogus",
                                   "by=requester", "grain=year", "department=nobody", "township=nowhere",
                                   "channel=fax", "request_type=x", "start=2020-01-01&end=2026-11-30"])
def test_bad_filters_answer_400(board: Workspace, query: str) -> None:
    client = board.user("ana", "analyst")
    response = client.get(f"/dashboard/data?{query}")
    assert response.status_code == 400 and response.status_code != 500
    assert client.get(f"/dashboard/cases?{NOV}&part=both").status_code == 400
    assert client.get(f"/dashboard/cases?{query}").status_code == 400
