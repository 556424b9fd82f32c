"""Versioned payloads of outbox messages (发件箱消息格式), one shape per channel, built from the case tables.

Every payload carries `schema` (hotline.outbox.<channel>) and `v` (1), the kind and its Chinese name, when the
office sent it, the office's case number, the addressee resolved to a readable name (`to`), and per channel:

- sms: `text` (the Chinese body from the kind's template), `deadline` and `deadline_stage`;
- upstream (民呼我为): `upstream_order_id`, `upstream_deadline`, `result`; or `body` (the upward report);
- police110: `incident_no` (110 警情编号), `deadline`, `result`;
- township (街道乡镇): `result`;
- internal (security alerts): `user_id`, `detail`.

Personal values (a citizen's phone, names, free texts such as a reply or a return reason) are never in a payload:
`personal` holds pointers that `outbox_personal.resolve` follows when the message is delivered or shown.
Messages queued before this shape (`{"target", "case_id"}`, no `v`) still list and deliver unchanged.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any
from typing import NotRequired
from typing import TypedDict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.accounts.roles import ROLES
from processes.cases.models import Case
from processes.cases.models import CaseText
from processes.reference.models import CaseDeadline
from processes.reference.models import Department
from processes.runtime import outbox_text
from processes.runtime.models import HumanTask

VERSION = 1
CHANNELS = ("sms", "upstream", "police110", "township", "internal")
OFFICE_NAME = "洞头区12345热线"
# Receivers that are not units of the reference table.
FIXED_PARTIES = {
    "police110": ("police110", "110", "110指挥中心"),
    "upstream": ("platform", "mhww", "民呼我为统一平台（省市12345）"),
    "requester": ("requester", None, "诉求人"),
}
# Which stage's deadline an SMS kind quotes (签收 / 办理 / 110受理), read from case_deadline.
SMS_STAGES = {"dispatch_notice": "sign_for", "sign_overdue": "sign_for", "urging": "handle", "overdue": "handle",
              "supervision_notice": "handle", "notice_candidate": "handle", "accept_overdue": "accept_110"}
# Free text a kind carries, as (name in payload, case_text field, BPMN ids of the tasks that decide it).
DECISION_TEXTS = {
    ("police110", "returned"): ("reason", "return_reason", ("accept_110", "accept_110_escalated")),
    ("police110", "transfer"): ("reason", "transfer_note", ("triage",)),
    ("township", "rejected"): ("reason", "review_note", ("district_review",)),
    ("sms", "supervision_notice"): ("note", "supervision_note", ("supervise",)),
}
OUTCOMES = {"closed": "closed", "published": "closed", "archived": "closed", "answered": "closed",
            "transferred": "transferred", "rejected": "rejected", "merged": "merged"}
OUTCOME_TEXTS = {"transferred": ("transfer_note", ("triage",)), "rejected": ("reject_reason", ("triage",))}
ANSWER_FIELDS = ("public_reply", "direct_answer")  # what may leave the office; reply_text is internal (内部)


class Party(TypedDict):
    """An addressee: a unit, township, role, the citizen, 110 or the upstream platform, with a readable name."""

    type: str
    code: str | None
    name: str
    address: str | None  # SMS gateway address of a unit's duty phone; a person's number is never here


class Result(TypedDict, total=False):
    """What came of a case (办理结果): outcome, when, on time or not, callback result, handling units."""

    outcome: str
    outcome_name: str
    at: str
    on_time: bool | None
    deadline: str | None
    callback_result: str | None
    doubtful: bool
    units: list[dict[str, str]]
    merged_into: str | None


class Payload(TypedDict):
    """The common envelope of every channel, version 1; channel fields are NotRequired per channel."""

    schema: str
    v: int
    kind: str
    kind_name: str
    sent_at: str  # when the office sent it (the command's time); the row's delivered_at says when it left
    case_id: str | None
    case_number: str | None
    target: str | None  # the routing value the diagram gave, as before versioned shapes
    to: Party
    personal: dict[str, dict[str, Any]]  # name -> pointer to a personal value, resolved at delivery
    case: NotRequired[dict[str, Any]]
    text: NotRequired[str]
    deadline: NotRequired[str | None]
    deadline_stage: NotRequired[str | None]
    incident_no: NotRequired[str | None]
    upstream_order_id: NotRequired[str | None]
    upstream_deadline: NotRequired[str | None]
    result: NotRequired[Result]
    body: NotRequired[dict[str, Any]]
    user_id: NotRequired[str]
    detail: NotRequired[dict[str, Any]]


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in Beijing time (+08:00), as receivers and the deadline handlers write it."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(outbox_text.OFFICE_TZ).isoformat()


def build(session: Session, *, channel: str, kind: str, target: str | None, case_id: str | None,
          instance_id: str, now: datetime, body: dict[str, Any] | None = None) -> Payload:
    """Compose the versioned payload of a message a service task sends (outbox.send), in its command."""
    session.flush()  # an earlier step of this command may have changed the case row (status, flags)
    case = session.get(Case, case_id, populate_existing=True) if case_id else None
    payload = _envelope(channel, kind, target, case, now, _party(session, channel, target))
    if case is not None:
        payload["case"] = _case_block(session, case)
        _BUILDERS[channel](session, payload, case, instance_id, now)
    if body:
        payload["body"] = body
    return payload


def security_alert(kind: str, *, to_role: str, user_id: str, detail: dict[str, Any], now: datetime) -> Payload:
    """Compose an internal notice to an administrator role (安全告警); the account name is read when shown."""
    payload = _envelope("internal", kind, to_role, None, now, _role(to_role))
    payload["user_id"], payload["detail"] = user_id, detail
    payload["personal"]["account"] = {"ref": "app_user", "id": user_id, "field": "username"}
    return payload


def _envelope(channel: str, kind: str, target: str | None, case: Case | None, now: datetime, to: Party) -> Payload:
    return Payload(schema=f"hotline.outbox.{channel}", v=VERSION, kind=kind,
                   kind_name=outbox_text.KIND_NAMES.get(kind, kind), sent_at=iso(now) or "",
                   case_id=case.id if case else None, case_number=case.number if case else None, target=target,
                   to=to, personal={})


def _party(session: Session, channel: str, target: str | None) -> Party:
    """Resolve the addressee to a readable name: the channel's fixed receiver, a role, a unit or the citizen."""
    fixed = FIXED_PARTIES.get(channel) or FIXED_PARTIES.get(target or "")
    if fixed is not None:
        return Party(type=fixed[0], code=fixed[1], name=fixed[2], address=None)
    if target in ROLES:
        return _role(target)
    unit = session.get(Department, target) if target else None
    if unit is None:
        return Party(type="unit", code=target, name=target or "（未指定）", address=None)
    return Party(type=unit.kind if unit.kind == "township" else "unit", code=unit.code, name=unit.name,
                 address=unit.sms_target)


