"""Task forms (表单): find a task's JSON schema in its definition version and check submitted data against it.

Every way of completing a task (web form, CLI, API) goes through `check`, so a missing decision or an unknown field
is a 400 with a message per field, never a workflow that stops in error. Only fields the schema declares are
accepted: a form must not be able to set other workflow variables (the lead department, say) behind the diagram's
back. Messages are Chinese, the office's language; the web layer shows each beside its field.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from jsonschema import Draft7Validator
from jsonschema import FormatChecker
from jsonschema.exceptions import ValidationError
from sqlalchemy import Connection

from processes.errors import FormDataInvalid
from processes.runtime.models import ProcessDefinition

_CACHE_SIZE = 256
# Definition versions never change once deployed, so a schema parsed once per (version, form) stays right.
_schemas: OrderedDict[tuple[int, str], dict[str, Any] | None] = OrderedDict()
_FILES = sa.select(ProcessDefinition.files).where(ProcessDefinition.id == sa.bindparam("id"))
REQUIRED = "此项必填"
CHOOSE = "请从列表中选择"
BAD_FORMAT = "格式不正确"
UNKNOWN = "表单中没有这一项"
# A channel bundle's start form (登记表单): the fields its intake screen asks for; no task references it.
INTAKE_FORM = "intake.schema.json"


def schema_for(conn: Connection, definition_id: int, form_name: str) -> dict[str, Any] | None:
    """Return the parsed form schema of a definition version by file name (None when the bundle lacks it)."""
    key = (definition_id, form_name)
    if key in _schemas:
        _schemas.move_to_end(key)
        return _schemas[key]
    files: Mapping[str, str] = conn.execute(_FILES, {"id": definition_id}).scalar() or {}
    schema = next((json.loads(text) for name, text in files.items()
                   if name.rsplit("/", 1)[-1] == form_name), None)
    _schemas[key] = schema
    if len(_schemas) > _CACHE_SIZE:
        _schemas.popitem(last=False)
    return schema


def _message(error: ValidationError) -> str:
    """Return the office's wording for one schema violation."""
    value = error.validator_value
    match error.validator:
        case "enum" | "const" | "oneOf" | "anyOf":
            return CHOOSE
        case "maxLength":
            return f"不能超过 {value} 个字"
        case "minLength":
            return REQUIRED if value == 1 else f"至少 {value} 个字"
        case "maximum":
            return f"不能大于 {value}"
        case "minimum":
            return f"不能小于 {value}"
        case "maxItems":
            return f"最多选择 {value} 项"
        case "minItems":
            return REQUIRED if value == 1 else f"至少选择 {value} 项"
        case "uniqueItems":
            return "不能重复选择"
        case "format" if value in ("date", "date-time"):
            return "日期格式不正确"
    return BAD_FORMAT


def errors_of(schema: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, str]:
    """Return every problem of the data, one message per field (the first found); empty when valid."""
    found: dict[str, str] = {}
    declared = schema.get("properties", {})
    for name in data:
        if name not in declared:
            found.setdefault(str(name), UNKNOWN)
    validator = Draft7Validator(schema, format_checker=FormatChecker())
    for error in sorted(validator.iter_errors(dict(data)), key=lambda e: list(e.absolute_path)):
        if error.validator == "required":
            instance = error.instance if isinstance(error.instance, Mapping) else {}
            for name in error.validator_value:
                if name not in instance:
                    found.setdefault(name, REQUIRED)
            continue
        path = [str(part) for part in error.absolute_path]
        found.setdefault(path[0] if path else "_form", _message(error))
    return found


def check(schema: Mapping[str, Any] | None, data: Mapping[str, Any]) -> None:
    """Raise FormDataInvalid with every field's problem when the data does not fit the task's form."""
    if schema is None:
        return
    found = errors_of(schema, data)
    if found:
        first = next(iter(found))
        raise FormDataInvalid(found[first], field=first, errors=found)
