"""Task forms from JSON schemas (表单): a schema becomes field descriptors, submitted HTML form data becomes JSON.

The forms in bpmn/*/forms are draft-07 schemas. Each property becomes one field: `oneOf` of {const, title} or
`enum` → radio buttons (up to five) or a select; `x-options` (departments / townships / categories / users) → a
select filled from reference tables; booleans → 是/否; integers and numbers → number inputs; `format: date |
date-time` → date inputs; strings longer than 200 characters → a textarea; arrays of choices → checkboxes; arrays
of `x-attachment` → attachments of the task plus an upload. `required` marks a field, `allOf`/`if`/`then` adds
"required when …", `default` is the value a fresh form starts with.

Submitted values are typed here (是/否 → booleans, numbers, lists from repeated fields, empty strings dropped);
whether the result fits the schema is decided on the server by `processes.cases.forms` when the task is completed.
Fields the schema does not declare are passed on untouched, so the completion refuses them by name.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from typing import Any

from werkzeug.datastructures import MultiDict

from processes.cases.forms import CHOOSE
from webapp.timefmt import LOCAL

RADIO_MAX = 5  # more choices than this become a select
TEXTAREA_FROM = 200  # strings allowed to be longer than this get a textarea
CONTROL_FIELDS = frozenset({"csrf_token", "action", "back"})  # the page's own inputs, not form data
FILES_SUFFIX = "__files"  # upload input beside an attachment field: photos → photos__files
YES, NO = "true", "false"
NOT_BOOLEAN = "请选择“是”或“否”"
NOT_INTEGER = "请填写整数"
NOT_NUMBER = "请填写数字"
NOT_DATE = "日期格式不正确"
NOT_DATETIME = "日期时间格式不正确"
Raw = dict[str, str | list[str]]


FormData = MultiDict[str, str]  # a submitted form (request.form): keys with one or more values


@dataclass(frozen=True)
class Option:
    """One choice of a radio group, select or checkbox list: the stored value and its label."""

    value: str
    label: str


@dataclass
class Field:
    """One form field as the template draws it."""

    name: str
    label: str
    help: str
    widget: str  # radio select boolean text textarea integer number date datetime checkboxes lines attachments
    type: str
    required: bool = False
    conditions: list[str] = field(default_factory=list)  # "「派单方式」为「部门交办」时必填"
    options: list[Option] = field(default_factory=list)
    source: str | None = None  # x-options: departments / categories / users
    attachment: str | None = None  # x-attachment: the kind of file (image)
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_items: int | None = None
    default: str | None = None  # the schema's default, as the control submits it


@dataclass
class FormSpec:
    """A task's form: title, description and fields in the schema's order."""

    title: str
    description: str
    fields: list[Field]

    def get(self, name: str) -> Field | None:
        """Return the field with this name, if the form has one."""
        return next((f for f in self.fields if f.name == name), None)


def _choices(prop: Mapping[str, Any]) -> list[Option]:
    if isinstance(prop.get("oneOf"), list):
        return [Option(_text(c["const"]), str(c.get("title") or c["const"]))
                for c in prop["oneOf"] if isinstance(c, Mapping) and "const" in c]
    if isinstance(prop.get("enum"), list):
        return [Option(_text(v), _text(v)) for v in prop["enum"]]
    return []


def _text(value: Any) -> str:
    """Return a schema value as the text an HTML control submits (booleans as true/false)."""
    if isinstance(value, bool):
        return YES if value else NO
    return str(value)


def _widget(prop: Mapping[str, Any], item: Mapping[str, Any], options: list[Option]) -> str:
    kind = prop.get("type")
    if kind == "array":
        if item.get("x-attachment"):
            return "attachments"
        return "checkboxes" if options or item.get("x-options") else "lines"
    if kind in ("boolean", "integer", "number"):
        return str(kind)
    if prop.get("x-options"):
        return "select"
    if options:
        return "radio" if len(options) <= RADIO_MAX else "select"
    if prop.get("format") in ("date", "date-time"):
        return "date" if prop["format"] == "date" else "datetime"
    return "textarea" if int(prop.get("maxLength") or 0) > TEXTAREA_FROM else "text"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def describe(schema: Mapping[str, Any], lookup: Callable[[str, str], list[Option]] | None = None) -> FormSpec:
    """Return the fields of a form schema; `lookup(source, field name)` gives the choices of `x-options` fields."""
    required = set(schema.get("required") or ())
    fields = []
    for name, prop in (schema.get("properties") or {}).items():
        item = prop.get("items") if isinstance(prop.get("items"), Mapping) else {}
        options = _choices(item if prop.get("type") == "array" else prop)
        source = prop.get("x-options") or item.get("x-options")
        if source and lookup is not None:
            options = lookup(str(source), name)
        fields.append(Field(
            name=name, label=str(prop.get("title") or name), help=str(prop.get("description") or ""),
            widget=_widget(prop, item, options), type=str(prop.get("type") or "string"), required=name in required,
            options=options, source=str(source) if source else None,
            attachment=str(item["x-attachment"]) if item.get("x-attachment") else None,
            max_length=prop.get("maxLength") or item.get("maxLength"), minimum=_number(prop.get("minimum")),
            maximum=_number(prop.get("maximum")), max_items=prop.get("maxItems"),
            default=_text(prop["default"]) if "default" in prop and not isinstance(prop["default"], list) else None))
    spec = FormSpec(str(schema.get("title") or ""), str(schema.get("description") or ""), fields)
    _add_conditions(spec, schema)
    return spec


def _add_conditions(spec: FormSpec, schema: Mapping[str, Any]) -> None:
    """Note on each field when an if/then makes it required (「派单方式」为「部门交办」时必填)."""
    rules = [schema, *(schema.get("allOf") or [])]
    for rule in rules:
        when, then = rule.get("if"), rule.get("then")
        if not isinstance(when, Mapping) or not isinstance(then, Mapping):
            continue
        parts = []
        for name, test in (when.get("properties") or {}).items():
            if isinstance(test, Mapping) and "const" in test:
                parts.append(_condition_text(spec.get(name), name, test["const"]))
        for name in then.get("required") or ():
            target = spec.get(name)
            if target is not None and parts:
                target.conditions.append("，".join(parts))


def _condition_text(source: Field | None, name: str, value: Any) -> str:
    label = source.label if source else name
    shown = _text(value)
    if isinstance(value, bool):
        shown = "是" if value else "否"
    elif source is not None:
        shown = next((o.label for o in source.options if o.value == shown), shown)
    return f"「{label}」为「{shown}」"


def defaults(spec: FormSpec) -> Raw:
    """Return the values the schema gives its fields by default."""
    return {f.name: f.default for f in spec.fields if f.default is not None}


def raw_values(spec: FormSpec, form: FormData) -> Raw:
    """Return what was typed into the declared fields, untyped (for drafts and for showing the form again)."""
    raw: Raw = {}
    for f in spec.fields:
        if f.type == "array":
            values = [v for v in form.getlist(f.name) if v.strip()]
            if values:
                raw[f.name] = values
        elif form.get(f.name, ""):
            raw[f.name] = _one_line_breaks(form.get(f.name, ""))
    return raw


def _one_line_breaks(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def coerce(spec: FormSpec, form: FormData, uploads: Mapping[str, list[str]] | None = None,
           ) -> tuple[dict[str, Any], dict[str, str]]:
    """Turn submitted form data into typed JSON; return it with the problems found while typing it.

    `uploads` adds ids of files just stored for attachment fields. Undeclared fields are passed on as text.
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
    for key in form:
        if key not in CONTROL_FIELDS and spec.get(key) is None and not key.endswith(FILES_SUFFIX):
            values = form.getlist(key)
            data[key] = values[0] if len(values) == 1 else values
    return data, errors


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
    text = _one_line_breaks(form.get(f.name, "")).strip()
    if not text:
        return None
    if f.options and f.widget in ("radio", "select") and text not in {o.value for o in f.options}:
        raise ValueError(CHOOSE)
    converter = _CONVERTERS.get(f.widget)
    return converter(text) if converter else text


def _boolean(text: str) -> bool:
    if text in (YES, "是", "1", "on"):
        return True
    if text in (NO, "否", "0"):
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
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(NOT_DATETIME) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL)
    return moment.isoformat(timespec="seconds")


_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "boolean": _boolean, "integer": _integer, "number": _float, "date": _date, "datetime": _datetime}


def shown_value(f: Field, raw: Mapping[str, Any]) -> Any:
    """Return a field's current value for the template: a list for arrays, text otherwise."""
    value = raw.get(f.name)
    if f.type == "array":
        return [str(v) for v in value] if isinstance(value, list) else ([str(value)] if value else [])
    if isinstance(value, list):
        return str(value[0]) if value else ""
    if f.widget == "datetime" and isinstance(value, str) and len(value) > 16:
        return value[:16]  # a datetime-local input shows YYYY-MM-DDTHH:MM
    return _text(value) if value is not None else ""
