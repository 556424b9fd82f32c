"""Callback retries spaced by the settings (回访未接通再次回访) and the 110 acceptance timeout escalated to the
duty leader on the roster (值班长), through the product diagrams."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from datetime import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from handlers import HandlerError
from handlers.callbacks import retry_at_handler
from handlers.reference.settings import parse_setting
from processes.clock import FrozenClock
from processes.reference.models import DutyRoster
from processes.reference.models import Setting
from processes.runtime import commands
from tests.lifecycle_support import REPLY
from tests.lifecycle_support import Office
from tests.lifecycle_support import at
from tests.lifecycle_support import prepare_office
from tests.reference_support import context
from tests.reference_support import seeded_session
from tests.workspace_support import DISPATCH
from tests.workspace_support import Workspace
from tests.workspace_support import text

SECOND = timedelta(seconds=1)
UNREACHABLE = {"callback_result": "unreachable"}


@pytest.fixture
def any_office(db_url: str) -> Iterator[Office]:
    """The product diagrams on SQLite and on PostgreSQL, on Wednesday 2026-11-25 09:00 Beijing time."""
    prepare_office(db_url)
    office = Office(db_url, FrozenClock(at("2026-11-25T09:00:00")))
    yield office
    office.close()


def waiting_for_callback(office: Office) -> commands.Started:
    """A phone case replied to and accepted in review: its first callback waits."""
    case = office.open("case_phone", "phone")
    office.complete(case, "triage", DISPATCH)
    office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "sthj"})
    office.complete(case, "sign_for", {"sign_decision": "sign"}, department="sthj")
    office.complete(case, "reply", REPLY, department="sthj")
    office.complete(case, "review", {"review_result": "accept"})
    return case


def set_setting(office: Office, name: str, value: str) -> None:
    """Change one office setting (系统参数) as an import would."""
    with office.rt.write() as session, session.begin():
        session.merge(Setting(name=name, value=value, note=""))


def test_retries_wait_two_hours_then_the_next_working_day_and_count_the_attempts(any_office: Office) -> None:
    office = any_office
    office.clock.now = at("2026-11-27T15:00:00")  # Friday afternoon
    case = waiting_for_callback(office)
    assert office.task(case, "callback").name == "第 1 次回访（核实）"
    office.complete(case, "callback", UNREACHABLE)
    assert office.open_ids(case) == [] and office.timers(case)["retry_wait"] == [at("2026-11-27T17:00:00")]
    assert office.run_until(at("2026-11-27T17:00:00")) == 0  # not a second early
    assert office.run_until(at("2026-11-27T17:00:00") + SECOND) == 1
    assert office.task(case, "callback").name == "第 2 次回访（核实）"

    office.complete(case, "callback", UNREACHABLE)  # Friday 17:00: the next working day is Monday
    assert office.timers(case)["retry_wait"] == [at("2026-11-30T09:00:00")]
    office.run_until(at("2026-11-30T09:00:00") + SECOND)
    third = office.task(case, "callback")
    assert third.name == "第 3 次回访（核实）" and third.role == "callback"

    office.complete(case, "callback", UNREACHABLE)  # callback_max_attempts = 3: the case goes on
    assert office.open_ids(case) == ["publish_review"] and "retry_wait" not in office.timers(case)
    assert office.case(case).flags == {"callback_result": "unreachable", "unreachable": True}
    office.complete(case, "publish_review", {"publish": False})
    assert office.status(case) == "completed" and office.case(case).status == "archived"


def test_an_answered_retry_ends_the_callback_normally(office: Office) -> None:
    case = waiting_for_callback(office)
    office.complete(case, "callback", UNREACHABLE)
    office.run_until(at("2026-11-25T11:00:00") + SECOND)
    office.complete(case, "callback", {"callback_result": "satisfied", "solved": True})
    assert office.open_ids(case) == ["publish_review"]
    assert office.case(case).flags == {"callback_result": "satisfied"}


def test_the_spacing_and_the_limit_come_from_the_settings(office: Office) -> None:
    set_setting(office, "callback_retry_spacing", "30m,next_workday@14:00")
    set_setting(office, "callback_max_attempts", "4")
    case = waiting_for_callback(office)
    expected = [at("2026-11-25T09:30:00"), at("2026-11-26T14:00:00"), at("2026-11-27T14:00:00")]  # last repeats
    for number, due in enumerate(expected, start=2):
        office.complete(case, "callback", UNREACHABLE)
        assert office.timers(case)["retry_wait"] == [due]
        office.run_until(due + SECOND)
        assert office.task(case, "callback").name == f"第 {number} 次回访（核实）"
    office.complete(case, "callback", UNREACHABLE)
    assert office.open_ids(case) == ["publish_review"]


def test_the_next_working_day_skips_holidays(db_url: str) -> None:
    with seeded_session(db_url) as session:
        before_spring_festival = at("2026-02-13T18:00:00")  # Friday; 2/14 is a make-up workday, 2/15-2/23 holiday
        assert retry_at_handler(context(session, before_spring_festival), 2) == {
            "at": "2026-02-14T09:00:00+08:00", "attempt": 3, "calendar_warning": None}
        assert retry_at_handler(context(session, at("2026-02-14T18:00:00")), 5)["at"] == "2026-02-24T09:00:00+08:00"
        assert retry_at_handler(context(session, at("2026-02-14T18:00:00")), 1)["at"] == "2026-02-14T20:00:00+08:00"
        with pytest.raises(HandlerError):
            retry_at_handler(context(session, before_spring_festival), 0)


@pytest.mark.parametrize("text_value", ["", "2 hours", "0m", "next_workday@24:00", "1h,2h,3h,4h,5h,6h,7h,8h,9h,1h,2h"])
def test_a_broken_spacing_is_refused_on_import(text_value: str) -> None:
    with pytest.raises(ValueError, match="callback_retry_spacing"):
        parse_setting("callback_retry_spacing", text_value)


def put_on_duty(office: Office, username: str | None, day: date = date(2026, 11, 25)) -> None:
    """Make `username` the only duty leader rostered on a day (08:00-20:00); None leaves the day without one."""
    with office.rt.write() as session, session.begin():
        session.execute(sa.delete(DutyRoster).where(DutyRoster.role == "duty_leader", DutyRoster.day == day))
        if username is not None:
            session.add(DutyRoster(day=day, role="duty_leader", username=username, shift_start=time(8),
                                   shift_end=time(20)))


@pytest.mark.parametrize(("urgency", "limit"), [("urgent", timedelta(minutes=30)), ("normal", timedelta(hours=2))])
def test_110_acceptance_timeout_goes_to_the_duty_leader_on_the_roster(any_office: Office, urgency: str,
                                                                       limit: timedelta) -> None:
    office = any_office
    put_on_duty(office, "dl.feng")
    case = office.open("case_110", "police110", urgency=urgency, upstream_order_id="110-20261125-0042")
    due = at("2026-11-25T09:00:00") + limit
    assert office.run_until(due) == 0 and office.open_ids(case) == ["accept_110"]
    office.run_until(due + SECOND)
    escalated = office.task(case, "accept_110_escalated")
    assert (escalated.role, escalated.assignee, escalated.due_at) == ("duty_leader", "dl.feng", due)
    assert escalated.name == "110移交超时受理（值班长）"
    assert office.open_ids(case) == ["accept_110_escalated"]  # the dispatcher's task went up to the duty leader
    assert office.case(case).warning_level == "red"
    assert ("sms", "accept_overdue", "duty_leader") in office.outbox(case)  # and the SMS, as before

    office.complete(case, "accept_110_escalated", {"accepted": True}, actor="dl.feng")
    assert ("police110", "first_response", None) in office.outbox(case)
    assert office.open_ids(case) == ["dispatch"] and office.case(case).urgency == "urgent"


def test_the_duty_leader_may_also_return_the_case_to_110(office: Office) -> None:
    put_on_duty(office, "dl.feng")
    case = office.open("case_110", "police110", urgency="urgent", upstream_order_id="110-20261125-0043")
    office.run_until(at("2026-11-25T09:30:00") + SECOND)
    office.complete(case, "accept_110_escalated", {"accepted": False, "return_reason": "属警务范围"},
                    actor="dl.feng")
    assert office.case(case).status == "returned_to_110" and office.status(case) == "completed"
    assert office.outbox(case)[-1] == ("police110", "returned", None)


def test_without_a_rostered_duty_leader_any_duty_leader_may_claim_it(office: Office) -> None:
    put_on_duty(office, None)
    case = office.open("case_110", "police110", urgency="urgent", upstream_order_id="110-20261125-0044")
    office.run_until(at("2026-11-25T09:30:00") + SECOND)
    escalated = office.task(case, "accept_110_escalated")
    assert (escalated.role, escalated.assignee) == ("duty_leader", None)


def test_the_worklists_show_the_attempt_and_the_escalation(ws_lite: Workspace) -> None:
    ws = ws_lite
    put_on_duty(ws.office, "dl1")
    case = ws.dispatched("sthj")
    for bpmn_id, data, unit in (("sign_for", {"sign_decision": "sign"}, "sthj"), ("reply", REPLY, "sthj"),
                                ("review", {"review_result": "accept"}, None)):
        ws.office.complete(case, bpmn_id, data, department=unit)
    ws.office.complete(case, "callback", UNREACHABLE)
    ws.office.run_until(at("2026-11-25T11:00:00") + SECOND)
    caller = ws.user("cb1", "callback")  # signed in now: sessions idle out while the clock moves
    assert "第 2 次回访（核实）" in text(caller.get("/worklist?tab=group"))

    handoff = ws.case("case_110", "police110", urgency="urgent", upstream_order_id="110-20261125-0045")
    ws.office.run_until(at("2026-11-25T11:31:00"))  # opened at 11:00:01, urgent: 30 minutes
    task = ws.office.task(handoff, "accept_110_escalated")
    leader = ws.user("dl1", "duty_leader")
    mine = text(leader.get("/worklist"))
    assert task.id in mine and "110移交超时受理（值班长）" in mine
    assert leader.get(f"/tasks/{task.id}").status_code == 200
