"""Intake and triage paths of the product diagrams: channels, duplicates (并单), direct answers, transfers, 呈报."""

from __future__ import annotations

from datetime import date
from datetime import time

import pytest
import sqlalchemy as sa

from processes.clock import FrozenClock
from processes.errors import Conflict
from processes.reference.models import DutyRoster
from tests.lifecycle_support import REPLY
from tests.lifecycle_support import Office
from tests.lifecycle_support import at
from tests.lifecycle_support import prepare_office

DISPATCH = {"request_type": "complaint", "urgency": "normal", "triage_result": "dispatch"}


def test_phone_call_triage_dispatch_reply_review_callback_publish_archive(office: Office) -> None:
    case = office.open("case_phone", "phone")
    triage = office.task(case, "triage")
    assert (triage.role, triage.assignee) == ("dispatcher", None)  # a working day: no duty assignment
    office.complete(case, "triage", DISPATCH)
    assert office.task(case, "dispatch").role == "dispatcher"
    office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "sthj",
                                       "assisting_departments": ["zhzf"]})
    signs = {t.department: t for t in office.tasks(case.case_id) if t.bpmn_id == "sign_for"}
    assert set(signs) == {"sthj", "zhzf"} and {t.role for t in signs.values()} == {"handler"}
    # sign-for: 1 working day, counted from the next day, ends 23:59:59 Beijing time
    assert {t.due_at for t in signs.values()} == {at("2026-11-26T23:59:59")}
    assert office.outbox(case) == [("sms", "dispatch_notice", "sthj"), ("sms", "dispatch_notice", "zhzf")]
    for unit in ("sthj", "zhzf"):
        office.complete(case, "sign_for", {"sign_decision": "sign"}, department=unit)
    reply = office.task(case, "reply", "sthj")
    assert reply.due_at == at("2026-12-02T23:59:59")  # complaint: 5 working days
    for unit in ("sthj", "zhzf"):
        office.complete(case, "reply", REPLY, department=unit)
    assert office.case(case).status == "replied"
    office.complete(case, "review", {"review_result": "accept"})
    callback = office.task(case, "callback")
    assert (callback.role, callback.due_at) == ("callback", at("2026-11-26T23:59:59"))  # the next working day
    office.complete(case, "callback", {"callback_result": "satisfied", "solved": True})
    office.complete(case, "publish_review", {"publish": True, "public_reply": "已处理"})
    assert office.status(case) == "completed"
    row = office.case(case)
    assert (row.status, row.lead_department, row.assisting_departments) == ("archived", "sthj", ["zhzf"])
    assert row.flags == {"callback_result": "satisfied"}


def test_dispatch_form_is_prefilled_from_the_dispatch_catalogue(office: Office) -> None:
    case = office.open("case_visit", "visit", category="环境卫生", township="luxi")
    office.complete(case, "triage", DISPATCH)
    with office.rt.read() as session:
        from processes.runtime.models import ProcessInstance
        snapshot = session.get(ProcessInstance, case.instance_id)
    assert snapshot is not None and '"lead": "luxi"' in snapshot.snapshot.replace('":"', '": "')


def test_direct_answer_closes_publishes_and_archives_without_dispatch(office: Office) -> None:
    case = office.open("case_phone", "phone", request_type="consult")
    office.complete(case, "triage", {**DISPATCH, "request_type": "consult", "triage_result": "direct_answer"})
    office.complete(case, "direct_answer", {"direct_answer": "可到行政服务中心办理", "answer_source": "knowledge_base"})
    assert office.open_ids(case) == ["publish_review"]
    office.complete(case, "publish_review", {"publish": False})
    assert office.status(case) == "completed" and office.case(case).status == "archived"
    assert office.outbox(case) == []


@pytest.mark.parametrize(("target", "messages"), [("110", [("police110", "transfer", None)]), ("120", [])])
def test_transfer_records_the_target_and_tells_110_only_when_it_is_110(
        office: Office, target: str, messages: list[tuple[str, str, None]]) -> None:
    case = office.open("case_phone", "phone")
    office.complete(case, "triage", {**DISPATCH, "triage_result": "transfer", "transfer_target": target,
                                     "transfer_ref": "JJ-2026-1"})
    assert office.status(case) == "completed"
    assert office.case(case).status == "transferred" and office.outbox(case) == messages


def test_not_accepted_ends_with_the_reason_on_the_case(office: Office) -> None:
    case = office.open("case_phone", "phone")
    office.complete(case, "triage", {**DISPATCH, "triage_result": "not_accepted",
                                     "reject_reason": "属诉讼事项，告知向法院起诉"})
    assert office.status(case) == "completed" and office.case(case).status == "rejected"


