"""The instance list (流程实例): who may open it, a unit's own instances, filters, keyset paging, no snapshots."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from processes.accounts.roles import ROLE_CODES
from processes.cases.access import Viewer
from processes.monitoring import instances
from tests.workspace_support import Workspace
from tests.workspace_support import text
from webapp import runtime_of

ROW = re.compile(r'data-instance="([0-9a-f-]{36})"')
LIST_ROLES = {"supervisor", "duty_leader", "leader", "handler"}


def shown(page: str) -> list[str]:
    """Instance ids of the rows on a list page, in order."""
    return ROW.findall(page)


def test_who_may_open_the_instance_list(ws: Workspace) -> None:
    for role in sorted(ROLE_CODES):
        unit = {"handler": "sthj", "township_reporter": "luxi"}.get(role)
        client = ws.user(f"il-{role}", role, department=unit)
        assert client.get("/monitor/instances").status_code == (200 if role in LIST_ROLES else 403), role


def test_office_sees_every_instance_a_unit_only_its_own(ws: Workspace) -> None:
    mine, other, fresh = ws.dispatched("sthj"), ws.dispatched("zjj"), ws.case()
    office = text(ws.user("il-sup", "supervisor").get("/monitor/instances"))
    assert {mine.instance_id, other.instance_id, fresh.instance_id} <= set(shown(office))
    assert str(mine.case_number) in office
    unit = text(ws.user("il-h", "handler", department="sthj").get("/monitor/instances"))
    assert shown(unit) == [mine.instance_id]
    by_number = ws.clients["il-h"].get("/monitor/instances", query_string={"number": str(other.case_number)})
    assert by_number.status_code == 200 and shown(text(by_number)) == []  # another unit's case: nothing, no hint


def test_filters_by_status_number_process_version_and_dates(ws: Workspace) -> None:
    first = ws.dispatched("sthj")
    ws.office.clock.advance(days=2)
    second = ws.case()
    client = ws.user("il-sup", "supervisor")

    def ids(**args: str) -> set[str]:
        response = client.get("/monitor/instances", query_string=args)
        assert response.status_code == 200, args
        return set(shown(text(response)))

    assert ids(number=str(second.case_number)) == {second.instance_id}
    assert ids(key="case_phone", version="1") >= {first.instance_id, second.instance_id}
    assert ids(key="case_phone", version="99") == set()
    assert ids(status="running") >= {first.instance_id, second.instance_id}
    assert ids(status="error") == set()
    assert ids(created_from="2026-11-26") == {second.instance_id}  # registered on 11-27 (Beijing)
    assert first.instance_id in ids(created_to="2026-11-25")
    assert second.instance_id not in ids(created_to="2026-11-25")
    assert ids(updated_from="2026-11-27", number=str(first.case_number)) == set()


@pytest.mark.parametrize("args", [{"status": "sleeping"}, {"version": "x"}, {"version": "-1"},
                                  {"created_from": "2026-13-01"}, {"key": "<script>"},
                                  {"updated_from": "2026-11-26", "updated_to": "2026-11-01"},
                                  {"after": "yesterday~abc"}, {"after": "2026-11-25T09:00:00~"}])
def test_bad_filters_answer_400_with_the_field_named(ws_lite: Workspace, args: dict[str, str]) -> None:
    response = ws_lite.user("il-sup", "supervisor").get("/monitor/instances", query_string=args)
    assert response.status_code == 400
    assert "筛选条件不正确" in text(response)


def test_keyset_paging_walks_every_instance_once_without_loading_snapshots(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    started = []
    for _ in range(5):
        started.append(ws.case().instance_id)
        ws.office.clock.advance(minutes=1)
    monkeypatch.setattr(instances, "PAGE_SIZE", 2)
    client = ws.user("il-sup", "supervisor")
    statements: list[tuple[str, Any]] = []

    def capture(*args: Any) -> None:
        statements.append((str(args[2]), args[3]))

    engine = runtime_of(ws.app).db
    sa.event.listen(engine, "before_cursor_execute", capture)
    seen: list[str] = []
    url: str | None = "/monitor/instances?key=case_phone"
    pages = 0
    try:
        while url:
            page = text(client.get(url))
            pages += 1
            seen += shown(page)
            found = re.search(r'href="([^"]+)">下一页', page)
            url = found.group(1).replace("&amp;", "&") if found else None
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    assert seen == list(reversed(started)) and pages == 3  # newest first, each once: 2 + 2 + 1
    listing = [(s, p) for s, p in statements if "FROM process_instance" in s]
    assert listing, statements
    assert not [s for s, _ in listing if "snapshot" in s or "projection" in s]
    # SQLite's dialect writes LIMIT ? OFFSET ? with 0; no page ever skips rows by OFFSET
    assert all(list(p)[-1] == 0 for s, p in listing if re.search(r"\bOFFSET\b", s))


def test_paging_is_stable_when_rows_share_a_creation_time(ws_lite: Workspace) -> None:
    same = {ws_lite.case().instance_id for _ in range(3)}  # the frozen clock: one creation time for all
    viewer = Viewer("il-sup", frozenset({"supervisor"}), None)
    rt = runtime_of(ws_lite.app)
    walked: list[str] = []
    after = ""
    with rt.read() as db:
        for _ in range(5):
            page = instances.search(db, instances.parse({"after": after}), viewer, size=1)
            walked += [row.id for row in page.rows]
            if page.next_after is None:
                break
            after = page.next_after
    assert sorted(walked) == sorted(same) and len(walked) == 3