def _role(code: str) -> Party:
    role = ROLES.get(code)
    return Party(type="role", code=code, name=role.name_zh if role else code, address=None)


def _case_block(session: Session, case: Case) -> dict[str, Any]:
    township = _units(session, [case.township]) if case.township else []
    return {"channel": case.channel, "category": case.category, "request_type": case.request_type,
            "urgency": case.urgency, "status": case.status, "township": township[0] if township else None}


def _units(session: Session, codes: list[str | None]) -> list[dict[str, str]]:
    """Codes and names of units (主办、协办) in the given order; an unknown code keeps its code as name."""
    wanted = [c for c in dict.fromkeys(codes) if c]
    names = dict(session.execute(sa.select(Department.code, Department.name).where(Department.code.in_(wanted))).all())
    return [{"code": c, "name": str(names.get(c, c))} for c in wanted]


def _sms(session: Session, payload: Payload, case: Case, instance_id: str, now: datetime) -> None:
    kind, to = payload["kind"], payload["to"]
    stage = SMS_STAGES.get(kind)
    due = _stage_due(session, instance_id, stage, to["code"] if to["type"] in ("unit", "township") else "", case)
    late = _units(session, list(session.scalars(sa.select(HumanTask.department).where(  # units still overdue
        HumanTask.case_id == case.id, HumanTask.status == "open", HumanTask.due_at <= now)))) \
        if kind == "notice_candidate" else []
    payload["deadline"], payload["deadline_stage"] = iso(due), stage if due else None
    payload["text"] = outbox_text.sms_text(
        kind, to_type=to["type"], to_name=to["name"], number=case.number, category=case.category,
        due=iso(due), incident=case.upstream_order_id if case.channel == "police110" else None,
        units="、".join(u["name"] for u in late))
    if to["type"] == "requester":  # the number is read from the encrypted requester row when it is sent
        payload["personal"]["to_phone"] = {"ref": "requester", "field": "phone"}
    _decision_text(session, payload, case, instance_id)


def _stage_due(session: Session, instance_id: str, stage: str | None, unit: str | None, case: Case) -> datetime | None:
    """The stage's deadline for this unit, else for the case, else the case's handling deadline."""
    if stage is None:
        return None
    rows = session.execute(sa.select(CaseDeadline.unit, CaseDeadline.due_at).where(
        CaseDeadline.instance_id == instance_id, CaseDeadline.stage == stage)).all()
    found = dict(rows)
    return found.get(unit or "") or found.get("") or (case.deadline if stage == "handle" else None)


