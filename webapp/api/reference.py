"""Reference data over the API (基础数据, scope reference:read): units, townships and the 诉求分类 of the catalogue."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import jsonify
from flask.typing import ResponseReturnValue

from processes.reference.models import Department
from webapp.api import bp
from webapp.api.auth import require_scope
from webapp.api.spec import operation
from webapp.context import runtime
from webapp.schemaforms import choices

UNIT = {"type": "object", "required": ["code", "name", "kind"], "properties": {
    "code": {"type": "string"}, "name": {"type": "string"},
    "kind": {"type": "string", "enum": ["department", "township", "office"]},
    "township": {"type": ["string", "null"]}}}
CATEGORY = {"type": "object", "required": ["code", "name"],
            "properties": {"code": {"type": "string"}, "name": {"type": "string"}}}


def _list(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": item}}}


@bp.get("/reference/units")
@require_scope("reference:read")
@operation("承办单位与乡镇（街道）", "基础数据", _list(UNIT), description="在用的单位；kind=township 为乡镇（街道）。")
def units() -> ResponseReturnValue:
    """List the active units and townships (承办单位)."""
    with runtime().read() as db:
        rows = db.scalars(sa.select(Department).where(Department.active.is_(True))
                          .order_by(Department.kind, Department.code))
        items = [{"code": d.code, "name": d.name, "kind": d.kind, "township": d.township} for d in rows]
    return jsonify(items=items)


@bp.get("/reference/categories")
@require_scope("reference:read")
@operation("诉求分类", "基础数据", _list(CATEGORY), description="派单目录中的诉求类别，登记时 category 取其 code。")
def categories() -> ResponseReturnValue:
    """List the categories of the dispatch catalogue (诉求分类)."""
    with runtime().read() as db:
        items = [{"code": o.value, "name": o.label} for o in choices.categories(db)]
    return jsonify(items=items)
