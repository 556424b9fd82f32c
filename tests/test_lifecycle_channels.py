"""Channel paths of the product diagrams: 民呼我为 transcription, township problems, 110 handoff, upward report,
and deadlines across the 2026 Spring Festival and into 2027."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from handlers.reference.reschedule import reschedule_open_deadlines
from handlers.reference.store import load
from processes.runtime import commands
from processes.runtime.models import OutboxMessage
from tests.lifecycle_support import REPLY
from tests.lifecycle_support import Office
from tests.lifecycle_support import at

DISPATCH = {"request_type": "complaint", "urgency": "normal", "triage_result": "dispatch"}
SECOND = timedelta(seconds=1)
NOTICE_2027 = "date,is_workday,reason\n2027-01-01,false,元旦\n2027-01-02,false,元旦\n2027-01-03,false,元旦\n"


def through_handling(office: Office, case: commands.Started, unit: str = "sthj") -> None:
    """Sign, reply and accept the reply of one unit."""
    office.complete(case, "sign_for", {"sign_decision": "sign"}, department=unit)
    office.complete(case, "reply", REPLY, department=unit)
    office.complete(case, "review", {"review_result": "accept"})


def test_transcribed_order_is_capped_by_the_upstream_deadline_and_written_back(office: Office) -> None:
    upstream = "2026-11-30T12:00:00+08:00"
    case = office.open("case_platform", "platform", upstream_order_id="ZJ2026112500123", upstream_deadline=upstream)
    office.complete(case, "triage", DISPATCH)
    office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "sthj"})
    office.complete(case, "sign_for", {"sign_decision": "sign"}, department="sthj")
    assert office.task(case, "reply").due_at == at("2026-11-30T12:00:00")  # not 12-02: the upstream cap
    office.complete(case, "reply", REPLY, department="sthj")
    office.complete(case, "review", {"review_result": "accept"})
    office.complete(case, "callback", {"callback_result": "satisfied", "solved": True})
    office.complete(case, "publish_review", {"publish": True, "public_reply": "已处理"})
    assert office.outbox(case)[-1] == ("upstream", "writeback", None)
    confirm = office.task(case, "writeback_confirm")
    assert (confirm.role, confirm.due_at) == ("transcriber", at("2026-11-30T12:00:00"))
    office.complete(case, "writeback_confirm", {"written_back": True})
    assert office.status(case) == "completed"


def test_the_same_upstream_order_twice_is_offered_for_merging(office: Office) -> None:
    office.open("case_platform", "platform", upstream_order_id="ZJ1", requester_phone="13800000001")
    again = office.open("case_platform", "platform", upstream_order_id="ZJ1", requester_phone="13800000002")
    assert office.open_ids(again) == ["merge_offer"]


def test_township_problem_reviewed_dispatched_to_several_units_and_fed_back(office: Office) -> None:
    case = office.open("case_township", "township", township="damen", category="市政设施")
    review = office.task(case, "district_review")
    assert review.role == "dispatcher"
    office.complete(case, "district_review", {"township_accepted": True, "urgency": "normal"})
    assert office.open_ids(case) == ["dispatch"]  # no triage: the district review was it
    office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "zjj",
                                       "assisting_departments": ["zhzf", "damen"]})
    assert sorted(t.department or "" for t in office.tasks(case.case_id)) == ["damen", "zhzf", "zjj"]
    for unit in ("zjj", "zhzf", "damen"):
        office.complete(case, "sign_for", {"sign_decision": "sign"}, department=unit)
        office.complete(case, "reply", REPLY, department=unit)
    office.complete(case, "review", {"review_result": "accept"})
    assert office.open_ids(case) == ["publish_review"]  # the town gets feedback instead of a citizen callback
    office.complete(case, "publish_review", {"publish": False})
    assert office.outbox(case)[-1] == ("township", "feedback", "damen") and office.status(case) == "completed"


def test_township_problem_sent_back_with_a_reason(office: Office) -> None:
    case = office.open("case_township", "township", township="luxi")
    office.complete(case, "district_review", {"township_accepted": False, "review_note": "属乡级职权，请属地处置"})
    assert office.outbox(case) == [("township", "rejected", "luxi")]
    assert office.case(case).status == "rejected" and office.status(case) == "completed"


@pytest.mark.parametrize(("urgency", "limit"), [("urgent", timedelta(minutes=30)), ("normal", timedelta(hours=2))])
def test_110_handoff_must_be_accepted_within_its_limit(office: Office, urgency: str, limit: timedelta) -> None:
    case = office.open("case_110", "police110", urgency=urgency, upstream_order_id="110-20261125-0042")
    accept = office.task(case, "accept_110")
    assert accept.due_at == at("2026-11-25T09:00:00") + limit
    office.run_until(at("2026-11-25T09:00:00") + limit + SECOND)
    assert office.case(case).warning_level == "red"
    assert ("sms", "accept_overdue", "duty_leader") in office.outbox(case)


def test_accepted_110_case_runs_on_the_urgent_limit_and_reports_back_twice(office: Office) -> None:
    case = office.open("case_110", "police110", urgency="normal", upstream_order_id="110-20261125-0043")
    office.complete(case, "accept_110", {"accepted": True})
    assert office.outbox(case) == [("police110", "first_response", None)]
    assert office.case(case).urgency == "urgent" and office.open_ids(case) == ["dispatch"]
    office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "zhzf"})
    office.complete(case, "sign_for", {"sign_decision": "sign"}, department="zhzf")
    assert office.task(case, "reply").due_at == at("2026-11-26T09:00:00")  # 110 transfers: 24 hours
    office.complete(case, "reply", REPLY, department="zhzf")
    office.complete(case, "review", {"review_result": "accept"})
    office.complete(case, "callback", {"callback_result": "satisfied", "solved": True})
    office.complete(case, "publish_review", {"publish": False})
    assert office.outbox(case)[-1] == ("police110", "closure", None) and office.status(case) == "completed"


def test_110_handoff_returned_with_a_reason(office: Office) -> None:
    case = office.open("case_110", "police110", upstream_order_id="110-20261125-0044")
    office.complete(case, "accept_110", {"accepted": False, "return_reason": "涉及治安案件，属警务范围"})
    assert office.outbox(case) == [("police110", "returned", None)]
    assert office.case(case).status == "returned_to_110" and office.status(case) == "completed"


def test_upward_report_compiles_each_week_and_waits_for_the_transcriber(office: Office) -> None:
    done = office.open("case_phone", "phone", request_type="consult")
    office.complete(done, "triage", {**DISPATCH, "request_type": "consult", "triage_result": "direct_answer"})
    office.complete(done, "direct_answer", {"direct_answer": "告知办理地点"})
    report = commands.start(office.rt, "upward_report", {}, actor="admin")
    assert office.timers(report) == {"every_period": [at("2026-11-30T09:00:00")]}  # next Monday 09:00
    office.run_until(at("2026-11-30T09:00:00") + SECOND)
    check = office.task(report, "check_report")
    assert check.role == "transcriber"
    office.complete(report, "check_report", {"report_confirmed": True})
    with office.rt.read() as session:
        message = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "upward_report")).one()
    assert message.payload["body"]["consult"] == [office.case(done).number]
    assert office.timers(report) == {"every_period": [at("2026-12-07T09:00:00")]}  # and again next week


def test_deadlines_skip_the_2026_spring_festival_and_count_its_make_up_workdays(office: Office) -> None:
    office.clock.now = at("2026-02-13T10:00:00")  # Friday before the holiday (2/15-2/23; 2/14 and 2/28 worked)
    case = office.open("case_phone", "phone")
    office.complete(case, "triage", DISPATCH)
    office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "sthj"})
    assert office.task(case, "sign_for").due_at == at("2026-02-14T23:59:59")  # Saturday, a make-up workday
    office.complete(case, "sign_for", {"sign_decision": "sign"}, department="sthj")
    # 2/14, then the holiday, then 2/24, 2/25, 2/26, 2/27
    assert office.task(case, "reply").due_at == at("2026-02-27T23:59:59")


def test_deadline_into_2027_uses_mon_fri_until_the_notice_then_the_notice(office: Office) -> None:
    office.clock.now = at("2026-12-28T09:00:00")  # Monday; five working days reach into 2027
    case = office.open("case_phone", "phone")
    office.complete(case, "triage", DISPATCH)
    office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "sthj"})
    office.complete(case, "sign_for", {"sign_decision": "sign"}, department="sthj")
    # 12/29, 12/30, 12/31, then Mon-Fri fallback: 1/1 (Fri), 1/4 (Mon)
    assert office.task(case, "reply").due_at == at("2027-01-04T23:59:59")
    with office.rt.write() as session, session.begin():
        load(session, "calendar", NOTICE_2027, actor="admin", now=office.clock(), year=2027, notice="2027年安排")
    moved = reschedule_open_deadlines(office.rt, actor="admin", reason="2027年节假日安排")
    assert (moved.cases, moved.problems) == (1, [])
    assert office.timers(case)["red_timer"] == [at("2027-01-05T23:59:59")]  # 1/1 is now a holiday
    assert office.task(case, "reply").due_at == at("2027-01-05T23:59:59")
    assert office.run_until(at("2027-01-04T23:59:59") + SECOND) >= 0
    assert office.case(case).warning_level != "red"  # never fires at the old time
