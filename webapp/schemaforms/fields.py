"""A form schema becomes fields (表单字段): one descriptor per property, in the schema's order.

The forms in bpmn/*/forms are draft-07 schemas. Each property becomes one field: `oneOf` of {const, title} or
`enum` → radio buttons (up to five) or a select; `x-options` (departments / townships / categories / users) → a
select filled from reference tables; booleans → 是/否; integers and numbers → number inputs; `format: date |
date-time` → date inputs; strings longer than 200 characters → a textarea; arrays of choices → checkboxes; arrays
of `x-attachment` → attachments of the task plus an upload. `required` marks a field, `allOf`/`if`/`then` adds
"required when …" and, by `then.properties`, the choice a field belongs to (branches.py), `default` is the value a
fresh form starts with.

A process's start form (登记表单, intake.schema.json) is typed in while the caller is on the line, so it is drawn
more compactly wherever it is shown: every choice list is a select, a boolean is one checkbox, categories are free
text with the 派单目录 as suggestions, times carry seconds, text boxes are taller and the browser offers no earlier
entries (they would be earlier callers'). Its routing fields and title refuse phone and ID numbers, which belong in
the encrypted requester fields. How a field is drawn depends on its schema only, never on the page showing it.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from processes.cases.forms import INTAKE_FORM
from processes.cases.personal import CASE_TEXT_COLUMNS
from processes.cases.personal import REQUESTER_FIELDS

RADIO_MAX = 5  # more choices than this become a select
TEXTAREA_FROM = 200  # strings allowed to be longer than this get a textarea
FREE_SOURCES = frozenset({"categories"})  # on a start form these lists only suggest: a new category may be typed
PHONE_FIELD = "requester_phone"  # a telephone input on start forms (full-width digits are read as digits)
YES, NO = "true", "false"


@dataclass(frozen=True)
class Option:
    """One choice of a radio group, select or checkbox list: the stored value and its label."""

    value: str
    label: str


Lookup = Callable[[str, str], list[Option]]  # (x-options source, field name) → its choices


@dataclass
class Field:
    """One form field as the template draws it and as submitted values are read back."""

    name: str
    label: str
    help: str
    # radio select boolean checkbox text tel textarea integer number date datetime checkboxes lines attachments
    widget: str
    type: str
    required: bool = False
    conditions: list[str] = field(default_factory=list)  # "「派单方式」为「部门交办」时必填"
    when: list[dict[str, str]] = field(default_factory=list)  # the choices it belongs to (branches.py); [] = all
    options: list[Option] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)  # offered to a free-text field (a datalist)
    source: str | None = None  # x-options: departments / categories / users
    attachment: str | None = None  # x-attachment: the kind of file (image)
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_items: int | None = None
    default: str | None = None  # the schema's default, as the control submits it
    fixed: str | None = None  # shown but not choosable (a township reporter's own township)
    rows: int = 4  # height of a textarea
    seconds: bool = False  # a date-time input that takes seconds
    autofill: bool = True  # whether the browser may offer what was typed before
    no_numbers: bool = False  # refuse phone and ID numbers (routing fields and the title of a start form)

    def label_of(self, value: str) -> str:
        """Return the label of a choice, or the value itself when it is not one."""
        return next((o.label for o in self.options if o.value == value), value)


@dataclass
class FormSpec:
    """A form: title, description and fields in the schema's order."""

    title: str
    description: str
    fields: list[Field]

    def get(self, name: str) -> Field | None:
        """Return the field with this name, if the form has one."""
        return next((f for f in self.fields if f.name == name), None)


def is_start_form(form_name: str | None) -> bool:
    """Return whether a form file is a process's start form (登记表单)."""
    return bool(form_name) and str(form_name).rsplit("/", 1)[-1] == INTAKE_FORM


def text_of(value: Any) -> str:
    """Return a schema value as the text an HTML control submits (booleans as true/false)."""
    if isinstance(value, bool):
        return YES if value else NO
    return str(value)


def _choices(prop: Mapping[str, Any]) -> list[Option]:
    if isinstance(prop.get("oneOf"), list):
        return [Option(text_of(c["const"]), str(c.get("title") or c["const"]))
                for c in prop["oneOf"] if isinstance(c, Mapping) and "const" in c]
    if isinstance(prop.get("enum"), list):
        return [Option(text_of(v), text_of(v)) for v in prop["enum"]]
    return []


