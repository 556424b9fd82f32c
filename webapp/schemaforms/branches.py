"""Fields that belong to one choice (分支字段): shown, sent and checked only while that choice is made.

A form schema says which fields belong to a choice with its own `allOf` / `if` / `then`: the fields a `then` names
under `properties` belong to the `if`'s choice (`then.required` makes some of them required there too):

    {"if": {"properties": {"reply_action": {"const": "extend"}}, "required": ["reply_action"]},
     "then": {"properties": {"extension_days": {}, "extension_reason": {}},
              "required": ["extension_days", "extension_reason"]}}

A field no `then` names belongs to every choice. Without JavaScript the page shows every field and the server
keeps only the values (and field errors) of the fields that belong to what was chosen; with JavaScript (app.js,
`data-when` on the field) the others are hidden and disabled, so they are neither sent nor checked. A branch may
hang on a field of another branch (未解决原因 when 是否已解决 is 否, itself only for 提交答复).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webapp.schemaforms.fields import FormSpec
from webapp.schemaforms.fields import text_of

Condition = dict[str, str]  # field name → the value (as the control submits it) a field's branch needs


def _holds(when: list[Condition], data: Mapping[str, Any]) -> bool:
    """Return whether the data makes one of the choices a field belongs to (always, for a field of every choice)."""
    return not when or any(all(name in data and text_of(data[name]) == value for name, value in condition.items())
                           for condition in when)


def outside(spec: FormSpec, data: Mapping[str, Any]) -> set[str]:
    """Return the fields that do not belong to what the data chose (their values are neither kept nor checked)."""
    kept = dict(data)
    dropped: set[str] = set()
    while True:  # a field dropped may be the choice another branch hangs on
        gone = {f.name for f in spec.fields if f.name not in dropped and not _holds(f.when, kept)}
        if not gone:
            return dropped
        dropped |= gone
        for name in gone:
            kept.pop(name, None)


def relevant(spec: FormSpec, data: dict[str, Any], errors: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Return the data and field errors without the fields that do not belong to the choice made."""
    gone = outside(spec, data)
    return ({k: v for k, v in data.items() if k not in gone}, {k: v for k, v in errors.items() if k not in gone})