@pytest.mark.parametrize(("decision", "next_task"), [("dispatch", "dispatch"), ("direct_answer", "direct_answer")])
def test_report_to_leader_follows_the_instruction(office: Office, decision: str, next_task: str) -> None:
    case = office.open("case_phone", "phone", urgency="critical")
    office.complete(case, "triage", {**DISPATCH, "urgency": "critical", "triage_result": "report_leader"})
    assert office.task(case, "leader_instruction").role == "leader"
    assert office.case(case).flags == {"leader_instructed": True}
    office.complete(case, "leader_instruction", {"instruction_decision": decision, "instruction": "请迅速处置"})
    assert office.open_ids(case) == [next_task]


def test_second_call_from_the_same_number_is_offered_for_merging(office: Office) -> None:
    first = office.open("case_phone", "phone")
    assert office.open_ids(first) == ["triage"]  # nothing to merge with
    second = office.open("case_phone", "phone", content="又在施工")
    offer = office.task(second, "merge_offer")
    assert offer.role == "operator"
    office.complete(second, "merge_offer", {"merge_decision": "merge", "merge_into": office.case(first).number})
    assert office.status(second) == "completed"
    merged = office.case(second)
    assert (merged.status, merged.duplicate_of) == ("merged", first.case_id)
    third = office.open("case_phone", "phone", requester_phone="13900001111")
    assert office.open_ids(third) == ["triage"]


def test_a_caller_may_keep_a_new_case_after_the_duplicate_offer(office: Office) -> None:
    office.open("case_phone", "phone")
    second = office.open("case_visit", "visit")
    office.complete(second, "merge_offer", {"merge_decision": "new"})
    assert office.open_ids(second) == ["triage"] and office.case(second).duplicate_of is None


def test_triage_on_a_weekend_goes_to_the_duty_roster(office: Office) -> None:
    # Seeding on 2026-01-01 planned the roster from reference/duty_rotation.csv for eight weeks.
    with office.rt.read() as session:
        shifts = dict(session.execute(sa.select(DutyRoster.shift_start, DutyRoster.username).where(
            DutyRoster.day == date(2026, 1, 10), DutyRoster.role == "dispatcher")).all())
    day_shift, night_shift = shifts[time(8)], shifts[time(20)]
    assert day_shift != night_shift
    office.clock.now = at("2026-01-10T10:00:00")  # Saturday
    case = office.open("case_phone", "phone")
    assert office.task(case, "triage").assignee == day_shift
    office.clock.now = at("2026-01-10T21:00:00")
    night = office.open("case_phone", "phone", requester_phone="13700002222")
    assert office.task(night, "triage").assignee == night_shift


def test_internal_assignment_goes_to_the_named_staff_member(office: Office) -> None:
    case = office.open("case_phone", "phone")
    office.complete(case, "triage", DISPATCH)
    office.complete(case, "dispatch", {"dispatch_mode": "internal", "internal_assignee": "chen.jing"})
    task = office.task(case, "internal_handle")
    assert task.assignee == "chen.jing"
    with pytest.raises(Conflict):  # assigned work is the assignee's
        office.complete(case, "internal_handle", {"handling_note": "已协调"}, actor="someone.else")
    office.complete(case, "internal_handle", {"handling_note": "已协调", "public_reply": "已处理"}, actor="chen.jing")
    assert office.open_ids(case) == ["publish_review"]


def test_a_phone_case_runs_end_to_end_on_each_database(db_url: str) -> None:
    """The same path on SQLite and PostgreSQL (the other scenarios use SQLite copies for speed)."""
    prepare_office(db_url)
    office = Office(db_url, FrozenClock(at("2026-11-25T09:00:00")))
    try:
        case = office.open("case_phone", "phone")
        office.complete(case, "triage", DISPATCH)
        office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "sthj",
                                           "assisting_departments": ["zhzf"]})
        for unit in ("sthj", "zhzf"):
            office.complete(case, "sign_for", {"sign_decision": "sign"}, department=unit)
            office.complete(case, "reply", REPLY, department=unit)
        office.complete(case, "review", {"review_result": "accept"})
        office.complete(case, "callback", {"callback_result": "satisfied", "solved": True})
        office.complete(case, "publish_review", {"publish": True, "public_reply": "已处理"})
        assert office.status(case) == "completed" and office.case(case).status == "archived"
    finally:
        office.close()
