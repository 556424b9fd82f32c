"""A calendar change moves the timers of open cases (参考数据变更后重排时限), and they fire at the new time only."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

import sqlalchemy as sa

from handlers.reference.reschedule import reschedule_open_deadlines
from handlers.reference.store import load
from processes.cases.models import Case
from processes.clock import FrozenClock
from processes.reference.models import CaseDeadline
from processes.runtime import commands
from processes.runtime import control
from processes.runtime.core import Runtime
from processes.runtime.models import HistoryEvent
from processes.runtime.models import TimerJob
from tests.reference_support import NOTICE_2027
from tests.reference_support import NOTICE_2027_NUMBER
from tests.reference_support import seed
from tests.reference_support import shanghai
from tests.support import deploy

MONDAY = shanghai("2026-12-28T10:00:00")
OLD_DUE, NEW_DUE = shanghai("2027-01-04T23:59:59"), shanghai("2027-01-05T23:59:59")  # before / after the notice


def start_case(runtime: Runtime, clock: FrozenClock) -> str:
    """Seed reference data, deploy the timer diagram and open a phone complaint on Monday 12/28."""
    with runtime.write() as session:
        seed(session)
    deploy(runtime, "deadline_timers", "deadline_timers.bpmn")
    clock.now = MONDAY
    started = commands.open_case(runtime, "deadline_timers", {"request_type": "complaint", "urgency": "normal"},
                                 actor="operator", channel="phone")
    return started.instance_id


def pending(runtime: Runtime, instance_id: str) -> dict[str, datetime]:
    """The pending timer jobs of an instance by BPMN id."""
    with runtime.read() as session:
        rows = session.execute(sa.select(TimerJob.bpmn_id, TimerJob.due_at).where(
            TimerJob.instance_id == instance_id, TimerJob.status == "pending")).all()
    return {r.bpmn_id: r.due_at for r in rows}


def fired(runtime: Runtime, instance_id: str) -> list[str]:
    """BPMN ids of the timers that fired, in order."""
    with runtime.read() as session:
        return list(session.scalars(sa.select(HistoryEvent.bpmn_id).where(
            HistoryEvent.instance_id == instance_id, HistoryEvent.kind == "timer_fired").order_by(HistoryEvent.id)))


def import_2027(runtime: Runtime) -> None:
    """Load the (made-up) 2027 holiday notice as an admin would."""
    with runtime.write() as session, session.begin():
        load(session, "calendar", NOTICE_2027, actor="admin", now=runtime.clock(), year=2027,
             notice=NOTICE_2027_NUMBER)


def test_timer_expressions_read_the_deadline_result(runtime: Runtime, clock: FrozenClock) -> None:
    instance_id = start_case(runtime, clock)
    timers = pending(runtime, instance_id)
    assert timers["red"] == OLD_DUE
    assert timers["yellow"] == shanghai("2027-01-03T02:29:59")  # a quarter of 7.6 days left
    assert timers["notice"] == shanghai("2027-01-11T23:59:59")
    with runtime.read() as session:
        row = session.scalars(sa.select(CaseDeadline)).one()
        assert row.calendar_warning == "2027年节假日安排未录入，按周一至周五计算"
        assert session.scalar(sa.select(Case.deadline)) == OLD_DUE


def test_a_new_calendar_moves_pending_timers_and_they_fire_at_the_new_time(runtime: Runtime,
                                                                          clock: FrozenClock) -> None:
    instance_id = start_case(runtime, clock)
    clock.advance(days=1)
    import_2027(runtime)
    report = reschedule_open_deadlines(runtime, reason="参考数据变更: calendar 2027")
    assert (report.cases, report.timers, report.rows, report.problems) == (1, 3, 1, [])
    assert pending(runtime, instance_id) == {"red": NEW_DUE, "yellow": shanghai("2027-01-03T20:29:59"),
                                             "notice": shanghai("2027-01-12T23:59:59")}
    with runtime.read() as session:
        row = session.scalars(sa.select(CaseDeadline)).one()
        assert (row.due_at, row.calendar_warning) == (NEW_DUE, None)
        assert session.scalar(sa.select(Case.deadline)) == NEW_DUE
        event = session.scalars(sa.select(HistoryEvent).where(HistoryEvent.kind == "timers_rescheduled")).one()
        assert event.detail["reason"] == "参考数据变更: calendar 2027" and event.actor == "system:reference"
    again = reschedule_open_deadlines(runtime, reason="again")
    assert (again.cases, again.rows) == (0, 0)  # nothing changed: nothing moves

    clock.now = OLD_DUE + timedelta(seconds=1)
    control.fire_due_timers(runtime)
    assert fired(runtime, instance_id) == ["yellow"]  # the old red time passed without a red light
    clock.now = NEW_DUE + timedelta(seconds=1)
    control.fire_due_timers(runtime)
    assert fired(runtime, instance_id) == ["yellow", "red"]
    assert set(pending(runtime, instance_id)) == {"notice"}


def test_timers_moved_by_hand_and_finished_cases_are_left_alone(runtime: Runtime, clock: FrozenClock) -> None:
    instance_id = start_case(runtime, clock)
    finished = start_case(runtime, clock)
    control.terminate(runtime, finished, actor="admin", reason="并单")
    by_hand = OLD_DUE + timedelta(days=3)
    control.reschedule_timers(runtime, instance_id, actor="leader", reason="延期已批准", new_due={"red": by_hand})
    import_2027(runtime)
    report = reschedule_open_deadlines(runtime, reason="参考数据变更")
    assert (report.cases, report.timers) == (1, 2)  # yellow and notice moved; red stays where the leader put it
    assert pending(runtime, instance_id)["red"] == by_hand
    with runtime.read() as session:
        dues = {r.instance_id: r.due_at for r in session.execute(sa.select(CaseDeadline.instance_id,
                                                                           CaseDeadline.due_at))}
    assert dues == {instance_id: by_hand, finished: OLD_DUE}  # the row says what the timer does: one truth
