"""Case handlers (工单处理函数) called as plain functions with a hand-made context on a real database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest
from sqlalchemy.orm import Session

from handlers import REGISTRY
from handlers import HandlerContext
from handlers import HandlerError
from handlers import cases
from processes.cases.models import Case
from processes.db.engines import create_db_engine

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    """A session on a fresh database with one case row."""
    engine = create_db_engine(db_url)
    with Session(engine) as session:
        session.add(Case(id="c1", number="DT20261125-0001", channel="phone", created_at=NOW, updated_at=NOW))
        session.commit()
        yield session
    engine.dispose()


def ctx(session: Session, case_id: str | None = "c1") -> HandlerContext:
    """A handler context at NOW."""
    return HandlerContext(session, "i1", case_id, "tester", NOW)


def case(session: Session) -> Case:
    """The case row as stored."""
    session.expire_all()
    row = session.get(Case, "c1")
    assert row is not None
    return row


def test_the_new_handlers_are_registered_with_chinese_labels() -> None:
    for operator in ("case.set_status", "case.dispatch", "case.count", "case.set_warning", "case.deadline"):
        assert REGISTRY[operator].label_zh


def test_dispatch_records_the_lead_department(session: Session) -> None:
    assert cases.dispatch(ctx(session), "区住建局") == {
        "department": "区住建局", "assisting": [], "units": ["区住建局"], "status": "dispatched"}
    assert (case(session).lead_department, case(session).status) == ("区住建局", "dispatched")
    for bad in ("", "  ", "单" * 65):
        with pytest.raises(HandlerError):
            cases.dispatch(ctx(session), bad)


def test_count_adds_one_to_the_named_counter(session: Session) -> None:
    assert cases.count(ctx(session), "return") == {"counter": "return", "value": 1}
    assert cases.count(ctx(session), "return") == {"counter": "return", "value": 2}
    assert cases.count(ctx(session), "rehandle")["value"] == 1
    row = case(session)
    assert (row.return_count, row.rehandle_count, row.extension_count) == (2, 1, 0)
    with pytest.raises(HandlerError, match="unknown counter"):
        cases.count(ctx(session), "status")
    with pytest.raises(HandlerError, match="no case"):
        cases.count(ctx(session, None), "return")


def test_set_warning_accepts_only_the_traffic_lights(session: Session) -> None:
    assert cases.set_warning(ctx(session), "yellow") == {"level": "yellow"}
    assert case(session).warning_level == "yellow"
    with pytest.raises(HandlerError):
        cases.set_warning(ctx(session), "orange")


def test_set_status_refuses_unknown_statuses(session: Session) -> None:
    cases.set_status(ctx(session), "closed")
    assert case(session).status == "closed"
    with pytest.raises(HandlerError):
        cases.set_status(ctx(session), "done")


def test_deadline_warns_when_a_quarter_is_left_and_resets_the_light(session: Session) -> None:
    cases.set_warning(ctx(session), "red")
    result = cases.deadline(ctx(session), 24)
    assert result == {"due": (NOW + timedelta(hours=24)).isoformat(),
                      "warn_at": (NOW + timedelta(hours=18)).isoformat(), "capped": False}
    assert (case(session).deadline, case(session).warning_level) == (NOW + timedelta(hours=24), "none")


def test_deadline_is_capped_by_the_upstream_deadline(session: Session) -> None:
    upstream = (NOW + timedelta(hours=8)).astimezone(timezone(timedelta(hours=8)))
    result = cases.deadline(ctx(session), 120, upstream.isoformat())
    assert datetime.fromisoformat(result["due"]) == upstream
    assert datetime.fromisoformat(result["warn_at"]) == NOW + timedelta(hours=6)
    assert result["capped"] is True
    past = cases.deadline(ctx(session), 2, (NOW - timedelta(hours=1)).isoformat())
    assert past["warn_at"] == past["due"]  # already overdue: no yellow phase
    for bad in ("2026-11-30T12:00:00", "tomorrow"):
        with pytest.raises(HandlerError):
            cases.deadline(ctx(session), 2, bad)
    with pytest.raises(HandlerError, match="number"):
        cases.deadline(ctx(session), "soon")  # type: ignore[arg-type]


def test_a_status_change_goes_into_the_case_history_once(session: Session) -> None:
    events: list[tuple[str, dict[str, object]]] = []
    recording = replace(ctx(session), task_bpmn_id="mark_closed", history=lambda kind, **d: events.append((kind, d)))
    cases.set_status(recording, "closed")
    cases.set_status(recording, "closed")  # no change, no second step
    cases.dispatch(recording, "sthj")
    assert events == [("status_changed", {"bpmn_id": "mark_closed", "status": "closed", "previous": "registered"}),
                      ("status_changed", {"bpmn_id": "mark_closed", "status": "dispatched", "previous": "closed"})]
    assert cases.set_status(ctx(session), "accepted") == {"status": "accepted"}  # 已受理: waiting for 派单
