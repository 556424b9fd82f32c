"""Registering a case over the API (登记, scope cases:write): the intake screens' form, validation and command.

The body names the channel and the fields of its published intake form; they are checked as the screen checks
them (webapp/api/forms.py) and the case is opened by the same command with the same audit row
(`commands.open_case`, action case.register, actor api:<name>). With an `Idempotency-Key` header a repeat of the
same request answers the case it made the first time (201, `Idempotent-Replayed: true`), the same key with another
body 422; the key is stored in the registration's own transaction, so of two simultaneous repeats one registers
and the other answers 409 (its retry is then a replay).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa
from flask import jsonify
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import Connection

from processes.audit import record as audit
from processes.cases import forms as case_forms
from processes.cases.models import Case
from processes.errors import FormDataInvalid
from processes.integration.keys import ApiKeyIdentity
from processes.integration.models import ApiIdempotency
from processes.reference.models import Department
from processes.runtime import commands
from processes.runtime.context import Also
from processes.runtime.context import CommandSummary
from webapp import schemaforms
from webapp.api import bp
from webapp.api import forms
from webapp.api import problems
from webapp.api import schemas
from webapp.api.auth import current_identity
from webapp.api.auth import require_scope
from webapp.api.spec import Param
from webapp.api.spec import operation
from webapp.context import audit_context
from webapp.context import now
from webapp.context import runtime
from webapp.intake.channels import CHANNELS
from webapp.intake.views import published_form
from webapp.messages import N_
from webapp.schemaforms import choices
from webapp.tasks.page import chinese

# The screens an integration may register through; 民呼我为 and 110 orders arrive by their own exchanges.
API_CHANNELS = ("phone", "visit", "township")
IDEMPOTENCY_HEADER = "Idempotency-Key"
BAD_CHANNEL = N_("请从列表中选择登记渠道（phone、visit、township）。")
TOWNSHIP_ONLY = N_("民情难题上报只能由乡镇（街道）的接口密钥提交。")
NOT_DEPLOYED = N_("该渠道的流程尚未发布，暂不能登记。请联系系统管理员。")
BAD_IDEMPOTENCY_KEY = N_("Idempotency-Key 应为 1 至 200 个可见字符。")
NO_CASE_YET = N_("该工单刚被他人修改，请刷新页面后重试。")
KEY_REUSED = N_("该 Idempotency-Key 已用于另一请求内容，请换一个键。")
BODY = {"type": "object", "required": ["channel", "data"], "properties": {
    "channel": {"type": "string", "enum": list(API_CHANNELS), "description": "登记渠道"},
    "data": {"type": "object", "description": "该渠道登记表单的字段（见 GET /api/v1/definitions/{key}/versions/"
                                              "{version} 的 intake.schema.json），如 request_type、urgency、content"}}}


def _request_hash(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _created(case: Case, replayed: bool = False) -> ResponseReturnValue:
    """Answer 201 with the new case and its address."""
    body = {"id": case.id, "number": case.number, "status": case.status, "channel": case.channel}
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_case", case_id=body["id"])
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _replay(identity: ApiKeyIdentity, key: str, digest: str) -> ResponseReturnValue | None:
    """Answer a repeated Idempotency-Key: the first case again, or 422 for another body; None when new."""
    with runtime().read() as db:
        seen = db.scalar(sa.select(ApiIdempotency).where(ApiIdempotency.api_key_id == identity.key_id,
                                                         ApiIdempotency.idempotency_key == key))
        if seen is None:
            return None
        if seen.request_hash != digest:
            return problems.problem(422, KEY_REUSED, code="idempotency_key_reused")
        case = db.get(Case, seen.case_id)
    return _created(case, replayed=True) if case is not None else None


def _writes(identity: ApiKeyIdentity, channel: str, data: dict[str, Any], key: str | None, digest: str) -> Also:
    """The registration's audit row and idempotency key, in its own transaction."""
    def write(conn: Connection, opened: CommandSummary) -> None:
        audit.record(conn, action="case.register", actor=identity.actor, role="api", at=now(), object_type="case",
                     object_id=opened.case_number, detail={"channel": channel, "fields": sorted(data), "via": "api"},
                     after={k: data[k] for k in ("request_type", "urgency", "township") if k in data},
                     **audit_context())
        if key is not None and opened.case_id is not None:
            conn.execute(sa.insert(ApiIdempotency).values(api_key_id=identity.key_id, idempotency_key=key,
                                                          request_hash=digest, case_id=opened.case_id,
                                                          created_at=now()))
    return write


@bp.post("/cases")
@require_scope("cases:write")
@operation("登记工单", "工单", schemas.CREATED, status=201, body=BODY, errors=[409, 422, 503],
           params=[Param(IDEMPOTENCY_HEADER, {"type": "string", "minLength": 1, "maxLength": 200},
                         "同一键重复提交时返回第一次登记的工单，不会重复登记", where="header")],
           headers={"Location": {"type": "string"}},
           description="按该渠道登记页面的表单校验（必填、可选值、不得在标题中填写号码 …），与页面登记同一命令和审计。")
def create_case() -> ResponseReturnValue:
    """Register a case through an intake channel's form, idempotently when the caller gives a key."""
    identity, payload = current_identity(), forms.body()
    if payload is None:
        return problems.problem(400, forms.NOT_OBJECT)
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not (1 <= len(key) <= 200 and key.isprintable()):
        return problems.invalid({IDEMPOTENCY_HEADER: BAD_IDEMPOTENCY_KEY}, where="header")
    digest = _request_hash(payload)
    if key is not None and (replayed := _replay(identity, key, digest)) is not None:
        return replayed
    channel_slug, data = payload.get("channel"), payload.get("data")
    if channel_slug not in API_CHANNELS:
        return problems.invalid({"channel": BAD_CHANNEL})
    if not isinstance(data, dict):
        return problems.invalid({"data": forms.NOT_DATA_OBJECT})
    channel = CHANNELS[str(channel_slug)]
    with runtime().read() as db:
        township = _own_township(db, identity) if channel.own_township else None
        if channel.own_township and township is None:
            return problems.problem(403, TOWNSHIP_ONLY, code="township_only")
        schema = published_form(db, channel.process_key, case_forms.INTAKE_FORM)
        if schema is None:
            return problems.problem(503, NOT_DEPLOYED, code="not_deployed")
        spec = schemaforms.describe(schema, choices.lookup(db, None), start=True,
                                    fixed={"township": township} if township else {})
    typed, errors = forms.read(spec, schema, data)
    if errors:
        return problems.invalid({f"data/{name}": text for name, text in errors.items()})
    try:
        started = commands.open_case(runtime(), channel.process_key, typed, actor=identity.actor,
                                     channel=channel.channel, also=_writes(identity, channel.channel, typed, key,
                                                                           digest))
    except FormDataInvalid as error:
        return problems.invalid({f"data/{k}": v for k, v in chinese(error.errors or {"_form": str(error)}).items()})
    with runtime().read() as db:
        case = db.get(Case, started.case_id)
    if case is None:  # registered and merged away in the same breath cannot happen; refuse rather than guess
        return problems.problem(409, NO_CASE_YET)
    return _created(case)


def _own_township(db: Any, identity: ApiKeyIdentity) -> str | None:
    """Return the key's township when its unit is one (民情难题 are reported by their own township)."""
    if identity.department is None:
        return None
    kind = db.scalar(sa.select(Department.kind).where(Department.code == identity.department))
    return identity.department if kind == "township" else None
