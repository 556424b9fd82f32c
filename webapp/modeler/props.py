"""What the modeler's properties panel (属性面板) asks the server: the registries, checks and a form preview.

Roles come from the role table (`processes.accounts.roles`), service handlers from the handler registry with
their documented parameters, units from the reference tables: nothing of this is written into the JavaScript.
A condition or timer value is checked by the sandbox and the timer rules the engine itself uses, and a form schema
is drawn by the project's one form pipeline (webapp/schemaforms), exactly as the operator will see it.
"""

from __future__ import annotations

import json
from typing import Any

from flask import jsonify
from flask import render_template
from flask import request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext
from lxml import etree

from processes.accounts.roles import ROLES
from processes.engine.script_compiler import compile_checked
from processes.engine.validation.timer_values import timer_value_problems
from processes.engine.xmlsafe import BPMN_NS
from processes.errors import ScriptRejected
from webapp import schemaforms
from webapp.context import runtime
from webapp.messages import N_
from webapp.modeler import bp
from webapp.schemaforms import choices

MAX_SCHEMA_CHARS = 200_000  # the engine's limit on one form file is of this order; a preview needs no more
MAX_EXPRESSION_CHARS = 2_000
TIMER_TAGS = {"duration": "timeDuration", "date": "timeDate", "cycle": "timeCycle"}
SYNTAX = N_("脚本或条件不是合法的 Python 表达式")
SYNTAX_HINT = N_("检查括号、引号和运算符；条件写成如 verdict == 'approve'")
SANDBOX = N_("脚本或条件用了安全沙箱禁止的写法")
SANDBOX_HINT = N_("只使用流程变量、常用运算和允许的函数；不能 import，不能访问以 _ 开头的名字")
EMPTY = N_("请填写表达式")
BAD_KIND = N_("不认识的检查类型")
CONDITION_OK = N_("条件可以使用")
TIMER_OK = N_("定时器的值可以使用")
SCHEMA_JSON = N_("表单定义不是合法的 JSON（第 %(line)s 行）")
SCHEMA_OBJECT = N_("表单定义必须是一个 JSON 对象")
SCHEMA_TOO_BIG = N_("表单定义太大")
USERS_PLACEHOLDER = N_("（办理时列出可选的人员）")


def _english() -> bool:
    return str(get_locale() or "zh").startswith("en")


@bp.get("/roles.json")
def roles() -> ResponseReturnValue:
    """The business roles a user task can name (candidate_role), from the role table."""
    english = _english()
    return jsonify([{"code": r.code, "name": r.name_en if english else r.name_zh}
                    for r in ROLES.values() if not r.admin])


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


@bp.get("/handlers.json")
def handlers() -> ResponseReturnValue:
    """The service handlers a service task can call, with their documented parameters, from the registry."""
    lang = "en" if _english() else "zh"
    # the docstring is English: shown on the English page only, the Chinese one has the handler's Chinese name
    return jsonify([{"id": spec.operator_id, "label": spec.label(lang),
                     "doc": _first_line(spec.fn.__doc__) if lang == "en" else "",
                     "title": spec.label(lang),
                     "params": [{"name": name, "doc": doc} for name, doc in spec.params.items()]}
                    for spec in sorted(runtime().handlers.values(), key=lambda s: s.operator_id)])


@bp.get("/departments.json")
def departments() -> ResponseReturnValue:
    """The units a user task can be fixed to (candidate_department), from the reference tables."""
    with runtime().read() as db:
        return jsonify([{"code": o.value, "name": o.label} for o in choices.departments(db)])


def _answer(ok: bool, message: str, hint: str = "") -> ResponseReturnValue:
    return jsonify({"ok": ok, "message": message, "hint": hint})


def check_condition(expression: str) -> ResponseReturnValue:
    """Check a gateway condition with the sandbox's compiler (it runs under the same rules)."""
    try:
        compile_checked(expression, "eval")
    except ScriptRejected as exc:
        if "syntax" in str(exc):
            return _answer(False, gettext(SYNTAX), gettext(SYNTAX_HINT))
        return _answer(False, gettext(SANDBOX), gettext(SANDBOX_HINT))
    return _answer(True, gettext(CONDITION_OK))


def check_timer(kind: str, value: str) -> ResponseReturnValue:
    """Check a timer value with the validation's own timer rule: literal ISO 8601 or a safe expression."""
    root = etree.Element(f"{{{BPMN_NS}}}definitions")
    event = etree.SubElement(etree.SubElement(root, f"{{{BPMN_NS}}}process"), f"{{{BPMN_NS}}}intermediateCatchEvent")
    timer = etree.SubElement(event, f"{{{BPMN_NS}}}timerEventDefinition")
    etree.SubElement(timer, f"{{{BPMN_NS}}}{TIMER_TAGS[kind]}").text = value
    found = timer_value_problems(root, file="")
    if found:
        return _answer(False, found[0].text(gettext), found[0].hint_text(gettext))
    return _answer(True, gettext(TIMER_OK))


@bp.post("/check")
def check_expression() -> ResponseReturnValue:
    """Check a condition or timer value the panel is editing: {"kind": condition|duration|date|cycle, "expression"}."""
    data = request.get_json(silent=True)
    kind = data.get("kind") if isinstance(data, dict) else None
    expression = data.get("expression") if isinstance(data, dict) else None
    if kind not in ("condition", *TIMER_TAGS) or not isinstance(expression, str):
        return jsonify({"ok": False, "message": gettext(BAD_KIND), "hint": ""}), 400
    expression = expression.strip()
    if not expression or len(expression) > MAX_EXPRESSION_CHARS:
        return jsonify({"ok": False, "message": gettext(EMPTY), "hint": ""}), 400
    return check_condition(expression) if kind == "condition" else check_timer(str(kind), expression)


def _schema() -> dict[str, Any] | str:
    """Return the posted form schema, or the message refusing it."""
    text = request.form.get("schema", "")
    if len(text) > MAX_SCHEMA_CHARS:
        return str(gettext(SCHEMA_TOO_BIG))
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        return str(gettext(SCHEMA_JSON, line=exc.lineno))
    return schema if isinstance(schema, dict) else str(gettext(SCHEMA_OBJECT))


@bp.post("/form-preview")
def form_preview() -> ResponseReturnValue:
    """Draw a form schema as the operator will see it (the task page's pipeline), or say why it cannot be drawn.

    A schema that cannot be drawn yet is an ordinary answer (200), as a condition that does not compile is for
    /check: the panel asks while the analyst types, and every half-typed brace must not log a failed request in
    the browser's console.
    """
    schema = _schema()
    if isinstance(schema, str):
        return render_template("modeler/_form_preview.html", error=schema)
    with runtime().read() as db:
        listed = choices.lookup(db, None)

        def lookup(source: str, field_name: str) -> list[schemaforms.Option]:
            if source == "users":  # the people offered depend on the task; never list accounts to the analyst
                return [schemaforms.Option("", gettext(USERS_PLACEHOLDER))]
            return listed(source, field_name)

        start = schemaforms.is_start_form(request.form.get("name", ""))
        try:
            spec = schemaforms.describe(schema, lookup, start=start)
        except (AttributeError, KeyError, TypeError, ValueError):  # a schema the pipeline cannot read
            return render_template("modeler/_form_preview.html", error=gettext(SCHEMA_OBJECT))
        values = schemaforms.shown(spec, schemaforms.defaults(spec))
        html = render_template("modeler/_form_preview.html", spec=spec, values=values, error=None)
    return html
