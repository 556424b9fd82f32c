"""Values of a schema form: what a fresh form starts with, what was typed, and the typed data it submits.

Submitted values are typed here (是/否 → booleans, a ticked checkbox → true, numbers, lists from repeated fields,
times in Beijing time, empty strings dropped) and a field's choices are enforced; whether the result fits the
schema is decided on the server by `processes.cases.forms` (`errors_of`, and `check` when a case is opened or a
task completed). Intake screens and task pages read their forms with the same `read`.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable
from collections.abc import Mapping
from datetime import date
from datetime import datetime
from typing import Any

from werkzeug.datastructures import MultiDict

from processes.cases.forms import CHOOSE
from processes.cases.models import Case
from processes.cases.numbers import has_number
from webapp.messages import N_
from webapp.schemaforms.fields import Field
from webapp.schemaforms.fields import FormSpec
from webapp.schemaforms.fields import text_of
from webapp.timefmt import LOCAL

CONTROL_FIELDS = frozenset({"csrf_token", "action", "back"})  # the page's own inputs, not form data
FILES_SUFFIX = "__files"  # upload input beside an attachment field: photos → photos__files
TICKED = frozenset({"on", "true", "1", "yes", "y"})  # what a ticked checkbox may submit
YES_WORDS, NO_WORDS = frozenset({"true", "是", "1", "on"}), frozenset({"false", "否", "0"})
# Case columns a task form starts with when the form asks for them (初审 confirms what intake recorded).
PREFILLED = ("request_type", "urgency", "category", "township", "lead_department")
NOT_BOOLEAN = N_("请选择“是”或“否”")
NOT_INTEGER = N_("请填写整数")
NOT_NUMBER = N_("请填写数字")
NOT_DATE = N_("日期格式不正确")
NO_NUMBERS = N_("不要在此填写电话号码或身份证号（联系电话请填在“联系电话”栏）。")

FormData = MultiDict[str, str]  # a submitted form (request.form): keys with one or more values
Raw = dict[str, str | list[str]]  # values as typed: text, or a list for fields with several


def defaults(spec: FormSpec) -> Raw:
    """Return the values a fresh form starts with: fixed values and the schema's defaults."""
    raw: Raw = {}
    for f in spec.fields:
        value = f.fixed if f.fixed is not None else f.default
        if value is not None:
            raw[f.name] = value
    return raw


def prefill(case: Case | None, names: set[str]) -> Raw:
    """Return what the case already records for fields a task form asks for."""
    if case is None:
        return {}
    return {name: str(getattr(case, name)) for name in PREFILLED if name in names and getattr(case, name)}


def starting(spec: FormSpec, case: Case | None, decided: Mapping[str, Any] | None = None) -> Raw:
    """Return what a fresh task form starts with: the schema's defaults, what the case records, then the values
    its decision context prefills (typed: booleans, numbers, lists), for the fields the form declares."""
    raw = {**defaults(spec), **prefill(case, {f.name for f in spec.fields})}
    for name, value in (decided or {}).items():
        f = spec.get(name)
        if f is None or f.fixed is not None or value is None:
            continue
        raw[name] = [text_of(v) for v in value] if isinstance(value, list | tuple) else text_of(value)
    return raw


def raw_values(spec: FormSpec, form: FormData) -> Raw:
    """Return what was typed into the declared fields, untyped (for drafts and for showing the form again)."""
    raw: Raw = {}
    for f in spec.fields:
        if f.fixed is not None:
            raw[f.name] = f.fixed
        elif f.type == "array":
            values = [v for v in form.getlist(f.name) if v.strip()]
            if values:
                raw[f.name] = values
        elif form.get(f.name, ""):
            raw[f.name] = _one_line_breaks(form.get(f.name, ""))
    return raw


