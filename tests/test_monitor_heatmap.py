"""The heat map (热力图): who may open it, bad versions, and counts that equal the worklists' for the same element."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from processes.accounts.roles import ROLE_CODES
from processes.runtime.models import HumanTask
from tests.lifecycle_support import at
from tests.workspace_support import Workspace
from tests.workspace_support import text

HEAT_ROLES = {"supervisor", "duty_leader", "leader"}
URL = "/monitor/heatmap/case_phone/1"


def heat(client: Any, url: str = URL) -> dict[str, dict[str, Any]]:
    """The heat-map numbers by process, then by element."""
    response = client.get(url + "/data")
    assert response.status_code == 200
    return {v["process_id"]: v["heat"] for v in response.get_json()["views"]}


def worklist_rows(client: Any, name: str) -> tuple[int, int]:
    """The rows of one task name on a user's unit worklist (本部门), and how many of them are overdue."""
    response = client.get("/worklist", query_string={"tab": "unit"})
    assert response.status_code == 200
    rows = [row for row in text(response).split('<tr id="task-')[1:] if f"<td>{name}</td>" in row]
    return len(rows), sum('class="countdown overdue"' in row for row in rows)


def test_who_may_open_the_heat_map(ws_lite: Workspace) -> None:
    ws = ws_lite
    for role in sorted(ROLE_CODES):
        unit = {"handler": "sthj", "township_reporter": "luxi"}.get(role)
        client = ws.user(f"u-{role}", role, department=unit)
        expected = 200 if role in HEAT_ROLES else 403
        for path in (URL, URL + "/data", URL + "/diagram/case_phone"):
            assert client.get(path).status_code == expected, (role, path)
    supervisor = ws.clients["u-supervisor"]
    for bad in ("/monitor/heatmap/case_phone/99", "/monitor/heatmap/nosuch/1", "/monitor/heatmap/case_phone/99/data",
                URL + "/diagram/nowhere", "/monitor/heatmap/" + "k" * 100 + "/1"):
        response = supervisor.get(bad)
        assert response.status_code == 404, bad
    assert "没有这个流程版本" in text(supervisor.get("/monitor/heatmap/case_phone/99"))
    picked = supervisor.get("/monitor/heatmap", query_string={"key": "case_phone"})
    assert picked.status_code == 302 and picked.headers["Location"].endswith(URL)
    assert supervisor.get("/monitor/heatmap", query_string={"key": "nosuch"}).status_code == 404


def test_counts_equal_the_worklists_and_time_spent_is_the_mean(ws: Workspace) -> None:
    sthj = [ws.dispatched("sthj") for _ in range(3)]
    zjj = ws.dispatched("zjj")
    ws.office.clock.now = at("2026-11-25T11:00:00")
    ws.office.complete(sthj[0], "sign_for", {"sign_decision": "sign"}, department="sthj", actor="h1")  # 2 h
    with ws.office.rt.write() as db, db.begin():  # one claimed: still the unit's, still counted once
        db.execute(sa.update(HumanTask).where(HumanTask.case_id == sthj[1].case_id, HumanTask.status == "open")
                   .values(assignee="h1"))
    ws.office.clock.now = at("2026-11-27T10:00:00")  # sign-for due 11-26 23:59: the rest are overdue
    supervisor = ws.user("sv", "supervisor")
    numbers = heat(supervisor)["department_handling"]
    h1, h2 = ws.user("h1", "handler", department="sthj"), ws.user("h2", "handler", department="zjj")
    (open_sthj, late_sthj), (open_zjj, late_zjj) = worklist_rows(h1, "签收"), worklist_rows(h2, "签收")
    assert numbers["sign_for"]["open"] == open_sthj + open_zjj == 3
    assert numbers["sign_for"]["overdue"] == late_sthj + late_zjj == 3
    assert numbers["reply"]["open"] == sum(worklist_rows(h, "办理答复")[0] for h in (h1, h2)) == 1
    assert numbers["sign_for"]["done"] == 1 and numbers["sign_for"]["mean"] == "2小时0分"
    assert numbers["reply"]["overdue"] == 0
    assert "sign_for" not in heat(supervisor)["case_lifecycle"]  # each diagram shows the elements it draws
    page = text(supervisor.get(URL))
    assert 'data-element="sign_for"' in page and 'id="diagram-state"' in page
    assert str(zjj.case_number) not in page  # numbers only, no case


def test_the_heat_map_counts_only_its_own_version(ws_lite: Workspace) -> None:
    ws = ws_lite
    ws.dispatched("sthj")
    supervisor = ws.user("sv", "supervisor")
    assert heat(supervisor)["department_handling"]["sign_for"]["open"] == 1
    assert heat(supervisor, "/monitor/heatmap/case_visit/1")["department_handling"] == {}


def test_the_board_links_the_heat_map_for_those_who_may_open_it(ws_lite: Workspace) -> None:
    ws = ws_lite
    supervisor, handler = ws.user("sv", "supervisor"), ws.user("h1", "handler", department="sthj")
    assert 'href="/monitor/heatmap"' in text(supervisor.get("/monitor"))
    assert 'href="/monitor/heatmap"' not in text(handler.get("/monitor"))
    first = supervisor.get("/monitor/heatmap")
    assert first.status_code == 302 and "/monitor/heatmap" in first.headers["Location"]
