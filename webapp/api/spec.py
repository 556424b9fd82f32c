"""The OpenAPI 3.1 document (接口文档), assembled from the views themselves, never kept by hand.

Each API view declares what it takes and answers with `@operation(...)` (JSON Schema dicts); `document(app)` walks
the app's routes, takes every view so marked, its path and methods from the URL map and its scope from the one
permission table (webapp/permissions.py), and adds the shared parts: the key schemes and the problem details.
A route added without `@operation` is simply absent, and tests/test_api_contract.py fails for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import TypeVar

from flask import Flask

from processes.integration.keys import SCOPES
from webapp.permissions import RULES
from webapp.permissions import api_scope

F = TypeVar("F", bound=Callable[..., Any])
Schema = dict[str, Any]
VERSION = "1.0.0"
PROBLEM: Schema = {
    "type": "object", "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "required": ["field", "detail"], "properties": {
            "field": {"type": "string"}, "detail": {"type": "string"}, "pointer": {"type": "string"},
            "parameter": {"type": "string"}}}}}}
ERROR_TEXTS = {400: "请求有误（errors 列出每个字段的问题）", 401: "缺少或无效的接口密钥", 403: "密钥没有此权限范围",
               404: "不存在，或不在此密钥的可见范围内", 409: "冲突：已被他人办理或刚被修改，请刷新后重试",
               422: "Idempotency-Key 已用于另一请求内容", 429: "调用过于频繁（见 Retry-After）",
               503: "流程尚未发布"}
ALWAYS = (400, 401, 403, 429)  # any call: bad parameters, no key, wrong scope, too many calls


@dataclass(frozen=True)
class Param:
    """One query or header parameter of an operation."""

    name: str
    schema: Schema
    description: str = ""
    where: str = "query"
    required: bool = False


@dataclass(frozen=True)
class Operation:
    """What a view declares for the document."""

    summary: str
    tag: str
    response: Schema
    status: int = 200
    description: str = ""
    params: Sequence[Param] = ()
    body: Schema | Callable[[], Schema] | None = None
    errors: Sequence[int] = ()
    headers: dict[str, Schema] = field(default_factory=dict)
    also_ok: dict[int, str] = field(default_factory=dict)  # other success statuses, same body: {200: "已存在"}


def operation(summary: str, tag: str, response: Schema, **more: Any) -> Callable[[F], F]:
    """Declare a view's operation for the OpenAPI document (see Operation for the keywords)."""
    def mark(view: F) -> F:
        view.openapi = Operation(summary, tag, response, **more)  # type: ignore[attr-defined]  # read by document
        return view
    return mark


def _path(rule: str) -> str:
    """Return a Flask rule as an OpenAPI path: /tasks/<task_id> → /tasks/{task_id}."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _responses(op: Operation) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": "成功", "content": {"application/json": {"schema": op.response}}}
    if op.headers:
        ok["headers"] = {name: {"schema": schema} for name, schema in op.headers.items()}
    found: dict[str, Any] = {str(op.status): ok}
    for status, meaning in op.also_ok.items():
        found[str(status)] = {**ok, "description": meaning}
    for status in sorted({*ALWAYS, *op.errors}):
        found[str(status)] = {"$ref": f"#/components/responses/E{status}"}
    return found


def _operation(endpoint: str, method: str, arguments: Sequence[str], op: Operation) -> dict[str, Any]:
    scope = api_scope(RULES.get(endpoint))
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
              for name in arguments]
    params += [{"name": p.name, "in": p.where, "required": p.required, "schema": p.schema,
                **({"description": p.description} if p.description else {})} for p in op.params]
    doc: dict[str, Any] = {
        "operationId": endpoint.replace(".", "_"), "summary": op.summary, "tags": [op.tag],
        "description": (op.description + "\n\n" if op.description else "") + f"权限范围（scope）：`{scope}`",
        "parameters": params, "responses": _responses(op), "x-scope": scope,
        "security": [{"bearerKey": []}, {"headerKey": []}]}
    if op.body is not None:
        schema = op.body() if callable(op.body) else op.body
        doc["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    return doc


def document(app: Flask) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of every declared operation of the app."""
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        op: Operation | None = getattr(app.view_functions.get(rule.endpoint), "openapi", None)
        if op is None:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(_path(rule.rule), {})[method.lower()] = _operation(
                rule.endpoint, method, sorted(rule.arguments), op)
    return {"openapi": "3.1.0", "info": _info(), "paths": paths, "components": _components()}


def _info() -> dict[str, Any]:
    scopes = "\n".join(f"- `{code}`：{text}" for code, text in SCOPES.items())
    return {"title": "Hotline Flow 12345 开放接口", "version": VERSION,
            "description": ("12345 热线工单系统的 REST 接口。每次调用在请求头 `Authorization: Bearer <密钥>`"
                            "（或 `X-API-Key`）中带上系统管理员发放的接口密钥；错误按 RFC 9457 返回 "
                            "`application/problem+json`，`Accept-Language: en` 时为英文。列表按游标分页："
                            "取回答中的 `next` 链接即下一页。\n\n权限范围：\n" + scopes)}


def _components() -> dict[str, Any]:
    responses = {f"E{status}": {"description": text, "content": {"application/problem+json": {
        "schema": {"$ref": "#/components/schemas/Problem"}}}} for status, text in ERROR_TEXTS.items()}
    responses["E429"]["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
    return {"schemas": {"Problem": PROBLEM}, "responses": responses, "securitySchemes": {
        "bearerKey": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer hk_…"},
        "headerKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}}