def _police110(session: Session, payload: Payload, case: Case, instance_id: str, now: datetime) -> None:
    kind = payload["kind"]
    payload["incident_no"] = case.upstream_order_id if case.channel == "police110" else None
    payload["deadline"] = iso(case.deadline)
    if kind == "returned":
        payload["result"] = Result(outcome="returned", outcome_name="退回110", at=iso(now) or "")
    elif kind == "first_response":
        payload["result"] = Result(outcome="accepted", outcome_name="已受理", at=iso(now) or "")
    elif kind == "closure":
        payload["result"] = _outcome(session, payload, case, instance_id, now, case.deadline)
    elif kind == "transfer":  # 110 needs the matter and a way to reach the caller: read from the case when sent
        payload["personal"].update({
            "content": {"ref": "case", "field": "content"}, "location": {"ref": "case", "field": "location"},
            "caller_name": {"ref": "requester", "field": "name"},
            "caller_phone": {"ref": "requester", "field": "phone"}})
    _decision_text(session, payload, case, instance_id)


def _upstream(session: Session, payload: Payload, case: Case, instance_id: str, now: datetime) -> None:
    payload["upstream_order_id"] = case.upstream_order_id
    payload["upstream_deadline"] = iso(case.upstream_deadline)
    if payload["kind"] == "writeback":
        payload["result"] = _outcome(session, payload, case, instance_id, now, case.upstream_deadline or case.deadline)


def _township(session: Session, payload: Payload, case: Case, instance_id: str, now: datetime) -> None:
    if payload["kind"] == "rejected":
        payload["result"] = Result(outcome="rejected", outcome_name="不予受理", at=iso(now) or "")
    else:
        payload["result"] = _outcome(session, payload, case, instance_id, now, case.deadline)
    _decision_text(session, payload, case, instance_id)


def _outcome(session: Session, payload: Payload, case: Case, instance_id: str, now: datetime,
             deadline: datetime | None) -> Result:
    """What came of the case when it ended: outcome, 办结 time, on time or not, callback, units; texts as pointers."""
    outcome = OUTCOMES.get(case.status, case.status)
    # The 挂网审核 task opens in the command that closes the case (办结), so its creation is the closing time.
    closed = session.scalar(sa.select(sa.func.max(HumanTask.created_at)).where(
        HumanTask.instance_id == instance_id, HumanTask.bpmn_id == "publish_review")) if outcome == "closed" else None
    at = closed or now
    flags = case.flags or {}
    merged = session.scalar(sa.select(Case.number).where(Case.id == case.duplicate_of)) if case.duplicate_of else None
    field, tasks = OUTCOME_TEXTS.get(outcome, (None, ()))
    ref = _text_ref(session, case.id, instance_id, (field,), tasks) if field else \
        _text_ref(session, case.id, None, ANSWER_FIELDS, ())
    if ref is not None:
        payload["personal"]["reason" if field else "answer"] = ref
    return Result(outcome=outcome, outcome_name=outbox_text.OUTCOME_NAMES.get(outcome, outcome), at=iso(at) or "",
                  on_time=(at <= deadline) if deadline and outcome == "closed" else None, deadline=iso(deadline),
                  callback_result=flags.get("callback_result"), doubtful=bool(flags.get("doubtful")),
                  units=_units(session, [case.lead_department, *(case.assisting_departments or [])]),
                  merged_into=merged)


def _decision_text(session: Session, payload: Payload, case: Case, instance_id: str) -> None:
    """Point at the free text the deciding task recorded (退回理由, 审核意见, 督办意见 …), if it wrote one."""
    spec = DECISION_TEXTS.get((payload["schema"].rpartition(".")[2], payload["kind"]))
    if spec is not None:
        ref = _text_ref(session, case.id, instance_id, (spec[1],), spec[2])
        if ref is not None:
            payload["personal"][spec[0]] = ref


def _text_ref(session: Session, case_id: str, instance_id: str | None, fields: tuple[str, ...],
              tasks: tuple[str, ...]) -> dict[str, Any] | None:
    """A pointer to the newest case_text row of these fields (written by these tasks); rows are never changed."""
    query = sa.select(CaseText.id, CaseText.field).where(CaseText.case_id == case_id, CaseText.field.in_(fields))
    if tasks:
        query = query.join(HumanTask, HumanTask.id == CaseText.task_id).where(
            HumanTask.instance_id == instance_id, HumanTask.bpmn_id.in_(tasks))
    row = session.execute(query.order_by(CaseText.id.desc()).limit(1)).first()
    return {"ref": "case_text", "id": row.id, "field": row.field} if row else None


_BUILDERS = {"sms": _sms, "upstream": _upstream, "police110": _police110, "township": _township}
