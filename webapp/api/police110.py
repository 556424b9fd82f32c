"""The 110 exchange (110 警情交换, scope police110): 110 hands a non-police incident (非警务警情) over to 12345.

`POST /api/v1/police110/incidents` starts the 110 handoff process (case_110: 受理 or 退回 within its limit, then the
shared 工单办理) through the intake path the 110 screen uses: the bundle's start form checks the fields, the
caller's name and phone go encrypted into the requester row, never into workflow data. The 警情编号 identifies the
incident: a repeat, even one sent at the same moment, answers the case already opened (200), never a second case
(the partial unique index uq_hotline_case_police110_incident). 受理, 退回 and 办结 go back to 110 as outbox
messages on the `police110` channel carrying the 警情编号 (the diagram's first_response, returned and closure).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import jsonify
from flask import request
from flask.typing import ResponseReturnValue
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from processes.audit import record as audit
from processes.cases import forms
from processes.cases.models import Case
from processes.errors import Conflict
from processes.errors import FormDataInvalid
from processes.runtime import commands
from processes.runtime.context import Also
from processes.runtime.context import CommandSummary
from webapp.api import bp
from webapp.api import problems
from webapp.api.auth import current_identity
from webapp.api.auth import require_scope
from webapp.api.spec import operation
from webapp.context import audit_context
from webapp.context import now
from webapp.context import runtime
from webapp.intake.views import published_form
from webapp.messages import N_

PROCESS_KEY = "case_110"
CHANNEL = "police110"
# The body's names → the 110 intake form's fields (bpmn/case_110/forms/intake.schema.json).
FIELDS = {"incident_no": "upstream_order_id", "content": "content", "urgency": "urgency", "township": "township",
          "category": "category", "location": "location", "caller_name": "requester_name",
          "caller_phone": "requester_phone"}
NAMES = {field: name for name, field in FIELDS.items()}
NOT_OBJECT = N_("请求内容须是 JSON 对象。")
UNKNOWN = N_("表单中没有这一项")
NOT_DEPLOYED = N_("110 移交流程尚未发布，暂不能接收警情。")
INCIDENT: dict[str, Any] = {
    "type": "object", "required": ["incident_no", "content"], "additionalProperties": False, "properties": {
        "incident_no": {"type": "string", "maxLength": 64, "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
                        "description": "110 警情编号（同一编号重复推送返回同一工单）"},
        "content": {"type": "string", "minLength": 1, "maxLength": 4000, "description": "警情内容"},
        "urgency": {"type": "string", "enum": ["normal", "urgent", "critical"], "default": "normal",
                    "description": "紧急程度：一般、紧急、特急"},
        "township": {"type": "string", "maxLength": 32, "description": "所属乡镇（街道）代码"},
        "category": {"type": "string", "maxLength": 64, "description": "诉求类别（派单目录）"},
        "location": {"type": "string", "maxLength": 200, "description": "发生地址"},
        "caller_name": {"type": "string", "maxLength": 50, "description": "报警人姓名（加密保存）"},
        "caller_phone": {"type": "string", "maxLength": 32, "pattern": "^[0-9+() -]{3,32}$",
                         "description": "报警人电话（加密保存）"}}}
RECEIVED: dict[str, Any] = {
    "type": "object", "required": ["incident_no", "case_id", "case_number", "status", "created"], "properties": {
        "incident_no": {"type": "string"}, "case_id": {"type": "string"}, "case_number": {"type": "string"},
        "status": {"type": "string", "description": "工单状态（registered 已登记、returned_to_110 已退回110 …）"},
        "created": {"type": "boolean", "description": "true：本次新登记（201）；false：此前已接收（200）"}}}


def _existing(db: Session, incident_no: str) -> Case | None:
    return db.scalar(sa.select(Case).where(Case.channel == CHANNEL, Case.upstream_order_id == incident_no))


def _answer(case_id: str, number: str, status: str, incident_no: str, created: bool) -> ResponseReturnValue:
    body = {"incident_no": incident_no, "case_id": case_id, "case_number": number, "status": status,
            "created": created}
    return jsonify(body), 201 if created else 200


def read_body(body: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Return the 110 intake data of a request body and the problems by body field name."""
    if not isinstance(body, dict):
        return {}, {"_body": NOT_OBJECT}
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, value in body.items():
        if name not in FIELDS:
            errors[str(name)[:64]] = UNKNOWN
        elif value is not None and not isinstance(value, str):
            errors[name] = forms.BAD_FORMAT  # every field is text
        elif value is not None and value.strip():
            data[FIELDS[name]] = value.strip()
    data.setdefault("urgency", "normal")
    return data, errors


@bp.post("/police110/incidents")
@require_scope("police110")
@operation("接收110非警务警情", "110警情交换", RECEIVED, status=201, body=INCIDENT, errors=(409, 503),
           also_ok={200: "此警情编号此前已接收：返回已登记的工单（created 为 false）"},
           description="启动110移交流程（受理或退回、派单办理）；同一警情编号重复推送返回已登记的工单（200）。"
                       "受理、退回、办结经发件箱 police110 渠道反馈110，消息带警情编号。")
def receive_incident() -> ResponseReturnValue:
    """Receive a non-police incident from 110 and open its case, once per 警情编号."""
    data, errors = read_body(request.get_json(silent=True))
    incident_no = str(data.get("upstream_order_id", ""))
    with runtime().read() as db:
        found = _existing(db, incident_no) if incident_no and not errors else None
        if found is not None:
            return _answer(found.id, found.number, found.status, incident_no, False)
        schema = published_form(db, PROCESS_KEY, forms.INTAKE_FORM)
    if schema is None:
        return problems.problem(503, NOT_DEPLOYED)
    for field, message in forms.errors_of(schema, data).items():
        errors.setdefault(NAMES.get(field, field), message)
    if errors:
        return problems.invalid(errors)
    actor = current_identity().actor
    try:
        started = commands.open_case(runtime(), PROCESS_KEY, data, actor=actor, channel=CHANNEL,
                                     also=_registered(actor, sorted(data)))
    except FormDataInvalid as exc:
        return problems.invalid({NAMES.get(k, k): v if not v.isascii() else forms.BAD_FORMAT
                                 for k, v in exc.errors.items()} or {"_body": forms.BAD_FORMAT})
    except Conflict:
        with runtime().read() as db:  # the same incident, registered by a concurrent call: answer its case
            found = _existing(db, incident_no)
        if found is None:
            raise
        return _answer(found.id, found.number, found.status, incident_no, False)
    with runtime().read() as db:
        status = db.scalar(sa.select(Case.status).where(Case.id == started.case_id)) or "registered"
    return _answer(str(started.case_id), str(started.case_number), status, incident_no, True)


def _registered(actor: str, fields: list[str]) -> Also:
    """The registration's audit row, in its transaction: channel, process and field names, no values."""
    def write(conn: Connection, opened: CommandSummary) -> None:
        audit.record(conn, action="case.register", actor=actor, role="api", at=now(), object_type="case",
                     object_id=opened.case_number, detail={"channel": CHANNEL, "process": PROCESS_KEY,
                                                           "via": "api", "fields": fields}, **audit_context())
    return write
