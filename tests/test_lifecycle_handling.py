"""Department handling in the product diagrams: returns, extensions, red/yellow lights, 督办, review and callback."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from processes import engine
from processes.cases.models import CaseText
from processes.engine import runtime as wfops
from processes.runtime import commands
from processes.runtime.models import ProcessInstance
from tests.lifecycle_support import REPLY
from tests.lifecycle_support import Office
from tests.lifecycle_support import at

DISPATCH = {"request_type": "complaint", "urgency": "normal", "triage_result": "dispatch"}
SECOND = timedelta(seconds=1)


def dispatched(office: Office, unit: str = "sthj", **intake: str) -> commands.Started:
    """A phone case triaged and dispatched to one unit."""
    case = office.open("case_phone", "phone", **intake)
    office.complete(case, "triage", {**DISPATCH, "request_type": intake.get("request_type", "complaint")})
    office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": unit})
    return case


def signed(office: Office, unit: str = "sthj", **intake: str) -> commands.Started:
    """A dispatched case its unit has signed for."""
    case = dispatched(office, unit, **intake)
    office.complete(case, "sign_for", {"sign_decision": "sign"}, department=unit)
    return case


def test_late_sign_for_urges_the_unit(office: Office) -> None:
    case = dispatched(office)
    assert office.run_until(at("2026-11-26T23:59:59")) == 0  # the last second is still in time
    assert office.run_until(at("2026-11-26T23:59:59") + SECOND) == 1
    assert ("sms", "sign_overdue", "sthj") in office.outbox(case)
    assert office.open_ids(case) == ["sign_for"]  # non-interrupting: the unit still signs


def test_accepted_return_redispatches_to_the_new_unit_which_signs_again(office: Office) -> None:
    case = dispatched(office, "zjj")
    office.complete(case, "sign_for", {"sign_decision": "return", "return_reason": "属环境执法职责"}, department="zjj")
    review = office.task(case, "return_review")
    assert review.role == "dispatcher" and office.case(case).return_count == 1
    office.complete(case, "return_review", {"return_decision": "accept_return", "new_department": "sthj"})
    sign = office.task(case, "sign_for")
    assert sign.department == "sthj" and office.case(case).lead_department == "sthj"
    assert office.outbox(case)[-1] == ("sms", "dispatch_notice", "sthj")
    office.complete(case, "sign_for", {"sign_decision": "sign"}, department="sthj")
    assert office.task(case, "reply").department == "sthj"


def test_rejected_return_keeps_the_unit_handling(office: Office) -> None:
    case = dispatched(office, "zjj")
    office.complete(case, "sign_for", {"sign_decision": "return", "return_reason": "不属本单位"}, department="zjj")
    office.complete(case, "return_review", {"return_decision": "reject_return", "review_note": "属住建职责"})
    assert office.task(case, "reply").department == "zjj"


def test_yellow_red_and_notice_timers_fire_in_order_with_their_messages(office: Office) -> None:
    case = signed(office)
    timers = office.timers(case)
    due = at("2026-12-02T23:59:59")
    assert timers["red_timer"] == [due]
    # yellow when a quarter of the time is left (here earlier than "one working day left")
    assert timers["yellow_timer"] == [at("2026-12-01T02:14:59")]
    assert timers["notice_timer"] == [at("2026-12-09T23:59:59")]  # red + 5 working days
    office.run_until(at("2026-12-01T03:00:00"))
    assert office.case(case).warning_level == "yellow"
    assert ("sms", "urging", "sthj") in office.outbox(case)
    office.run_until(due + SECOND)
    assert office.case(case).warning_level == "red"
    assert ("sms", "overdue", "sthj") in office.outbox(case)
    supervise = office.task(case, "supervise")
    assert supervise.role == "supervisor"
    office.run_until(at("2026-12-09T23:59:59") + SECOND)
    assert office.case(case).flags.get("notice_candidate") is True
    assert ("sms", "notice_candidate", "leader") in office.outbox(case)


def test_supervisor_orders_site_inspection_while_the_unit_still_replies(office: Office) -> None:
    case = signed(office)
    office.run_until(at("2026-12-03T09:00:00"))
    office.complete(case, "supervise", {"supervise_action": "inspect", "supervision_note": "请现场核实"})
    inspection = office.task(case, "site_inspection")
    assert inspection.role == "inspector"
    office.complete(case, "site_inspection", {"inspection_findings": "现场仍在夜间施工",
                                              "inspected_at": "2026-12-03T22:00:00+08:00", "latitude": 27.84,
                                              "longitude": 121.15, "problem_confirmed": True})
    office.complete(case, "reply", REPLY, department="sthj")
    assert office.open_ids(case) == ["review"]


def test_urging_notice_from_supervision(office: Office) -> None:
    case = signed(office)
    office.run_until(at("2026-12-03T09:00:00"))
    office.complete(case, "supervise", {"supervise_action": "urge", "supervision_note": "限明日答复"})
    assert office.outbox(case)[-1] == ("sms", "supervision_notice", "sthj")


def test_approved_extension_moves_the_timers_which_never_fire_at_the_old_times(office: Office) -> None:
    case = signed(office)
    office.complete(case, "reply", {"reply_action": "extend", "extension_days": 3, "extension_reason": "需第三方检测"},
                    department="sthj")
    approval = office.task(case, "extension_approval")
    assert approval.role == "leader" and office.case(case).status == "extension"
    office.complete(case, "extension_approval", {"extension_approved": True, "approved_days": 3})
    reply = office.task(case, "reply", "sthj")
    assert reply.due_at == at("2026-12-07T23:59:59")  # 12-02 + 3 working days (weekend skipped)
    timers = office.timers(case)
    assert timers["red_timer"] == [at("2026-12-07T23:59:59")]
    assert office.case(case).extension_count == 1
    office.run_until(at("2026-12-03T00:00:00"))  # past the old deadline: nothing turns red
    assert office.case(case).warning_level != "red" and "supervise" not in office.open_ids(case)
    office.run_until(at("2026-12-07T23:59:59") + SECOND)
    assert office.case(case).warning_level == "red" and "supervise" in office.open_ids(case)


def test_refused_extension_keeps_the_old_deadline(office: Office) -> None:
    case = signed(office)
    office.complete(case, "reply", {"reply_action": "extend", "extension_days": 5, "extension_reason": "人手不足"},
                    department="sthj")
    office.complete(case, "extension_approval", {"extension_approved": False, "review_note": "理由不充分"})
    assert office.task(case, "reply", "sthj").due_at == at("2026-12-02T23:59:59")


def test_non_standard_reply_goes_back_to_the_unit_without_a_new_sign_for(office: Office) -> None:
    case = signed(office)
    office.complete(case, "reply", REPLY, department="sthj")
    office.complete(case, "review", {"review_result": "nonstandard", "review_note": "未写明处理结果"})
    assert office.open_ids(case) == ["reply"]
    assert office.task(case, "reply").due_at == at("2026-12-02T23:59:59")  # same deadline
    office.complete(case, "reply", REPLY, department="sthj")
    assert office.open_ids(case) == ["review"]


def test_review_may_order_an_inspection_first(office: Office) -> None:
    case = signed(office)
    office.complete(case, "reply", REPLY, department="sthj")
    office.complete(case, "review", {"review_result": "inspect"})
    office.complete(case, "review_inspection", {"inspection_findings": "已整改", "inspected_at": "2026-11-27T10:00:00"})
    office.complete(case, "review_final", {"review_result": "accept"})
    assert office.open_ids(case) == ["callback"]


def replied(office: Office) -> commands.Started:
    """A case replied to and accepted in review, waiting for the callback."""
    case = signed(office)
    office.complete(case, "reply", REPLY, department="sthj")
    office.complete(case, "review", {"review_result": "accept"})
    return case


def test_unreachable_citizen_is_called_again_then_closed_as_unreachable(office: Office) -> None:
    case = replied(office)
    for retry_at in (at("2026-11-25T11:00:00"), at("2026-11-26T09:00:00")):  # 2 hours, then the next working day
        office.complete(case, "callback", {"callback_result": "unreachable"})
        assert office.open_ids(case) == []
        office.run_until(retry_at + SECOND)
        assert office.open_ids(case) == ["callback"]
    office.complete(case, "callback", {"callback_result": "unreachable"})  # the third: the configured maximum
    assert office.open_ids(case) == ["publish_review"]
    assert office.case(case).flags == {"callback_result": "unreachable", "unreachable": True}
    assert (office.case(case).callback_result, office.case(case).solved) == ("unreachable", None)


def test_subjective_dissatisfaction_is_handled_again_and_counted(office: Office) -> None:
    case = replied(office)
    office.clock.now = at("2026-11-27T09:00:00")  # Friday
    office.complete(case, "callback", {"callback_result": "unsatisfied", "solved": False,
                                       "unsatisfied_reason": "subjective", "unsatisfied_decision": "rehandle"})
    assert office.case(case).rehandle_count == 1 and office.case(case).status == "rehandle"
    reply = office.task(case, "reply", "sthj")  # no new sign-for; a fresh deadline
    assert reply.due_at == at("2026-12-04T23:59:59")
    office.complete(case, "reply", REPLY, department="sthj")
    office.complete(case, "review", {"review_result": "accept"})
    office.complete(case, "callback", {"callback_result": "basically_satisfied", "solved": True})
    assert (office.case(case).callback_result, office.case(case).solved) == ("basically_satisfied", True)  # 满意率
    office.complete(case, "publish_review", {"publish": False})
    assert office.status(case) == "completed" and office.case(case).rehandle_count == 1


def test_doubtful_result_is_flagged_for_upward_screening(office: Office) -> None:
    case = replied(office)
    office.complete(case, "callback", {"callback_result": "unsatisfied", "solved": True,
                                       "unsatisfied_reason": "objective", "unsatisfied_decision": "doubtful"})
    assert office.case(case).flags.get("doubtful") is True
    assert office.open_ids(case) == ["publish_review"]


def test_personal_data_and_free_text_stay_out_of_the_workflow_snapshot(office: Office) -> None:
    case = replied(office)
    with office.rt.read() as session:
        texts = dict(session.execute(sa.select(CaseText.field, CaseText.value).where(
            CaseText.case_id == case.case_id, CaseText.field == "reply_text")).all())
        snapshot = session.get(ProcessInstance, case.instance_id)
    assert texts == {"reply_text": REPLY["reply_text"]}
    assert snapshot is not None
    for secret in (REPLY["reply_text"], REPLY["public_reply"], "13812345678", "夜间施工噪音"):
        assert secret not in snapshot.snapshot


def test_repeated_rehandling_rounds_keep_the_task_tree_flat(office: Office) -> None:
    case = replied(office)
    depths = []
    for _ in range(4):
        office.complete(case, "callback", {"callback_result": "unsatisfied", "solved": False,
                                           "unsatisfied_reason": "subjective", "unsatisfied_decision": "rehandle"})
        office.complete(case, "reply", REPLY, department="sthj")
        office.complete(case, "review", {"review_result": "accept"})
        with office.rt.read() as session:
            row = session.get(ProcessInstance, case.instance_id)
            assert row is not None
            spec, subprocess_specs = office.rt.specs.get(session, row.definition_id)
        depths.append(wfops.task_depth(engine.load_workflow(row.snapshot, spec, subprocess_specs)))
    assert office.case(case).rehandle_count == 4
    assert len(set(depths)) == 1, depths  # loop subprocesses, not back edges: the depth does not grow