def _one_line_breaks(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read(spec: FormSpec, form: FormData, uploads: Mapping[str, list[str]] | None = None,
         ) -> tuple[dict[str, Any], dict[str, str]]:
    """Turn the submitted declared fields into typed data; return it with the problems found, by field.

    `uploads` adds ids of files just stored for attachment fields. Fixed fields keep their fixed value.
    """
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in spec.fields:
        try:
            value = _field_value(f, form, (uploads or {}).get(f.name, []))
        except ValueError as problem:
            errors[f.name] = str(problem)
            continue
        if value is not None:
            data[f.name] = value
    return data, errors


def undeclared(spec: FormSpec, form: FormData) -> dict[str, Any]:
    """Return submitted fields the form does not declare, as text, for the completion to refuse by name."""
    passed: dict[str, Any] = {}
    for key in form:
        if key not in CONTROL_FIELDS and spec.get(key) is None and not key.endswith(FILES_SUFFIX):
            values = form.getlist(key)
            passed[key] = values[0] if len(values) == 1 else values
    return passed


def _field_value(f: Field, form: FormData, uploaded: list[str]) -> Any:
    """Return the typed value of one field, None when left empty; raise ValueError with the message."""
    if f.type == "array":
        items = [v.strip() for v in form.getlist(f.name) if v.strip()]
        if f.widget == "lines":
            items = [line.strip() for v in items for line in _one_line_breaks(v).split("\n") if line.strip()]
        items += uploaded
        if f.options and any(i not in {o.value for o in f.options} for i in items):
            raise ValueError(CHOOSE)
        return items or None
    text = _one_line_breaks(f.fixed if f.fixed is not None else form.get(f.name, "")).strip()
    if not text:
        return None
    converter = _CONVERTERS.get(f.widget)
    value = converter(text) if converter else text
    if f.no_numbers and isinstance(value, str) and has_number(value):
        raise ValueError(NO_NUMBERS)
    if f.options and f.widget in ("radio", "select") and f.fixed is None and value not in {o.value for o in f.options}:
        raise ValueError(CHOOSE)
    return value


def ticked(text: str | None) -> bool:
    """Return whether a checkbox was ticked."""
    return (text or "").strip().lower() in TICKED


def _checkbox(text: str) -> bool | None:
    return True if ticked(text) else None  # left unticked, the field is left out


def _boolean(text: str) -> bool:
    if text in YES_WORDS:
        return True
    if text in NO_WORDS:
        return False
    raise ValueError(NOT_BOOLEAN)


def _integer(text: str) -> int:
    try:
        return int(unicodedata.normalize("NFKC", text))
    except ValueError:
        raise ValueError(NOT_INTEGER) from None


def _float(text: str) -> float:
    try:
        value = float(unicodedata.normalize("NFKC", text))
    except ValueError:
        raise ValueError(NOT_NUMBER) from None
    if not math.isfinite(value):
        raise ValueError(NOT_NUMBER)
    return value


def _date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValueError(NOT_DATE) from None


def _datetime(text: str) -> str:
    """Return a datetime-local value (Beijing time) as RFC 3339 with its offset, e.g. 2026-11-25T09:30:00+08:00."""
    moment = parse_time(text)
    if moment is None:
        raise ValueError(NOT_DATE)
    return moment.isoformat(timespec="seconds")


def _phone(text: str) -> str:
    return unicodedata.normalize("NFKC", text)  # full-width digits typed on a Chinese keyboard


_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "boolean": _boolean, "checkbox": _checkbox, "integer": _integer, "number": _float, "date": _date,
    "datetime": _datetime, "tel": _phone}


def parse_time(text: str) -> datetime | None:
    """Read a time as typed (datetime-local input or ISO 8601); without a zone it is Beijing time."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment.replace(tzinfo=LOCAL) if moment.tzinfo is None else moment


def input_time(value: str) -> str:
    """Return an ISO time as a datetime-local input with seconds shows it (Beijing time)."""
    moment = parse_time(value)
    return moment.astimezone(LOCAL).strftime("%Y-%m-%dT%H:%M:%S") if moment else value


def shown_value(f: Field, raw: Mapping[str, Any]) -> Any:
    """Return a field's current value for the template: a list for arrays, text otherwise."""
    value = raw.get(f.name)
    if f.type == "array":
        return [str(v) for v in value] if isinstance(value, list) else ([str(value)] if value else [])
    if isinstance(value, list):
        return str(value[0]) if value else ""
    if f.widget == "datetime" and not f.seconds and isinstance(value, str) and len(value) > 16:
        return value[:16]  # a datetime-local input without seconds shows YYYY-MM-DDTHH:MM
    return text_of(value) if value is not None else ""


def shown(spec: FormSpec, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Return every field's current value for the template, by name."""
    return {f.name: shown_value(f, raw) for f in spec.fields}