def _widget(name: str, prop: Mapping[str, Any], item: Mapping[str, Any], options: list[Option], start: bool) -> str:
    kind = prop.get("type")
    if kind == "array":
        if item.get("x-attachment"):
            return "attachments"
        return "checkboxes" if options or item.get("x-options") else "lines"
    if kind == "boolean":
        return "checkbox" if start else "boolean"
    if kind in ("integer", "number"):
        return str(kind)
    source = prop.get("x-options")
    if source and not (start and source in FREE_SOURCES):
        return "select"
    if options:
        return "select" if start or len(options) > RADIO_MAX else "radio"
    if prop.get("format") in ("date", "date-time"):
        return "date" if prop["format"] == "date" else "datetime"
    if start and name == PHONE_FIELD:
        return "tel"
    return "textarea" if int(prop.get("maxLength") or 0) > TEXTAREA_FROM else "text"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _field(name: str, prop: Mapping[str, Any], required: bool, lookup: Lookup | None, start: bool) -> Field:
    """Return the field of one schema property."""
    items = prop.get("items")
    item: Mapping[str, Any] = items if isinstance(items, Mapping) else {}
    options = _choices(item if prop.get("type") == "array" else prop)
    source = prop.get("x-options") or item.get("x-options")
    listed = lookup(str(source), name) if source and lookup is not None else None
    suggestions: list[str] = []
    if listed is not None and start and source in FREE_SOURCES:
        suggestions = [o.value for o in listed]
    elif listed is not None:
        options = listed
    widget = _widget(name, prop, item, options, start)
    return Field(
        name=name, label=str(prop.get("title") or name), help=str(prop.get("description") or ""), widget=widget,
        type=str(prop.get("type") or "string"), required=required, options=options, suggestions=suggestions,
        source=str(source) if source else None,
        attachment=str(item["x-attachment"]) if item.get("x-attachment") else None,
        max_length=prop.get("maxLength") or item.get("maxLength"), minimum=_number(prop.get("minimum")),
        maximum=_number(prop.get("maximum")), max_items=prop.get("maxItems"),
        default=text_of(prop["default"]) if "default" in prop and not isinstance(prop["default"], list) else None,
        rows=6 if start else 4, seconds=start and widget == "datetime", autofill=not start,
        no_numbers=start and (name == "title" or (name not in REQUESTER_FIELDS and name not in CASE_TEXT_COLUMNS)))


def describe(schema: Mapping[str, Any], lookup: Lookup | None = None, *, start: bool = False,
             fixed: Mapping[str, str] | None = None) -> FormSpec:
    """Return a schema's fields: `lookup` gives x-options choices, `start` marks a start form, `fixed` values stay."""
    required = set(schema.get("required") or ())
    fields = [_field(name, prop, name in required, lookup, start)
              for name, prop in (schema.get("properties") or {}).items()]
    for f in fields:
        if fixed and f.name in fixed:
            f.fixed = fixed[f.name]
    spec = FormSpec(str(schema.get("title") or ""), str(schema.get("description") or ""), fields)
    _add_conditions(spec, schema)
    _add_branches(spec, schema)
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


def _add_branches(spec: FormSpec, schema: Mapping[str, Any]) -> None:
    """Note on each field the choices it belongs to: the `then.properties` of if/then rules (branches.py)."""
    for rule in [schema, *(schema.get("allOf") or [])]:
        when, then = rule.get("if"), rule.get("then")
        if not isinstance(when, Mapping) or not isinstance(then, Mapping):
            continue
        condition = {name: text_of(test["const"]) for name, test in (when.get("properties") or {}).items()
                     if isinstance(test, Mapping) and "const" in test}
        for name in then.get("properties") or {}:
            target = spec.get(name)
            if target is not None and condition and condition not in target.when:
                target.when.append(condition)


def _condition_text(source: Field | None, name: str, value: Any) -> str:
    label = source.label if source else name
    shown = text_of(value)
    if isinstance(value, bool):
        shown = "是" if value else "否"
    elif source is not None:
        shown = source.label_of(shown)
    return f"「{label}」为「{shown}」"
