"""The office board (督办台): who may open it, a unit's own counts, counts equal the search behind each link."""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from processes.accounts.roles import ROLE_CODES
from processes.cases.models import Case
from processes.runtime.models import ProcessInstance
from processes.runtime.models import TimerJob
from tests.intake_support import dispatch
from tests.intake_support import office_app
from tests.intake_support import office_url
from tests.intake_support import open_case
from tests.intake_support import signed_in
from tests.test_search import at_time
from tests.test_search import numbers
from webapp import runtime_of
from webapp.search import query
from webapp.timefmt import local_time

COUNT_RE = re.compile(r'href="([^"]+)" data-count="([^"]+)">\s*(?:<strong>)?(\d+)')
BOARD_ROLES = {"supervisor", "duty_leader", "leader", "handler"}


@pytest.fixture
def both(db_url: str, office_template: Path, tmp_path: Path) -> Iterator[Flask]:
    yield from office_app(office_url(db_url, office_template, tmp_path))


def board(client: FlaskClient, **filters: str) -> dict[str, tuple[int, str]]:
    """The board's counts by name (light-red, department-sthj-total …) with their drill-down links."""
    response = client.get("/monitor", query_string=filters)
    assert response.status_code == 200
    return {name: (int(n), htmllib.unescape(url)) for url, name, n in COUNT_RE.findall(response.get_data(as_text=True))}


def listed(client: FlaskClient, url: str) -> tuple[int, set[str]]:
    """The total and the case numbers the search shows behind a link."""
    response = client.get(url)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    total = re.search(r"共 (\d+) 件", page)
    return (int(total.group(1)) if total else 0), numbers(page)


def scenario(app: Flask) -> dict[str, str]:
    """Cases in three units and one not dispatched, some then overdue (the clock moves on)."""
    at_time(app, "2026-11-20T10:00:00")
    late = [open_case(app, category="噪音扰民", township="beiao") for _ in range(2)]
    dispatch(app, str(late[0].case_id), "sthj")
    dispatch(app, str(late[1].case_id), "zjj")
    at_time(app, "2026-11-25T09:00:00")
    fresh = open_case(app, category="市政设施", township="dongping", urgency="urgent")
    dispatch(app, str(fresh.case_id), "sthj")
    waiting = open_case(app, township="dongping")
    at_time(app, "2026-11-25T10:00:00")
    return {"late_sthj": str(late[0].case_number), "late_zjj": str(late[1].case_number),
            "fresh_sthj": str(fresh.case_number), "waiting": str(waiting.case_number)}


def test_every_role_may_or_may_not_open_the_board(both: Flask) -> None:
    for role in sorted(ROLE_CODES):
        unit = {"handler": "sthj", "township_reporter": "luxi"}.get(role)
        client = signed_in(both, f"u-{role}", role, department=unit)
        expected = 200 if role in BOARD_ROLES else 403
        assert client.get("/monitor").status_code == expected, role
        assert client.get("/monitor/counts", headers={"X-Background-Refresh": "1"}).status_code == expected, role


def test_counts_equal_the_search_behind_each_link_and_a_unit_sees_its_own(both: Flask) -> None:
    cases = scenario(both)
    supervisor = signed_in(both, "sup1", "supervisor")
    counts = board(supervisor)
    assert sum(counts[f"light-{light}"][0] for light in ("overdue", "red", "yellow", "green", "none")) == 4
    assert counts["light-overdue"][0] >= 2  # registered five days ago, never signed for in time
    for name, (n, url) in counts.items():
        total, shown = listed(supervisor, url)
        assert total == n == len(shown), name
    _, overdue = listed(supervisor, counts["light-overdue"][1])
    assert {cases["late_sthj"], cases["late_zjj"]} <= overdue
    assert counts["department-sthj-total"][0] == 2
    assert listed(supervisor, counts["department-sthj-total"][1])[1] == {cases["late_sthj"], cases["fresh_sthj"]}
    assert counts["department---total"][0] == 1  # not yet dispatched (未派单)
    assert listed(supervisor, counts["department---total"][1])[1] == {cases["waiting"]}

    unit = signed_in(both, "h-sthj", "handler", department="sthj")
    mine = board(unit)
    assert sum(n for name, (n, _) in mine.items() if name.startswith("light-")) == 2
    assert not any(name.startswith("department-zjj") for name in mine)
    for name, (n, url) in mine.items():
        total, shown = listed(unit, url)
        assert total == n == len(shown), name
        assert shown <= {cases["late_sthj"], cases["fresh_sthj"]}, name

    filtered = board(supervisor, township="dongping")
    assert sum(n for name, (n, _) in filtered.items() if name.startswith("light-")) == 2
    assert listed(supervisor, filtered["department-sthj-total"][1])[1] == {cases["fresh_sthj"]}


def test_search_filters_by_light_and_sorts_by_deadline(both: Flask) -> None:
    cases = scenario(both)
    client = signed_in(both, "sup1", "supervisor")
    page = client.get("/search", query_string={"status": "open", "sort": "deadline"}).get_data(as_text=True)
    order = sorted(cases.values(), key=page.find)
    assert order.index(cases["late_sthj"]) < order.index(cases["fresh_sthj"])
    overdue = client.get("/search", query_string={"light": "overdue"}).get_data(as_text=True)
    assert {cases["late_sthj"], cases["late_zjj"]} <= numbers(overdue)
    assert cases["fresh_sthj"] not in numbers(overdue) or "超期" in overdue


