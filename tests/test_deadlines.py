"""Deadline handlers (办理时限): rules from the SLA table, the working-day calendar, caps, extensions, storage."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers import REGISTRY
from handlers import HandlerError
from handlers import deadlines
from handlers.reference.store import load
from processes.cases.models import Case
from processes.reference.models import CaseDeadline
from processes.reference.models import Setting
from processes.reference.models import SlaRule
from tests.reference_support import NOTICE_2027
from tests.reference_support import NOTICE_2027_NUMBER
from tests.reference_support import context
from tests.reference_support import seeded_session
from tests.reference_support import shanghai

SPRING = shanghai("2026-02-12T10:00:00")  # Thursday before the 2026 Spring Festival
DECEMBER = shanghai("2026-12-28T10:00:00")  # Monday: five working days reach into 2027


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    """A seeded database with case c1: a phone complaint of normal urgency."""
    with seeded_session(db_url) as session:
        yield session


def case(session: Session) -> Case:
    """The stored case row."""
    session.expire_all()
    row = session.get(Case, "c1")
    assert row is not None
    return row


def set_case(session: Session, **values: object) -> None:
    """Change routing columns of case c1."""
    session.execute(sa.update(Case).where(Case.id == "c1").values(**values))


def test_the_handlers_are_registered() -> None:
    for operator in ("deadline.compute", "deadline.extend", "dispatch.suggest", "duty.assign", "ref.setting"):
        assert REGISTRY[operator].label_zh


def test_handle_deadline_over_spring_festival_sets_the_case_deadline(session: Session) -> None:
    set_case(session, warning_level="red")
    result = deadlines.compute_handler(context(session, SPRING), "handle", due_timers="red", warn_timers="yellow")
    assert result["due"] == "2026-02-26T23:59:59+08:00"
    assert result["notice_at"] == "2026-03-04T23:59:59+08:00"  # 2/27, 2/28 (调休), 3/2, 3/3, 3/4
    assert (result["capped"], result["calendar_warning"]) == (False, None)
    assert result["rule"] == "*/complaint/normal/handle 5 workdays"
    assert result["start"] == "2026-02-12T10:00:00+08:00"
    row = case(session)
    assert (row.deadline, row.warning_level) == (shanghai("2026-02-26T23:59:59"), "none")
    stored = session.scalars(sa.select(CaseDeadline)).one()
    assert (stored.stage, stored.unit, stored.due_timers, stored.warn_timers, stored.notice_timers) == (
        "handle", "", "red", "yellow", "")
    assert stored.due_at == shanghai("2026-02-26T23:59:59")


def test_recomputing_a_stage_updates_its_one_row_per_unit(session: Session) -> None:
    deadlines.compute_handler(context(session, SPRING), "sign_for", unit="zjj")
    deadlines.compute_handler(context(session, SPRING + timedelta(days=1)), "sign_for", unit="zjj")
    deadlines.compute_handler(context(session, SPRING), "sign_for", unit="zhzf")
    rows = session.execute(sa.select(CaseDeadline.unit, CaseDeadline.due_at).order_by(CaseDeadline.unit)).all()
    # Fri 2/13 + 1 working day is Sat 2/14, a make-up workday (调休上班).
    assert [tuple(r) for r in rows] == [("zhzf", shanghai("2026-02-13T23:59:59")),
                                        ("zjj", shanghai("2026-02-14T23:59:59"))]
    assert case(session).deadline is None  # only the handling stage is the case's deadline


def test_a_deadline_into_2027_counts_mon_fri_with_a_warning_until_the_notice_is_loaded(session: Session) -> None:
    before = deadlines.compute_handler(context(session, DECEMBER), "handle")
    assert before["due"] == "2027-01-04T23:59:59+08:00"  # 12/29, 12/30, 12/31, 1/1 (Fri, counted), 1/4
    assert before["calendar_warning"] == "2027年节假日安排未录入，按周一至周五计算"
    load(session, "calendar", NOTICE_2027, actor="admin", now=DECEMBER, year=2027, notice=NOTICE_2027_NUMBER)
    after = deadlines.compute_handler(context(session, DECEMBER), "handle")
    assert after["due"] == "2027-01-05T23:59:59+08:00"
    assert after["calendar_warning"] is None
    inside_2026 = deadlines.compute_handler(context(session, SPRING), "sign_for")
    assert inside_2026["calendar_warning"] is None


def test_clock_rules_for_urgent_cases_and_110_acceptance(session: Session) -> None:
    set_case(session, urgency="urgent")
    result = deadlines.compute_handler(context(session, SPRING), "handle")
    assert result["due"] == "2026-02-13T10:00:00+08:00"
    assert result["warn_at"] == "2026-02-13T04:00:00+08:00"  # a quarter of 24 hours left
    assert result["rule"] == "*/*/urgent/handle 24 hours"
    set_case(session, channel="police110", urgency="critical")
    assert deadlines.compute_handler(context(session, SPRING), "accept_110")["due"] == "2026-02-12T10:30:00+08:00"
    set_case(session, urgency="normal")
    assert deadlines.compute_handler(context(session, SPRING), "accept_110")["due"] == "2026-02-12T12:00:00+08:00"


def test_the_most_specific_rule_wins_source_first(session: Session) -> None:
    session.add_all([
        SlaRule(source="phone", request_type="*", urgency="*", stage="handle", amount=3, unit="workdays", note=""),
        SlaRule(source="*", request_type="complaint", urgency="urgent", stage="handle", amount=4, unit="hours",
                note="")])
    set_case(session, urgency="urgent")
    assert deadlines.compute_handler(context(session, SPRING), "handle")["rule"] == "phone/*/*/handle 3 workdays"
    set_case(session, channel="visit")
    assert deadlines.compute_handler(context(session, SPRING), "handle")["rule"] == "*/complaint/urgent/handle 4 hours"
    set_case(session, request_type="咨询", urgency="一般")  # the Chinese words select the same rules
    assert deadlines.compute_handler(context(session, SPRING), "handle")["rule"] == "*/consult/normal/handle 2 workdays"
    set_case(session, request_type=None)
    assert deadlines.compute_handler(context(session, SPRING), "handle")["rule"] == "*/*/*/handle 5 workdays"


def test_every_deadline_is_capped_at_the_upstream_deadline(session: Session) -> None:
    upstream = shanghai("2026-02-14T12:00:00")
    set_case(session, channel="platform", upstream_deadline=upstream)
    result = deadlines.compute_handler(context(session, SPRING), "handle")
    assert (result["due"], result["capped"]) == ("2026-02-14T12:00:00+08:00", True)
    # A quarter of the 50 capped hours left (2/13 23:30) comes before the last working day (Sat 2/14, 调休).
    assert result["warn_at"] == "2026-02-13T23:30:00+08:00"
    assert case(session).deadline == upstream
    assert deadlines.compute_handler(context(session, SPRING), "sign_for")["capped"] is False
    extended = deadlines.extend_handler(context(session, SPRING), 5)
    assert (extended["due"], extended["capped"]) == ("2026-02-14T12:00:00+08:00", True)


def test_extensions_add_working_days_within_the_extension_limit(session: Session) -> None:
    with pytest.raises(HandlerError, match="compute stage 'handle' first"):
        deadlines.extend_handler(context(session, SPRING), 3)
    deadlines.compute_handler(context(session, SPRING), "handle", due_timers="red")
    first = deadlines.extend_handler(context(session, SPRING + timedelta(days=10)), 3)
    assert first["due"] == "2026-03-02T23:59:59+08:00"  # 2/26 + 3: 2/27, 2/28 (调休上班), 3/2
    assert (first["granted"], first["extension_days"], first["extension_max"]) == (3, 3, 10)
    assert first["notice_at"] == "2026-03-09T23:59:59+08:00"
    assert first["start"] == "2026-02-12T10:00:00+08:00"  # extensions keep the original start
    second = deadlines.extend_handler(context(session, SPRING), 9)
    assert (second["granted"], second["extension_days"], second["due"]) == (7, 10, "2026-03-11T23:59:59+08:00")
    third = deadlines.extend_handler(context(session, SPRING), 2)
    assert (third["granted"], third["due"]) == (0, second["due"])
    assert case(session).deadline == shanghai(second["due"][:19])
    row = session.scalars(sa.select(CaseDeadline)).one()
    assert (row.extension_days, row.due_timers) == (10, "red")
    for bad in (0, "two"):
        with pytest.raises(HandlerError):
            deadlines.extend_handler(context(session, SPRING), bad)  # type: ignore[arg-type]


def test_base_overrides_the_start_and_bad_input_is_refused(session: Session) -> None:
    notice = deadlines.compute_handler(context(session, SPRING), "notice", base="2026-02-13T00:00:00+08:00")
    assert notice["due"] == "2026-02-27T23:59:59+08:00"  # 2/14 (调休), 2/24, 2/25, 2/26, 2/27
    assert notice["notice_at"] is None
    with pytest.raises(HandlerError, match="time zone"):
        deadlines.compute_handler(context(session, SPRING), "notice", base="2026-02-13T00:00:00")
    with pytest.raises(HandlerError, match="no time-limit rule"):
        deadlines.compute_handler(context(session, SPRING), "inspection")
    with pytest.raises(HandlerError, match="not a stage"):
        deadlines.compute_handler(context(session, SPRING), "Handle; drop")
    with pytest.raises(HandlerError, match="not a BPMN id"):
        deadlines.compute_handler(context(session, SPRING), "handle", due_timers="red,1bad")
    without_case = deadlines.compute_handler(context(session, SPRING, case_id=None, instance_id="i2"), "handle")
    assert without_case["rule"] == "*/*/*/handle 5 workdays"


def test_triage_and_dispatch_by_closing_time_review_and_publish_by_working_days(session: Session) -> None:
    wednesday = shanghai("2026-11-25T09:00:00")
    triage = deadlines.compute_handler(context(session, wednesday), "triage")
    assert (triage["due"], triage["rule"]) == ("2026-11-25T17:30:00+08:00", "*/*/*/triage 1 workday_close")
    evening = deadlines.compute_handler(context(session, shanghai("2026-11-25T18:00:00")), "dispatch")
    assert evening["due"] == "2026-11-26T17:30:00+08:00"  # after closing: the next working day's
    assert deadlines.compute_handler(context(session, wednesday), "review")["due"] == "2026-11-26T23:59:59+08:00"
    assert deadlines.compute_handler(context(session, wednesday), "publish")["due"] == "2026-11-27T23:59:59+08:00"
    assert case(session).deadline is None  # only the handling stage is the case's deadline


def test_the_closing_time_is_a_setting_and_rule_tables_without_the_new_stages_fall_back(session: Session) -> None:
    wednesday = shanghai("2026-11-25T09:00:00")
    session.execute(sa.update(Setting).where(Setting.name == "office_closes_at").values(value="17:00"))
    assert deadlines.compute_handler(context(session, wednesday), "triage")["due"] == "2026-11-25T17:00:00+08:00"
    session.execute(sa.delete(SlaRule).where(SlaRule.stage.in_(("triage", "dispatch", "review", "publish"))))
    fallback = deadlines.compute_handler(context(session, wednesday, instance_id="i2"), "dispatch")
    assert (fallback["due"], fallback["rule"]) == ("2026-11-25T17:00:00+08:00", "*/*/*/dispatch 1 workday_close")
    assert deadlines.compute_handler(context(session, wednesday, instance_id="i3"), "publish")["due"] == \
        "2026-11-27T23:59:59+08:00"


def test_an_extension_puts_its_days_and_new_deadline_in_the_history(session: Session) -> None:
    events: list[tuple[str, dict[str, object]]] = []
    ctx = replace(context(session, SPRING), history=lambda kind, **detail: events.append((kind, detail)))
    deadlines.compute_handler(ctx, "handle", unit="sthj", due_timers="red")
    deadlines.extend_handler(ctx, 3, unit="sthj")
    assert events == [("deadline_extended", {"bpmn_id": None, "unit": "sthj", "days": 3,
                                             "previous": "2026-02-26T23:59:59+08:00",
                                             "due": "2026-03-02T23:59:59+08:00"})]
