"""Orders pushed by the upstream platform (民呼我为 / 12345 推送, scope platform): `POST /api/v1/platform/orders`.

One order (a JSON object) or up to MAX_ORDERS in an array, each through the same platform intake path as the
file import (`webapp.platform.orders.Intake`): keys are the platform's labels (工单编号, 联系电话 …) or the form's
field names. Idempotent by order number: a repeat, even one sent at the same moment, answers `duplicate` with
the case the first one opened, never a second case. The answer lists every order's outcome; refused orders say why.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask import request
from flask.typing import ResponseReturnValue

from processes.exchange import platform_import
from webapp.api import bp
from webapp.api import problems
from webapp.api.auth import current_identity
from webapp.api.auth import require_scope
from webapp.api.spec import operation
from webapp.context import runtime
from webapp.messages import N_
from webapp.platform.orders import CREATED
from webapp.platform.orders import DUPLICATE
from webapp.platform.orders import NOT_DEPLOYED
from webapp.platform.orders import Intake
from webapp.platform.orders import NotDeployed

MAX_ORDERS = 100
NOT_ORDERS = N_("请求内容须是一张工单（JSON 对象）或工单数组。")
TOO_MANY = N_("一次最多推送 %(n)s 张工单，请分批推送。")
ORDER: dict[str, Any] = {
    "type": "object", "required": ["upstream_order_id"], "additionalProperties": True,
    "description": "一张上级工单；键可用平台的中文列名（工单编号、联系电话……）或下列字段名。",
    "properties": {
        "upstream_order_id": {"type": "string", "maxLength": 64, "description": "上级工单编号（幂等键）"},
        "upstream_deadline": {"type": "string", "description": "上级办结时限，如 2026-11-30 12:00"},
        "request_type": {"type": "string", "description": "诉求类型：投诉、求助……或 complaint、help……"},
        "urgency": {"type": "string", "description": "紧急程度：一般、紧急、特急"},
        "township": {"type": "string", "description": "所属乡镇（街道）代码或名称"},
        "category": {"type": "string", "description": "诉求类别（派单目录）"},
        "content": {"type": "string", "maxLength": 4000, "description": "诉求内容"},
        "location": {"type": "string", "maxLength": 200, "description": "发生地址"},
        "requester_name": {"type": "string", "maxLength": 50, "description": "诉求人（加密保存）"},
        "requester_phone": {"type": "string", "maxLength": 32, "description": "联系电话（加密保存）"}}}
BODY: dict[str, Any] = {"oneOf": [ORDER, {"type": "array", "minItems": 1, "maxItems": MAX_ORDERS, "items": ORDER}]}
OUTCOME = {"type": "object", "required": ["row", "order_no", "outcome"], "properties": {
    "row": {"type": "integer", "description": "在请求中的序号（从 1 起）"},
    "order_no": {"type": "string"}, "outcome": {"type": "string", "enum": ["created", "duplicate", "refused"]},
    "reason": {"type": ["string", "null"], "description": "重复或未登记的原因"},
    "case_number": {"type": ["string", "null"], "description": "本系统工单编号"}}}
RECEIVED = {"type": "object", "required": ["items", "created", "duplicates", "refused"], "properties": {
    "items": {"type": "array", "items": OUTCOME}, "created": {"type": "integer"},
    "duplicates": {"type": "integer"}, "refused": {"type": "integer"}}}


@bp.post("/platform/orders")
@require_scope("platform")
@operation("推送上级工单", "上级平台交换", RECEIVED, body=BODY, errors=(503,),
           description="民呼我为 / 12345 平台推送工单，经受理件转录的登记校验逐张登记；按上级工单编号幂等："
                       "重复推送（含同时推送）答复 duplicate 及已登记的工单编号。每张工单的结果都在 items 中。")
def push_orders() -> ResponseReturnValue:
    """Register pushed upstream orders, once per order number; answer each order's outcome."""
    body = request.get_json(silent=True)
    orders = body if isinstance(body, list) else [body] if isinstance(body, dict) else None
    if not orders:
        return problems.problem(400, NOT_ORDERS)
    if len(orders) > MAX_ORDERS:
        return problems.problem(400, TOO_MANY % {"n": MAX_ORDERS})
    try:
        intake = Intake(runtime(), actor=current_identity().actor, via="push", role="api")
    except NotDeployed:
        return problems.problem(503, NOT_DEPLOYED)
    items = [intake.register(platform_import.object_row(n, item)[0]) for n, item in enumerate(orders, start=1)]
    counts = {"created": sum(o.outcome == CREATED for o in items),
              "duplicates": sum(o.outcome == DUPLICATE for o in items)}
    return jsonify(items=[o.as_dict() for o in items], refused=len(items) - sum(counts.values()), **counts)
