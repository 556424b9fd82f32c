"""Object rules and disclosure: who sees which case and task, how the requester is shown, audited reveals."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from processes.audit.models import AuditLog
from processes.cases import access
from processes.cases import disclosure
from processes.cases.access import Viewer
from processes.cases.models import Case
from processes.errors import FormDataInvalid
from processes.runtime import assignment
from processes.runtime import commands
from processes.runtime.models import HumanTask
from tests.lifecycle_support import Office

DISPATCH = {"request_type": "complaint", "urgency": "normal", "triage_result": "dispatch"}
PERSON = {"requester_name": "王小明", "requester_phone": "13812345678", "requester_id_number": "11010119900307123X",
          "requester_address": "洞头区北岙街道中心街88号"}
OPERATOR = Viewer("op1", frozenset({"operator"}), None)
SUPERVISOR = Viewer("sup1", frozenset({"supervisor"}), None)
LEADER = Viewer("lead1", frozenset({"leader"}), None)
CALLBACK = Viewer("cb1", frozenset({"callback"}), None)
ANALYST = Viewer("an1", frozenset({"analyst"}), None)
AUDITOR = Viewer("aud1", frozenset({"auditor"}), None)


def unit(code: str) -> Viewer:
    """A department handler of one unit."""
    return Viewer(f"h-{code}", frozenset({"handler"}), code)


def caller(office: Office) -> dict[str, str]:
    """The requester with a number of their own: 13812345678 for the first case, then +1 (no 并单 offers)."""
    with office.rt.read() as db:
        registered = db.scalar(sa.select(sa.func.count()).select_from(Case)) or 0
    return {**PERSON, "requester_phone": f"13812{345678 + registered:06d}"}


def dispatched(office: Office, lead: str = "sthj", **intake: object) -> commands.Started:
    """A phone case triaged and dispatched to one unit."""
    case = office.open("case_phone", "phone", **{**caller(office), **intake})
    office.complete(case, "triage", DISPATCH)
    office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": lead})
    return case


def visible_ids(office: Office, viewer: Viewer) -> set[str]:
    """Ids of every case the viewer may open."""
    with office.rt.read() as db:
        return set(db.scalars(sa.select(Case.id).where(access.case_filter(viewer))))


def test_units_see_only_their_cases_and_the_office_sees_all(office: Office) -> None:
    mine = dispatched(office, "sthj")
    theirs = dispatched(office, "zjj")
    undispatched = office.open("case_phone", "phone", **caller(office))
    assert visible_ids(office, unit("sthj")) == {mine.case_id}
    assert visible_ids(office, unit("zjj")) == {theirs.case_id}
    assert visible_ids(office, OPERATOR) == {mine.case_id, theirs.case_id, undispatched.case_id}
    for outsider in (ANALYST, AUDITOR, Viewer("h-none", frozenset({"handler"}), None)):
        assert visible_ids(office, outsider) == set()
    with office.rt.read() as db:
        assert access.visible_case(db, unit("zjj"), mine.case_id) is None  # no IDOR: another unit's id is "absent"
        assert access.visible_case(db, unit("sthj"), mine.case_id) is not None


def test_an_assisting_unit_sees_the_case_through_its_task(office: Office) -> None:
    case = office.open("case_phone", "phone", **caller(office))
    office.complete(case, "triage", DISPATCH)
    office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "sthj",
                                       "assisting_departments": ["zjj"]})
    assert case.case_id in visible_ids(office, unit("zjj"))
    assert case.case_id not in visible_ids(office, unit("scjg"))


def test_township_reporters_see_only_their_townships_reports(office: Office) -> None:
    report = office.open("case_township", "township", township="luxi", content="供水不足")
    other = office.open("case_township", "township", township="beiao", content="路灯")
    phone_in_luxi = office.open("case_phone", "phone", township="luxi")
    reporter = Viewer("rep-luxi", frozenset({"township_reporter"}), "luxi")
    assert visible_ids(office, reporter) == {report.case_id}
    assert other.case_id not in visible_ids(office, reporter)
    assert phone_in_luxi.case_id not in visible_ids(office, reporter)


def test_task_reach_is_role_and_unit_and_claims_are_respected(office: Office) -> None:
    case = dispatched(office, "sthj")
    sign = office.task(case, "sign_for")
    with office.rt.read() as db:
        assert access.workable_task(db, unit("sthj"), sign.id) is not None
        assert access.workable_task(db, unit("zjj"), sign.id) is None
        assert access.workable_task(db, OPERATOR, sign.id) is None
    assignment.claim(office.rt, sign.instance_id, sign.id, actor="h-sthj")
    with office.rt.read() as db:
        claimed = db.get(HumanTask, sign.id)
    assert claimed is not None
    assert access.may_act(unit("sthj"), claimed)
    colleague = Viewer("h-sthj-2", frozenset({"handler"}), "sthj")
    assert not access.may_act(colleague, claimed)  # claimed by someone else: they see it but cannot complete it
    assert not access.may_hand_over(colleague, claimed)
    assert access.may_hand_over(Viewer("duty", frozenset({"duty_leader"}), None), claimed)


def test_requester_is_masked_by_default_and_full_while_holding_a_contact_task(office: Office) -> None:
    case = dispatched(office, "sthj")
    with office.rt.read() as db:
        row = db.get(Case, case.case_id)
        assert row is not None
        shown = disclosure.requester_view(db, OPERATOR, row)
        assert (shown.name, shown.phone, shown.id_number, shown.mode) == (
            "王**", "138****5678", "110***********123X", "masked")
        assert shown.address == "洞头区北岙街****"
        assert not shown.may_reveal
        assert disclosure.requester_view(db, unit("sthj"), row).mode == "masked"  # not holding the task yet
    sign = office.task(case, "sign_for")
    assignment.claim(office.rt, sign.instance_id, sign.id, actor="h-sthj")
    with office.rt.read() as db:
        row = db.get(Case, case.case_id)
        assert row is not None
        held = disclosure.requester_view(db, unit("sthj"), row)
        assert (held.name, held.phone, held.mode) == ("王小明", "13812345678", "contact")
        assert held.id_number == "110***********123X"  # never in full through a task
        assert disclosure.requester_view(db, CALLBACK, row).mode == "masked"  # holds no task on this case


def test_a_confidential_requester_is_hidden_from_units_even_while_they_hold_the_task(office: Office) -> None:
    case = dispatched(office, "sthj", confidential=True)
    sign = office.task(case, "sign_for")
    assignment.claim(office.rt, sign.instance_id, sign.id, actor="h-sthj")
    with office.rt.read() as db:
        row = db.get(Case, case.case_id)
        assert row is not None and access.is_confidential(row)
        hidden = disclosure.requester_view(db, unit("sthj"), row)
        assert (hidden.mode, hidden.name, hidden.phone) == ("shielded", "（保密）", "（保密）")
        assert disclosure.requester_view(db, OPERATOR, row).mode == "masked"
        assert not disclosure.requester_view(db, SUPERVISOR, row).may_reveal  # only a leader, for confidential
        assert disclosure.requester_view(db, LEADER, row).may_reveal


def reveal_rows(office: Office) -> list[AuditLog]:
    """Every reveal audit row."""
    with office.rt.read() as db:
        return list(db.scalars(sa.select(AuditLog).where(AuditLog.action == "pii.reveal").order_by(AuditLog.id)))


def test_reveal_needs_a_reason_and_a_role_and_is_audited_either_way(office: Office) -> None:
    case = dispatched(office, "sthj")
    context = {"source_ip": "10.0.0.9", "session_hash": None, "request_id": "r1"}
    with office.rt.write() as db, db.begin():
        row = db.get(Case, case.case_id)
        assert row is not None
        with pytest.raises(FormDataInvalid):
            disclosure.reveal(db, SUPERVISOR, row, "看看", now=office.clock(), audit_context=context)
        with pytest.raises(FormDataInvalid):
            disclosure.reveal(db, SUPERVISOR, row, "核实 13812345678 的情况", now=office.clock(),
                              audit_context=context)
        full = disclosure.reveal(db, SUPERVISOR, row, "督办需联系诉求人核实", now=office.clock(),
                                 audit_context=context)
        refused = disclosure.reveal(db, OPERATOR, row, "想看完整号码核对", now=office.clock(),
                                    audit_context=context)
    assert full is not None and full["phone"] == "13812345678" and full["id_number"] == "11010119900307123X"
    assert refused is None
    rows = reveal_rows(office)
    assert [(r.actor, r.result, r.object_id) for r in rows] == [
        ("sup1", "success", row.number), ("op1", "denied", row.number)]
    assert rows[0].detail["reason"] == "督办需联系诉求人核实"
    assert "13812345678" not in str(rows[0].detail)


def test_form_data_is_checked_against_the_task_schema_before_the_engine_runs(office: Office) -> None:
    case = dispatched(office, "sthj")
    sign, before = office.task(case, "sign_for"), office.status(case)
    with pytest.raises(FormDataInvalid) as missing:
        commands.complete_task(office.rt, sign.instance_id, sign.id, {}, actor="h-sthj")
    assert missing.value.errors == {"sign_decision": "此项必填"}
    with pytest.raises(FormDataInvalid) as wrong:
        commands.complete_task(office.rt, sign.instance_id, sign.id,
                               {"sign_decision": "maybe", "lead_department": "zjj"}, actor="h-sthj")
    assert wrong.value.errors == {"sign_decision": "请从列表中选择", "lead_department": "表单中没有这一项"}
    with pytest.raises(FormDataInvalid) as conditional:
        commands.complete_task(office.rt, sign.instance_id, sign.id, {"sign_decision": "return"}, actor="h-sthj")
    assert "return_reason" in conditional.value.errors
    assert office.status(case) == before == "running"  # nothing ran: the instance is not in error
    assert office.task(case, "sign_for").id == sign.id
    office.complete(case, "sign_for", {"sign_decision": "sign"})
    assert "reply" in office.open_ids(case)