@pytest.mark.parametrize("args", [{"light": "purple"}, {"channel": "fax"}, {"department": "nobody"},
                                  {"date_from": "2026-13-01"}, {"urgency": "x"}, {"request_type": "<b>"},
                                  {"date_from": "2026-11-26", "date_to": "2026-11-01"}])
def test_bad_filter_values_answer_400(both: Flask, args: dict[str, str]) -> None:
    client = signed_in(both, "sup1", "supervisor")
    assert client.get("/monitor", query_string=args).status_code == 400
    assert client.get("/monitor/counts", query_string=args).status_code == 400


def test_search_refuses_a_bad_light_sort_or_stage(both: Flask) -> None:
    client = signed_in(both, "sup1", "supervisor")
    for args in ({"light": "purple"}, {"sort": "random"}, {"stage": "a b"}, {"due": "never"}):
        assert client.get("/search", query_string=args).status_code == 400, args


def cells(client: FlaskClient, attribute: str, **filters: str) -> dict[str, str]:
    """A board cell's text by its line (data-next-timer="department-sthj" …), tags and spaces removed."""
    page = client.get("/monitor", query_string=filters).get_data(as_text=True)
    found = re.findall(rf'<td class="when" {attribute}="([^"]+)">(.*?)</td>', page, re.S)
    return {key: " ".join(re.sub(r"<[^>]+>", " ", text).split()) for key, text in found}


def line_order(client: FlaskClient, **filters: str) -> list[str]:
    """The lead-unit lines of the board in the order shown."""
    page = client.get("/monitor", query_string=filters).get_data(as_text=True)
    return re.findall(r'data-first-due="department-([^"]+)"', page)


def test_each_line_shows_its_next_timer_and_most_urgent_deadline(both: Flask) -> None:
    cases = scenario(both)
    with runtime_of(both).read() as db:  # every pending timer of the open cases, grouped here in Python
        rows = db.execute(sa.select(Case.lead_department, TimerJob.due_at)
                          .join(ProcessInstance, ProcessInstance.case_id == Case.id)
                          .join(TimerJob, TimerJob.instance_id == ProcessInstance.id)
                          .where(TimerJob.status == "pending", TimerJob.kind == "timer")).all()
    expected: dict[str, datetime] = {}
    for unit, due in rows:
        key = unit or "-"
        expected[key] = min(due, expected.get(key, due))
    assert expected, "the scenario's cases wait on timers (签收超时 and the like)"
    client = signed_in(both, "sup1", "supervisor")
    shown = cells(client, "data-next-timer")
    for unit in ("sthj", "zjj", "-"):
        due = expected.get(unit)
        text = shown[f"department-{unit}"]
        assert (local_time(due) in text) if due else text == "", unit
    first_due = cells(client, "data-first-due")
    assert "超期" in first_due["department-sthj"]  # late_sthj, registered five days ago and never signed for
    assert "剩余" in first_due["department--"] or "超期" in first_due["department--"]  # waiting, not dispatched
    assert len(cases) == 4
    earliest = min(expected.values())
    page = client.get("/monitor").get_data(as_text=True)
    assert f'<span data-next-timer="all">{local_time(earliest)}</span>' in page


def test_lines_sort_by_count_or_by_most_urgent_deadline(both: Flask) -> None:
    scenario(both)
    client = signed_in(both, "sup1", "supervisor")
    assert line_order(client) == ["sthj", "-", "zjj"]  # two cases first; then by name, 未派单 before 区住建局
    with runtime_of(both).read() as db:
        dues = {str(unit or "-"): due for unit, due in db.execute(
            sa.select(Case.lead_department, sa.func.min(query.due_expr())).group_by(Case.lead_department))}
    assert dues["sthj"] == dues["zjj"] < dues["-"]  # both late cases were dispatched at the same moment
    assert line_order(client, sort="deadline") == ["sthj", "zjj", "-"]  # a tie goes to the line with more cases
    assert client.get("/monitor", query_string={"sort": "random"}).status_code == 400


def test_source_platform_filter_on_the_board_and_in_the_search(both: Flask) -> None:
    cases = scenario(both)
    platform = open_case(both, "case_platform", "platform", upstream_order_id="ZJ2026112500999",
                         township="dongping", category="城市管理")
    police = open_case(both, "case_110", "police110", upstream_order_id="110-20261125-0099", township="beiao",
                       urgency="urgent", category="噪音扰民")
    client = signed_in(both, "sup1", "supervisor")
    expected = {"mhww": {str(platform.case_number)}, "police110": {str(police.case_number)},
                "local": set(cases.values())}
    for source, numbers_ in expected.items():
        counts = board(client, source=source)
        assert sum(n for name, (n, _) in counts.items() if name.startswith("light-")) == len(numbers_), source
        for name, (n, url) in counts.items():
            assert "source=" + source in url, name
            total, shown = listed(client, url)
            assert total == n == len(shown) and shown <= numbers_, name
        _, found = listed(client, f"/search?status=open&source={source}")
        assert found == numbers_, source
    assert client.get("/monitor", query_string={"source": "fax"}).status_code == 400
    assert client.get("/search", query_string={"source": "fax"}).status_code == 400
