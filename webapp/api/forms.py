"""JSON bodies checked by the screens' own form pipeline (webapp/schemaforms): same choices, types and messages.

A JSON object becomes the form the screen would have submitted (strings, lists for several values), is read by
`schemaforms.read` against the form's fields (choices from the reference tables, no phone numbers in short text,
times with their zone) and then checked against the JSON schema, as the intake screens and task pages do. Fields
the form does not declare are refused by name (表单中没有这一项) rather than silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import request
from werkzeug.datastructures import MultiDict

from processes.cases import forms
from webapp import schemaforms
from webapp.messages import N_

NOT_OBJECT = N_("请求体须为 JSON 对象。")
NOT_DATA_OBJECT = N_("data 须为 JSON 对象（表单字段名 → 值）。")


def body() -> dict[str, Any] | None:
    """Return the request's JSON object, None when the body is not one."""
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else None


def _as_text(value: Any) -> list[str] | None:
    """Return a JSON value as the form texts a screen submits, None for an object (no form sends one)."""
    if value is None:
        return []
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, str | int | float):
        return [str(value)]
    if isinstance(value, list) and all(isinstance(item, str | int | float) and not isinstance(item, bool)
                                       for item in value):
        return [str(item) for item in value]
    return None


def read(spec: schemaforms.FormSpec, schema: Mapping[str, Any] | None, data: Mapping[str, Any],
         ) -> tuple[dict[str, Any], dict[str, str]]:
    """Return the typed data of a JSON object for a form and the problems found, by field."""
    errors: dict[str, str] = {}
    submitted: MultiDict[str, str] = MultiDict()
    for name, value in data.items():
        if spec.get(str(name)) is None:
            errors[str(name)] = forms.UNKNOWN
            continue
        texts = _as_text(value)
        if texts is None:
            errors[str(name)] = forms.BAD_FORMAT
            continue
        for text in texts:
            submitted.add(str(name), text)
    typed, problems = schemaforms.read(spec, submitted)
    errors = {**problems, **errors}
    if schema is not None:
        for name, message in forms.errors_of(schema, typed).items():
            errors.setdefault(name, message)
    return typed, errors
