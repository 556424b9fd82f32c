"""hotline_case.effective_due (有效时限) follows every command and writer; the drill-down pages open cases by it."""

from __future__ import annotations

import html
import re
from datetime import datetime
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from processes.cases.models import Case
from processes.runtime import assignment
from processes.runtime import commands
from processes.runtime import control
from processes.runtime.models import TimerJob
from tests.workspace_support import Workspace
from webapp.search import query

ROW_NUMBER = re.compile(r'href="/cases/[^"]+">(DT\d{8}-\d+)</a>')


def stored(ws: Workspace, case: commands.Started) -> tuple[datetime | None, datetime | None]:
    """The stored effective deadline and the earliest of the three it is made of, read afresh."""
    found = ws.office.case(case)
    parts = [d for d in (found.deadline, found.open_task_due, found.upstream_deadline) if d is not None]
    return found.effective_due, min(parts) if parts else None


def test_kept_through_dispatch_claim_sign_for_reschedule_and_terminate(ws: Workspace) -> None:
    office = ws.office
    case = ws.case()
    kept, truth = stored(ws, case)
    assert kept == truth and kept is not None  # triage's own deadline
    office.complete(case, "triage", {"request_type": "complaint", "urgency": "normal", "triage_result": "dispatch"})
    office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "sthj"})
    sign = office.task(case, "sign_for")
    assert sign.due_at is not None and stored(ws, case)[0] == stored(ws, case)[1]
    assignment.claim(office.rt, case.instance_id, sign.id, actor="h1")
    assert stored(ws, case)[0] == stored(ws, case)[1]
    office.complete(case, "sign_for", {"sign_decision": "sign"}, department="sthj", actor="h1")
    reply = office.task(case, "reply")
    assert reply.due_at is not None and stored(ws, case)[0] == stored(ws, case)[1]
    with office.rt.read() as db:
        red = db.scalar(sa.select(TimerJob.task_id).where(
            TimerJob.instance_id == case.instance_id, TimerJob.bpmn_id == "red_timer", TimerJob.status == "pending"))
    assert red is not None
    moved = reply.due_at + timedelta(days=3)
    control.reschedule_timers(office.rt, case.instance_id, actor="sup", reason="延期", new_due={red: moved})
    kept, truth = stored(ws, case)
    assert kept == truth and kept is not None
    control.terminate(office.rt, case.instance_id, actor="sup", reason="终止")
    assert stored(ws, case)[0] == stored(ws, case)[1]


def test_kept_when_any_writer_moves_the_case_or_upstream_deadline(ws: Workspace) -> None:
    case = ws.dispatched("sthj")
    own = ws.office.case(case).open_task_due
    assert own is not None
    earlier, later = own - timedelta(hours=5), own + timedelta(days=9)
    for values, expected in (({"deadline": earlier}, earlier), ({"deadline": later, "upstream_deadline": None}, own),
                             ({"upstream_deadline": earlier - timedelta(hours=1)}, earlier - timedelta(hours=1)),
                             ({"deadline": None, "upstream_deadline": None, "open_task_due": None}, None)):
        with ws.office.rt.write() as db, db.begin():  # as a handler or the upstream import would write it
            db.execute(sa.update(Case).where(Case.id == case.case_id).values(**values))
        assert stored(ws, case)[0] == expected, values


def test_the_drill_down_lists_open_cases_by_effective_deadline_none_last(ws: Workspace) -> None:
    cases = [ws.dispatched("sthj") for _ in range(4)]
    base = ws.office.case(cases[0]).open_task_due
    assert base is not None
    plan = [base + timedelta(hours=30), None, base - timedelta(hours=2), base + timedelta(hours=1)]
    with ws.office.rt.write() as db, db.begin():
        for case, due in zip(cases, plan, strict=True):
            db.execute(sa.update(Case).where(Case.id == case.case_id).values(
                deadline=due, open_task_due=due, upstream_deadline=None))
    expected = [str(cases[i].case_number) for i in (2, 3, 0, 1)]
    supervisor = ws.user("order-sup", "supervisor")
    page = supervisor.get("/search?status=open&sort=deadline&department=sthj").get_data(as_text=True)
    assert [n for n in ROW_NUMBER.findall(page) if n in expected] == expected
    newest_first = supervisor.get("/search?status=open&department=sthj").get_data(as_text=True)
    assert [n for n in ROW_NUMBER.findall(newest_first) if n in expected] == [str(c.case_number) for c in cases][::-1]


AFTER = re.compile(r'name="after" value="([^"]+)"')


def test_the_drill_down_pages_by_cursor_in_the_same_order_without_gaps(ws: Workspace, monkeypatch: Any) -> None:
    monkeypatch.setattr(query, "PAGE_SIZE", 3)
    cases = [ws.dispatched("sthj") for _ in range(10)]
    base = ws.office.case(cases[0]).open_task_due
    assert base is not None
    plan = [base, None, base - timedelta(hours=2), base, None, base + timedelta(hours=1), base, None,
            base - timedelta(hours=2), base + timedelta(days=2)]  # ties on the deadline, and cases without one
    with ws.office.rt.write() as db, db.begin():
        for case, due in zip(cases, plan, strict=True):
            db.execute(sa.update(Case).where(Case.id == case.case_id).values(
                deadline=due, open_task_due=due, upstream_deadline=None))
    with ws.office.rt.read() as db:  # the order the list had with page numbers: the whole rows sorted
        expected = list(db.scalars(sa.select(Case.number).where(Case.lead_department == "sthj", query.open_case())
                                   .order_by(Case.effective_due.asc().nulls_last(), Case.created_at.desc(),
                                             Case.number.desc())))
    assert len(expected) == 10
    supervisor, shown, pages = ws.user("keyset-sup", "supervisor"), [], []
    address: dict[str, str] = {"status": "open", "sort": "deadline", "department": "sthj"}
    while True:
        page = supervisor.get("/search", query_string=address).get_data(as_text=True)
        shown += ROW_NUMBER.findall(page)
        pages.append(re.search(r"第 (\d+) / (\d+) 页", page).group(1))  # type: ignore[union-attr]
        cursor = AFTER.search(page)
        if cursor is None:
            break
        address["after"] = html.unescape(cursor.group(1))
    assert shown == expected and pages == ["1", "2", "3", "4"]  # same cases, same order, none twice, none missed
    by_number = supervisor.get("/search", query_string={**address, "after": "", "page": "3"}).get_data(as_text=True)
    assert ROW_NUMBER.findall(by_number) == expected[6:9]  # a page number still reads the same page
    for bad in ("x", "2~yesterday~now~DT1", "0~~2026-11-25T01:00:00+00:00~DT1", "2~~2026-11-25T01:00:00~DT1"):
        response = supervisor.get("/search", query_string={**address, "after": bad})
        assert response.status_code == 200  # a bad cursor is the first page, never an error
        assert ROW_NUMBER.findall(response.get_data(as_text=True)) == expected[:3]
