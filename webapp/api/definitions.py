"""Process definitions over the API (流程定义, scope definitions:read): processes, their versions and files."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import jsonify
from flask.typing import ResponseReturnValue

from processes.parsing import whole_number
from processes.runtime.models import ProcessDefinition
from webapp.api import bp
from webapp.api import problems
from webapp.api import schemas
from webapp.api.auth import require_scope
from webapp.api.cases import iso
from webapp.api.spec import operation
from webapp.context import runtime
from webapp.messages import N_

NO_DEFINITION = N_("流程或版本不存在。")
LIST: dict[str, Any] = {"type": "object", "required": ["items"],
                        "properties": {"items": {"type": "array", "items": schemas.DEFINITION}}}
VERSIONS: dict[str, Any] = {"type": "object", "required": ["items"],
                            "properties": {"items": {"type": "array", "items": schemas.VERSION}}}
FILE: dict[str, Any] = {"type": "object", "required": ["name", "text"],
                        "properties": {"name": {"type": "string"}, "text": {"type": "string"}}}


def _version(d: ProcessDefinition, files: bool = False) -> dict[str, Any]:
    shown = {"key": d.key, "version": d.version, "status": d.status, "name": d.name, "sha256": d.sha256,
             "process_id": d.process_id, "created_at": iso(d.created_at), "published_at": iso(d.published_at)}
    return {**shown, "files": sorted(d.files)} if files else shown


@bp.get("/definitions")
@require_scope("definitions:read")
@operation("流程列表", "流程定义", LIST, description="每个流程的名称、已发布版本号和版本数。")
def list_definitions() -> ResponseReturnValue:
    """List the processes with their published version."""
    with runtime().read() as db:
        rows = list(db.scalars(sa.select(ProcessDefinition).order_by(ProcessDefinition.key,
                                                                     ProcessDefinition.version)))
    items: dict[str, dict[str, Any]] = {}
    for d in rows:
        item = items.setdefault(d.key, {"key": d.key, "name": d.name, "published_version": None, "versions": 0})
        item["versions"] += 1
        if d.status == "published":
            item["published_version"], item["name"] = d.version, d.name
    return jsonify(items=list(items.values()))


@bp.get("/definitions/<key>/versions")
@require_scope("definitions:read")
@operation("流程的版本", "流程定义", VERSIONS, errors=[404])
def list_versions(key: str) -> ResponseReturnValue:
    """List the versions of one process (草稿, 已发布, 已停用)."""
    with runtime().read() as db:
        rows = list(db.scalars(sa.select(ProcessDefinition).where(ProcessDefinition.key == key)
                               .order_by(ProcessDefinition.version)))
    if not rows:
        return problems.problem(404, NO_DEFINITION)
    return jsonify(items=[_version(d) for d in rows])


def _one(key: str, version: str) -> ProcessDefinition | None:
    number = whole_number(version, low=1, high=2**31 - 1)
    if number is None:
        return None
    with runtime().read() as db:
        return db.scalar(sa.select(ProcessDefinition).where(ProcessDefinition.key == key,
                                                            ProcessDefinition.version == number))


@bp.get("/definitions/<key>/versions/<version>")
@require_scope("definitions:read")
@operation("一个版本", "流程定义", schemas.VERSION, errors=[404], description="files 列出其 BPMN 和表单文件名。")
def get_version(key: str, version: str) -> ResponseReturnValue:
    """Return one version with the names of its files."""
    found = _one(key, version)
    return jsonify(_version(found, files=True)) if found else problems.problem(404, NO_DEFINITION)


@bp.get("/definitions/<key>/versions/<version>/files/<path:name>")
@require_scope("definitions:read")
@operation("一个版本的文件", "流程定义", FILE, errors=[404], description="BPMN XML 或表单的 JSON Schema（文本）。")
def get_file(key: str, version: str, name: str) -> ResponseReturnValue:
    """Return one file of a version (a diagram or a form schema) as text."""
    found = _one(key, version)
    if found is None or name not in found.files:
        return problems.problem(404, NO_DEFINITION)
    return jsonify(name=name, text=str(found.files[name]))
