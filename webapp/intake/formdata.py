"""Intake forms from the bundles (登记表单): the deployed start schema, its fields and the submitted data.

The schema is the bundle's `forms/intake.schema.json` in the published definition, so an analyst changes the
intake screen by changing the bundle. Submitted values are typed by the schema, checked with
`processes.cases.forms.errors_of`, and refused when a routing field or the title holds a phone or ID number.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.cases import forms
from processes.cases.personal import CASE_TEXT_COLUMNS
from processes.cases.personal import ID_NUMBER_RE
from processes.cases.personal import PHONE_RE
from processes.cases.personal import REQUESTER_FIELDS
from processes.runtime.models import ProcessDefinition
from webapp.tasks.options import lookup
from webapp.timefmt import LOCAL

TRUE = frozenset({"on", "true", "1", "yes", "y"})
TEXTAREA_MIN = 300  # strings allowed this long or longer get a text area
NO_NUMBERS = "不要在此填写电话号码或身份证号（联系电话请填在“联系电话”栏）。"
BAD_TIME = "日期格式不正确"


@dataclass(frozen=True)
class Field:
    """One input of an intake screen, from one schema property."""

    name: str
    title: str
    widget: str  # select / checkbox / textarea / datetime / tel / text
    required: bool
    description: str
    choices: tuple[tuple[str, str], ...]
    suggestions: tuple[str, ...]
    max_length: int | None
    default: str
    fixed: bool = False


def published_form(db: Session, process_key: str, form_name: str) -> dict[str, Any] | None:
    """Return a form schema of the published version of a process (None when not deployed or absent)."""
    definition_id = db.scalar(sa.select(ProcessDefinition.id).where(
        ProcessDefinition.key == process_key, ProcessDefinition.status == "published"))
    if definition_id is None:
        return None
    return forms.schema_for(db.connection(), definition_id, form_name)


def intake_schema(db: Session, process_key: str) -> dict[str, Any] | None:
    """Return the start form (登记表单) of the published version of a process."""
    return published_form(db, process_key, forms.INTAKE_FORM)


def options(db: Session, kind: str) -> list[tuple[str, str]]:
    """Return (code, name) pairs of a reference list named by `x-options` (the task forms' own lists)."""
    return [(o.value, o.label) for o in lookup(db, None)(kind, "")]


def fields_of(db: Session, schema: Mapping[str, Any], fixed: Mapping[str, str]) -> list[Field]:
    """Return the inputs of a schema in its order; `fixed` values are shown but not choosable."""
    required = set(schema.get("required", []))
    out = []
    for name, spec in schema.get("properties", {}).items():
        kind = spec.get("x-options")
        listed = options(db, kind) if isinstance(kind, str) else []
        choices = tuple((str(o["const"]), str(o["title"])) for o in spec.get("oneOf", []))
        suggestions: tuple[str, ...] = ()
        if kind == "categories":  # a suggestion list: categories outside the 派单目录 are allowed
            suggestions = tuple(code for code, _ in listed)
        elif listed:
            choices = tuple(listed)
        widget = _widget(name, spec, choices)
        default = spec.get("default")
        out.append(Field(name, str(spec.get("title", name)), widget, name in required,
                         str(spec.get("description", "")), choices, suggestions, spec.get("maxLength"),
                         "" if default is None or isinstance(default, bool) else str(default), name in fixed))
    return out


def _widget(name: str, spec: Mapping[str, Any], choices: tuple[tuple[str, str], ...]) -> str:
    if spec.get("type") == "boolean":
        return "checkbox"
    if choices:
        return "select"
    if spec.get("format") == "date-time":
        return "datetime"
    if name == "requester_phone":
        return "tel"
    return "textarea" if (spec.get("maxLength") or 0) >= TEXTAREA_MIN else "text"


def read_form(schema: Mapping[str, Any], form: Mapping[str, str], fields: list[Field],
              fixed: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """Return (data for open_case, the values as typed for re-rendering, errors by field)."""
    declared: Mapping[str, Any] = schema.get("properties", {})
    data: dict[str, Any] = {}
    typed: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name, spec in declared.items():
        raw = fixed[name] if name in fixed else str(form.get(name, ""))
        typed[name] = raw
        if spec.get("type") == "boolean":
            if raw.strip().lower() in TRUE:
                data[name] = True
            continue
        value = raw.strip()
        if not value:
            continue
        if name == "requester_phone":
            value = unicodedata.normalize("NFKC", value)  # full-width digits typed on a Chinese keyboard
        if spec.get("format") == "date-time":
            moment = parse_local_time(value)
            if moment is None:
                errors[name] = BAD_TIME
                continue
            value = moment.isoformat()
        data[name] = value
    for name, value in data.items():
        routing = name not in REQUESTER_FIELDS and name not in CASE_TEXT_COLUMNS
        if (routing or name == "title") and isinstance(value, str) and (
                PHONE_RE.search(value) or ID_NUMBER_RE.search(value)):
            errors.setdefault(name, NO_NUMBERS)
    for field in fields:
        if field.widget == "select" and field.name in data and field.name not in fixed and \
                data[field.name] not in {code for code, _ in field.choices}:
            errors.setdefault(field.name, forms.CHOOSE)
    for name, message in forms.errors_of(schema, data).items():
        errors.setdefault(name, message)
    return data, typed, errors


def parse_local_time(text: str) -> datetime | None:
    """Read a time as typed (datetime-local input or ISO 8601); without a zone it is Beijing time."""
    try:
        moment = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        return None
    return moment.replace(tzinfo=LOCAL) if moment.tzinfo is None else moment


def input_time(value: str) -> str:
    """Return an ISO time as a datetime-local input shows it (Beijing time, to the second)."""
    moment = parse_local_time(value)
    return moment.astimezone(LOCAL).strftime("%Y-%m-%dT%H:%M:%S") if moment else value
