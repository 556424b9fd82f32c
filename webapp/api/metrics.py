"""The office's figures over the API (统计指标, scope metrics:read): the metrics API's rates for a period.

Read from the rollup the dashboard reads (processes/metrics/rollup.py). A unit's key gets its own unit's figures
only (department fixed to its unit), a township's key its township's; the office's key any.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import jsonify
from flask import request
from flask.typing import ResponseReturnValue

from processes.metrics import METRICS
from processes.metrics import rollup
from processes.metrics.periods import DIMENSIONS
from processes.metrics.periods import GRAINS
from processes.metrics.periods import MAX_DAYS
from processes.metrics.periods import Filters
from processes.metrics.periods import Period
from processes.reference.models import Department
from webapp.api import bp
from webapp.api import problems
from webapp.api.auth import current_identity
from webapp.api.auth import require_scope
from webapp.api.schemas import obj
from webapp.api.spec import Param
from webapp.api.spec import operation
from webapp.context import runtime
from webapp.messages import N_

BAD_DATE = N_("日期格式不正确，应为 2026-11-25。")
DATE_ORDER = N_("开始日期不能晚于结束日期。")
TOO_LONG = N_("统计周期最长 1098 天。")  # MAX_DAYS
CHOOSE = N_("请从列表中选择。")
FIGURE = obj(["metric", "group", "numerator", "denominator", "rate"], metric={"type": "string"},
             group={"type": "object", "additionalProperties": {"type": "string"}},
             numerator={"type": "integer"}, denominator={"type": "integer"},
             rate={"type": ["number", "null"]})
DATE: dict[str, Any] = {"type": "string", "format": "date"}
ANSWER = obj(["from", "to", "items"], **{"from": DATE, "to": DATE, "items": {"type": "array", "items": FIGURE}})
PARAMS = [Param("from", {"type": "string", "format": "date"}, "统计周期第一天（北京时间）", required=True),
          Param("to", {"type": "string", "format": "date"}, "统计周期最后一天", required=True),
          Param("metric", {"type": "string", "enum": list(METRICS)}, "只要这一项指标"),
          Param("group_by", {"type": "string", "enum": [*DIMENSIONS, *GRAINS]}, "分组：维度或日/周/月"),
          *(Param(name, {"type": "string", "maxLength": 64}, "只统计这一值") for name in DIMENSIONS)]


def _day(name: str, errors: dict[str, str]) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        errors[name] = BAD_DATE
        return None


def _period(errors: dict[str, str]) -> Period | None:
    first, last = _day("from", errors), _day("to", errors)
    if first is None or last is None:
        return None
    if last < first:
        errors["to"] = DATE_ORDER
        return None
    if (last - first).days >= MAX_DAYS:
        errors["to"] = TOO_LONG
        return None
    return Period(first, last)


@bp.get("/metrics")
@require_scope("metrics:read")
@operation("统计指标", "统计", ANSWER, params=PARAMS,
           description="直办率、及时签收率、按时办结率、满意率等，含分子、分母和比率（无分母时为 null）。")
def metrics() -> ResponseReturnValue:
    """Answer the figures of a period, optionally by one dimension or grain and narrowed by dimension values."""
    errors: dict[str, str] = {}
    period = _period(errors)
    metric, group_by = request.args.get("metric"), request.args.get("group_by")
    if metric is not None and metric not in METRICS:
        errors["metric"] = CHOOSE
    if group_by is not None and group_by not in (*DIMENSIONS, *GRAINS):
        errors["group_by"] = CHOOSE
    if errors or period is None:
        return problems.invalid(errors, where="query")
    filters = Filters(**{name: request.args[name] for name in DIMENSIONS if name in request.args})
    identity = current_identity()
    with runtime().read() as db:
        if identity.department is not None:  # a unit or township sees its own figures, whatever it asks
            kind = db.scalar(sa.select(Department.kind).where(Department.code == identity.department))
            filters = replace(filters, **{"township" if kind == "township" else "department": identity.department})
        found = rollup.figures(db, period, group_by=(group_by,) if group_by else (), filters=filters,
                               metrics=(metric,) if metric else None)
    keys = [group_by] if group_by else []
    return jsonify({"from": period.start.isoformat(), "to": period.end.isoformat(), "items": [
        {"metric": f.metric, "group": dict(zip(keys, f.group, strict=False)), "numerator": f.numerator,
         "denominator": f.denominator, "rate": f.rate} for f in found]})
