"""Casework, report, deadline-lookup and outbox handlers called as plain functions on a real database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from sqlalchemy.orm import Session

from handlers import REGISTRY
from handlers import HandlerContext
from handlers import HandlerError
from handlers import cases
from handlers import casework
from handlers import deadlines
from handlers import notify
from handlers import reports
from processes.cases.models import Case
from processes.cases.models import Requester
from processes.cases.personal import encrypt_requester
from processes.db.engines import create_db_engine
from processes.reference.models import CaseDeadline
from processes.runtime.models import OutboxMessage

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # Wednesday 09:00 Asia/Shanghai
DAY = timedelta(days=1)


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    """A session on a fresh database with one case `c1` of requester `r1`, upstream order UP-1."""
    engine = create_db_engine(db_url)
    with Session(engine) as session:
        session.add_all([Requester(id=f"r{i}", created_at=NOW, **encrypt_requester({"phone": phone}))
                         for i, phone in ((1, "13800000001"), (2, "13800000001"), (3, "13900000003"))])
        session.flush()
        add(session, "c1", requester_id="r1", upstream_order_id="UP-1")
        session.commit()
        yield session
    engine.dispose()


def add(session: Session, case_id: str, **values: Any) -> None:
    """Add a case numbered after its id (open, phone, created and updated at NOW unless overridden)."""
    session.add(Case(**{"id": case_id, "number": f"N-{case_id}", "channel": "phone", "created_at": NOW,
                        "updated_at": NOW, **values}))
    session.flush()


def ctx(session: Session, case_id: str | None = "c1", now: datetime = NOW) -> HandlerContext:
    """A handler context of instance i1, task t1."""
    return HandlerContext(session, "i1", case_id, "tester", now, "task", "t1")


def stored(session: Session, case_id: str = "c1") -> Case:
    """The case row as the database has it."""
    session.flush()
    session.expire_all()
    row = session.get(Case, case_id)
    assert row is not None
    return row


def test_the_handlers_are_registered_with_chinese_labels() -> None:
    for operator in ("case.flag", "case.find_duplicates", "case.merge", "case.redispatch", "case.set_urgency",
                     "report.cycle", "report.compile_upward", "deadline.current", "outbox.send"):
        assert REGISTRY[operator].label_zh


def test_flag_merges_flags_and_refuses_unknown_flags_or_values(session: Session) -> None:
    assert casework.flag(ctx(session), "doubtful") == {"flag": "doubtful", "value": True}
    assert casework.flag(ctx(session), "callback_result", "x" * 32)["value"] == "x" * 32
    casework.flag(ctx(session, now=NOW + DAY), "unreachable", False)
    row = stored(session)
    assert row.flags == {"doubtful": True, "callback_result": "x" * 32, "unreachable": False}
    assert row.updated_at == NOW + DAY
    for name, value, message in (("merged", True, "unknown flag 'merged'"), ("", True, "unknown flag"),
                                 ("doubtful", "x" * 33, "true/false or a short code"),
                                 ("doubtful", 1, "true/false or a short code"),
                                 ("doubtful", None, "true/false or a short code")):
        with pytest.raises(HandlerError, match=message):
            casework.flag(ctx(session), name, value)
    with pytest.raises(HandlerError, match="no case"):
        casework.flag(ctx(session, None), "doubtful")
    assert stored(session).flags["doubtful"] is True


def test_find_duplicates_by_phone_or_upstream_order_open_and_recent_only(session: Session) -> None:
    add(session, "same_phone", requester_id="r2", created_at=NOW - DAY)
    add(session, "same_requester", requester_id="r1", created_at=NOW - 2 * DAY, status="dispatched")
    add(session, "same_order", requester_id="r3", upstream_order_id="UP-1", created_at=NOW - 3 * DAY)
    add(session, "edge", requester_id="r1", created_at=NOW - 30 * DAY)
    add(session, "too_old", requester_id="r1", created_at=NOW - 30 * DAY - timedelta(seconds=1))
    add(session, "stranger", requester_id="r3", upstream_order_id="UP-2")
    for status in casework.FINISHED:
        add(session, f"done_{status}", requester_id="r2", upstream_order_id="UP-1", status=status)
    assert casework.find_duplicates(ctx(session)) == {
        "count": 4, "numbers": ["N-same_phone", "N-same_requester", "N-same_order", "N-edge"]}


def test_find_duplicates_without_phone_or_order_and_at_most_ten(session: Session) -> None:
    add(session, "bare")
    assert casework.find_duplicates(ctx(session, "bare")) == {"count": 0, "numbers": []}
    for i in range(12):
        add(session, f"d{i:02}", upstream_order_id="UP-9", created_at=NOW - i * timedelta(hours=1))
    result = casework.find_duplicates(ctx(session, "d11"))
    assert result == {"count": 10, "numbers": [f"N-d{i:02}" for i in range(10)]}
    with pytest.raises(HandlerError, match="no case"):
        casework.find_duplicates(ctx(session, "missing"))


def test_merge_refuses_unknown_self_and_finished_targets(session: Session) -> None:
    add(session, "closed", status="closed")
    add(session, "merged", status="merged")
    for into, message in (("N-nope", "no other case numbered 'N-nope'"), ("", "no other case"),
                          ("N-c1", "no other case numbered 'N-c1'"),
                          ("N-closed", r"already finished \(closed\)"), ("N-merged", r"already finished \(merged\)")):
        with pytest.raises(HandlerError, match=message):
            casework.merge(ctx(session), into)
    row = stored(session)
    assert (row.status, row.duplicate_of) == ("registered", None)


def test_merge_ends_the_case_as_merged_pointing_at_the_target(session: Session) -> None:
    add(session, "target", status="dispatched")
    assert casework.merge(ctx(session, now=NOW + DAY), "N-target") == {"merged_into": "N-target"}
    row = stored(session)
    assert (row.status, row.duplicate_of, row.updated_at) == ("merged", "target", NOW + DAY)
    assert stored(session, "target").status == "dispatched"


def dispatched(session: Session) -> None:
    """Put c1 on lead L with assisting A and B, status returned."""
    cases.dispatch(ctx(session), "L", ["A", "B"])
    cases.set_status(ctx(session), "returned")


def test_redispatch_replaces_the_lead_or_an_assisting_unit(session: Session) -> None:
    dispatched(session)
    assert casework.redispatch(ctx(session), "L", "N") == {"unit": "N", "lead": "N"}
    row = stored(session)
    assert (row.lead_department, row.assisting_departments, row.status) == ("N", ["A", "B"], "dispatched")
    cases.set_status(ctx(session), "returned")
    assert casework.redispatch(ctx(session), "A", "C") == {"unit": "C", "lead": "N"}
    row = stored(session)
    assert (row.lead_department, row.assisting_departments, row.status) == ("N", ["C", "B"], "dispatched")


def test_redispatch_refuses_units_not_on_the_case_and_bad_new_units(session: Session) -> None:
    dispatched(session)
    with pytest.raises(HandlerError, match="'X' does not handle this case"):
        casework.redispatch(ctx(session), "X", "Y")
    for old, new in (("A", "A"), ("L", "L"), ("A", ""), ("A", "  "), ("A", "单" * 65), ("A", None)):
        with pytest.raises(HandlerError, match="must be named and differ"):
            casework.redispatch(ctx(session), old, new)  # type: ignore[arg-type]
    row = stored(session)
    assert (row.lead_department, row.assisting_departments, row.status) == ("L", ["A", "B"], "returned")


@pytest.mark.parametrize(("old", "new"), [("A", "B"), ("A", "L"), ("L", "A")])
def test_redispatch_never_puts_a_unit_on_the_case_twice(session: Session, old: str, new: str) -> None:
    """Like case.dispatch, the lead is not among the assisting units and none repeats (or it is refused)."""
    dispatched(session)
    try:
        casework.redispatch(ctx(session), old, new)
    except HandlerError:
        return
    row = stored(session)
    units = [row.lead_department, *row.assisting_departments]
    assert len(units) == len(set(units)), f"{old}→{new} left {units}"


def test_set_urgency_accepts_only_known_values(session: Session) -> None:
    assert casework.set_urgency(ctx(session), "critical") == {"urgency": "critical"}
    assert stored(session).urgency == "critical"
    for bad in ("high", "", "URGENT"):
        with pytest.raises(HandlerError, match="unknown urgency"):
            casework.set_urgency(ctx(session), bad)
    assert stored(session).urgency == "critical"


@pytest.mark.parametrize(("now", "first"), [
    (NOW, "2026-11-30T09:00:00+08:00"),  # Wednesday
    (datetime(2026, 11, 30, 0, 59, tzinfo=UTC), "2026-11-30T09:00:00+08:00"),  # Monday 08:59
    (datetime(2026, 11, 30, 1, 0, tzinfo=UTC), "2026-12-07T09:00:00+08:00"),  # Monday 09:00
    (datetime(2026, 11, 29, 20, 0, tzinfo=UTC), "2026-11-30T09:00:00+08:00"),  # Sunday in UTC, Monday 04:00 local
])
def test_cycle_starts_next_monday_nine_in_shanghai(session: Session, now: datetime, first: str) -> None:
    result = reports.cycle(ctx(session, now=now))
    assert result == {"cycle": f"R/{first}/P7D", "first": first, "period_days": 7}
    cycles, start, duration = TimerEventDefinition.parse_iso_recurring_interval(result["cycle"])
    assert (cycles, start, duration) == (-1, datetime.fromisoformat(first), timedelta(days=7))


def test_cycle_takes_period_weekday_and_hour_within_bounds(session: Session) -> None:
    result = reports.cycle(ctx(session), period_days=14, weekday=2, hour=17)  # Wednesday 17:00, later today
    assert result["cycle"] == "R/2026-11-25T17:00:00+08:00/P14D"
    assert reports.cycle(ctx(session), 31, 6, 23)["first"] == "2026-11-29T23:00:00+08:00"
    assert reports.cycle(ctx(session), 1, 2, 0)["first"] == "2026-12-02T00:00:00+08:00"
    for period, weekday, hour in ((0, 0, 9), (32, 0, 9), (7, -1, 9), (7, 7, 9), (7, 0, -1), (7, 0, 24)):
        with pytest.raises(HandlerError, match="period 1-31 days, weekday 0-6, hour 0-23"):
            reports.cycle(ctx(session), period, weekday, hour)


def test_compile_upward_lists_the_window_s_consult_doubtful_and_satisfied_cases(session: Session) -> None:
    inside = NOW - DAY
    add(session, "consult1", request_type="consult", status="closed", updated_at=inside)
    add(session, "consult2", request_type="consult", status="answered", updated_at=NOW - 7 * DAY)
    add(session, "consult_open", request_type="consult", status="dispatched", updated_at=inside)
    add(session, "consult_old", request_type="consult", status="closed", updated_at=NOW - 8 * DAY)
    add(session, "consult_now", request_type="consult", status="closed", updated_at=NOW)
    add(session, "doubt", request_type="complaint", status="archived", flags={"doubtful": True}, updated_at=inside)
    add(session, "doubt_no", status="closed", flags={"doubtful": False}, updated_at=inside)
    add(session, "doubt_old", status="closed", flags={"doubtful": True}, updated_at=NOW - 9 * DAY)
    add(session, "sat", status="published", flags={"callback_result": "satisfied"}, updated_at=inside)
    add(session, "sat_basic", status="closed", flags={"callback_result": "basically_satisfied"}, updated_at=inside)
    add(session, "sat_no", status="closed", flags={"callback_result": "unsatisfied"}, updated_at=inside)
    add(session, "sat_open", status="callback", flags={"callback_result": "satisfied"}, updated_at=inside)
    result = reports.compile_upward(ctx(session))
    assert result == {"period_from": (NOW - 7 * DAY).isoformat(), "period_to": NOW.isoformat(),
                      "consult": ["N-consult1", "N-consult2"], "doubtful": ["N-doubt"],
                      "satisfied": ["N-sat", "N-sat_basic"], "counts": {"consult": 2, "doubtful": 1, "satisfied": 2}}
    wider = reports.compile_upward(ctx(session), days=10)
    assert (wider["consult"], wider["doubtful"]) == (["N-consult1", "N-consult2", "N-consult_old"],
                                                     ["N-doubt", "N-doubt_old"])
    for days in (0, 93):
        with pytest.raises(HandlerError, match="days must be a whole number 1-92"):
            reports.compile_upward(ctx(session), days)


def deadline_row(instance_id: str, stage: str, unit: str, due: datetime) -> CaseDeadline:
    """A stored deadline row due at `due`, warned six hours before."""
    return CaseDeadline(case_id="c1", instance_id=instance_id, stage=stage, unit=unit, start_at=NOW, due_at=due,
                        warn_at=due - timedelta(hours=6), notice_at=None, rule="handle/*/*/*: 5 workdays",
                        extension_days=2, capped=True, calendar_warning="no 2027 notice", updated_at=NOW)


def test_deadline_current_returns_the_stored_row_in_shanghai_time(session: Session) -> None:
    due = datetime(2026, 12, 2, 15, 59, 59, tzinfo=UTC)
    session.add_all([deadline_row("i1", "handle", "", due), deadline_row("i1", "handle", "D01", due + DAY),
                     deadline_row("other", "sign_for", "", due)])
    session.flush()
    assert deadlines.current_handler(ctx(session), "handle") == {
        "due": "2026-12-02T23:59:59+08:00", "warn_at": "2026-12-02T17:59:59+08:00", "notice_at": None,
        "capped": True, "calendar_warning": "no 2027 notice", "rule": "handle/*/*/*: 5 workdays",
        "start": "2026-11-25T09:00:00+08:00", "extension_days": 2}
    assert deadlines.current_handler(ctx(session), "handle", "D01")["due"] == "2026-12-03T23:59:59+08:00"
    with pytest.raises(HandlerError, match="no handle deadline was computed for D02"):
        deadlines.current_handler(ctx(session), "handle", "D02")
    with pytest.raises(HandlerError, match="no sign_for deadline was computed for the case"):
        deadlines.current_handler(ctx(session), "sign_for")  # only another instance has one


def test_outbox_send_stores_the_body_in_the_payload(session: Session) -> None:
    body = {"consult": ["N-1", "N-2"], "counts": {"consult": 2}}
    assert notify.send(ctx(session), "upstream", "report", "province", body) == {
        "queued": True, "channel": "upstream", "kind": "report"}
    assert notify.send(ctx(session), "sms", "notice", "D01") == {"queued": True, "channel": "sms", "kind": "notice"}
    assert notify.send(ctx(session), "upstream", "report", "province", body)["queued"] is False  # same task
    rows = {m.kind: m for m in session.scalars(sa.select(OutboxMessage))}
    report, notice = rows["report"].payload, rows["notice"].payload
    assert (report["schema"], report["v"], report["target"], report["case_id"], report["body"]) == (
        "hotline.outbox.upstream", 1, "province", "c1", body)
    assert (notice["schema"], notice["target"], notice["case_number"], notice["to"]["name"]) == (
        "hotline.outbox.sms", "D01", "N-c1", "D01")  # a unit missing from the reference table keeps its code
    assert rows["report"].idempotency_key == "i1:t1:upstream:report"


def test_outbox_send_refuses_a_body_that_is_not_an_object(session: Session) -> None:
    for body in (["N-1"], "N-1", 3):
        with pytest.raises(HandlerError, match="body must be an object"):
            notify.send(ctx(session), "upstream", "report", "province", body)  # type: ignore[arg-type]
    assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_dispatch_deduplicates_assisting_units_and_drops_the_lead(session: Session) -> None:
    result = cases.dispatch(ctx(session), "L", ["A", "L", "B", "A"])
    assert result == {"department": "L", "assisting": ["A", "B"], "units": ["L", "A", "B"], "status": "dispatched"}
    row = stored(session)
    assert (row.lead_department, row.assisting_departments, row.status) == ("L", ["A", "B"], "dispatched")
    eight = [f"U{i}" for i in range(8)]
    assert cases.dispatch(ctx(session), "L", eight)["assisting"] == eight
    assert cases.dispatch(ctx(session), "L")["assisting"] == []
    assert stored(session).assisting_departments == []


def test_dispatch_refuses_more_than_eight_or_bad_assisting_units(session: Session) -> None:
    for assisting in ([f"U{i}" for i in range(9)], "A,B", ("A",)):
        with pytest.raises(HandlerError, match="a list of at most 8"):
            cases.dispatch(ctx(session), "L", assisting)  # type: ignore[arg-type]
    for bad in ("", " ", "单" * 65, 7):
        with pytest.raises(HandlerError, match="department must be a name"):
            cases.dispatch(ctx(session), "L", ["A", bad])  # type: ignore[list-item]
    assert (stored(session).lead_department, stored(session).status) == (None, "registered")
