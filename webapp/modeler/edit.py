"""The in-browser modeler (流程编辑): open a version's diagram, validate it (校验) and save it as a new draft.

The page is a bpmn-js Modeler (static/js/modeler-edit*.js); what it posts is JSON with the CSRF token in the
X-CSRFToken header: the edited diagram file and any form schemas edited beside it. Saving goes through
`processes.modeling.versions.upload_draft`, so the limits and the hostile-XML refusal are those of an upload, and
the four-eyes publication stays the one way a change goes live. Validation is `hotline validate`'s, in the page's
language; a draft may keep errors (it is work in progress), but a version with errors is never published.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from processes.cases.numbers import mask_numbers
from processes.engine.bundle import MAX_BUNDLE_BYTES
from processes.engine.validation.check import Report
from processes.engine.validation.engine_errors import from_exception
from processes.engine.validation.problems import SEVERITY_WORDS
from processes.errors import DefinitionInvalid
from processes.errors import RuntimeErrorBase
from processes.modeling import diff as diffing
from processes.modeling import versions
from processes.runtime.models import ProcessDefinition
from webapp.casework import record
from webapp.context import now
from webapp.context import runtime
from webapp.messages import N_
from webapp.modeler import bp
from webapp.modeler import texts
from webapp.modeler.views import bpmn_names
from webapp.modeler.views import chosen_file
from webapp.modeler.views import find
from webapp.modeler.views import summary

NOT_JSON = N_("请求不是有效的 JSON：请从流程编辑页面保存")
NO_DIAGRAM = N_("请求里没有流程图")
BAD_FILE = N_("文件 %(name)s 不属于这个版本")
BAD_FORM = N_("表单文件名须为 forms/名称.schema.json，内容是文本")
TOO_BIG = N_("内容超过 %(mb)s MB，不能保存")
SAVED = N_("已保存为第 %(version)s 版（草稿），须由第二人发布后生效")
UNCHANGED = N_("内容与第 %(version)s 版相同，未新建版本")
KEEP_ONE_POOL = N_("只保留要运行的那个池为可执行：点其他池，在属性里取消“可执行”")
SAVED_WITH_ERRORS = N_("已保存为第 %(version)s 版（草稿），但有 %(count)s 个错误：修正后再保存，才能发布")
REFUSED = N_("未保存：%(problem)s")
FOUND = N_("%(errors)s 个错误，%(warnings)s 个警告")
CLEAN = N_("没有发现问题")


@dataclass(frozen=True)
class Edited:
    """What the modeler posted: the diagram file it edited and the form schemas changed beside it."""

    file: str
    xml: str
    forms: dict[str, str]


def refuse(message: str, status: int = 400, **extra: Any) -> ResponseReturnValue:
    """Answer a modeler request with a message in the page's language and no change."""
    return jsonify({"ok": False, "message": message, **extra}), status


def read_edit(row: ProcessDefinition) -> Edited | str:
    """Return what was posted for this version, or the message refusing it (size, shape, unknown file)."""
    if (request.content_length or 0) > MAX_BUNDLE_BYTES:
        return str(gettext(TOO_BIG, mb=MAX_BUNDLE_BYTES // (1024 * 1024)))
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return str(gettext(NOT_JSON))
    xml, name, forms = data.get("xml"), data.get("file") or versions.main_file(row), data.get("forms") or {}
    if not isinstance(xml, str) or not xml.strip():
        return str(gettext(NO_DIAGRAM))
    if not isinstance(name, str) or name not in bpmn_names(row):
        return str(gettext(BAD_FILE, name=str(name)[:80]))
    if not isinstance(forms, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and versions.FORM_NAME.fullmatch(k) for k, v in forms.items()):
        return str(gettext(BAD_FORM))
    return Edited(name, xml, forms)


def bundle_of(row: ProcessDefinition, edited: Edited) -> dict[str, str]:
    """Return the version's files with the edited diagram and forms in place."""
    return {**{k: str(v) for k, v in row.files.items()}, **edited.forms, edited.file: edited.xml}


def check(row: ProcessDefinition, files: Mapping[str, str]) -> Report:
    """Run the validation of `hotline validate` over a bundle (never raises for a bad diagram)."""
    return versions.check(row, files, runtime().handlers)


def problems_json(report: Report) -> dict[str, Any]:
    """Return the problems in the page's language, with counts and a one-line summary."""
    errors, warnings = len(report.errors), len(report.warnings)
    shown = [{**p.as_dict(gettext), "severity_word": gettext(SEVERITY_WORDS[p.severity])}
             | ({"hint": gettext(KEEP_ONE_POOL)} if p.code in versions.CHOICE_CODES else {})  # not the CLI's --process
             for p in report.problems]
    return {"problems": shown, "errors": errors, "warnings": warnings, "can_publish": report.ok,
            "summary": gettext(FOUND, errors=errors, warnings=warnings) if shown else gettext(CLEAN)}


def edit_urls(row: ProcessDefinition, file: str) -> dict[str, str]:
    """Return the URLs the modeler posts to for a version (they change when a save makes a new one)."""
    args: dict[str, Any] = {"key": row.key, "version": row.version}
    return {"edit_url": url_for("modeler.edit", **args, file=file), "save_url": url_for("modeler.save", **args),
            "validate_url": url_for("modeler.validate", **args),
            "versions_url": url_for("modeler.versions_list", key=row.key)}


@bp.get("/<key>/edit")
def edit_latest(key: str) -> ResponseReturnValue:
    """Open the newest version of a process in the modeler."""
    newest = summary(key).versions[0].definition
    return redirect(url_for("modeler.edit", key=key, version=newest.version), code=303)


@bp.get("/<key>/v<int:version>/edit")
def edit(key: str, version: int) -> ResponseReturnValue:
    """The modeler on one diagram file of a version, with the properties panel and the problem list."""
    row = find(key, version)
    file = chosen_file(row)
    forms = {name: str(text) for name, text in sorted(row.files.items()) if versions.FORM_NAME.fullmatch(name)}
    return render_template("modeler/edit.html", row=row, files=bpmn_names(row), file=file, forms=forms,
                           urls=edit_urls(row, file), processes=processes_of(row),
                           types={k: str(gettext(v)) for k, v in texts.ELEMENT_TYPES.items()})


def processes_of(row: ProcessDefinition) -> list[tuple[str, str]]:
    """The processes of a version's diagrams as (id, name): what a call activity of this version can call."""
    try:
        found = diffing.elements({k: str(v) for k, v in row.files.items()})
    except RuntimeErrorBase:  # a stored file the hardened parser refuses: the field stays free text
        return []
    return sorted((e.id, e.name) for e in found.values() if e.type == "process")


@bp.post("/<key>/v<int:version>/validate")
def validate(key: str, version: int) -> ResponseReturnValue:
    """Validate the posted diagram (with the version's other files) and answer the problems as JSON."""
    row = find(key, version)
    edited = read_edit(row)
    if isinstance(edited, str):
        return refuse(edited)
    return jsonify({"ok": True, **problems_json(check(row, bundle_of(row, edited)))})


def _audit_refusal(key: str, version: int, message: str) -> None:
    """Record a refused save in a transaction of its own."""
    with runtime().write() as db, db.begin():
        record(db, "definition.upload", object_type="process_definition", object_id=f"{key} v{version}"[:64],
               result="failure", reason=mask_numbers(message)[:300], via="modeler")


@bp.post("/<key>/v<int:version>/save")
def save(key: str, version: int) -> ResponseReturnValue:
    """Save the edited diagram (and forms) as a new draft version based on this one; answer its problems too."""
    row = find(key, version)
    edited = read_edit(row)
    if isinstance(edited, str):
        _audit_refusal(key, version, edited)
        return refuse(edited)
    report = check(row, bundle_of(row, edited))
    rt = runtime()
    try:
        with rt.write() as db, db.begin():
            done = versions.upload_draft(db, key, edited.file, edited.xml, actor=current_user.username, now=now(),
                                         operators=rt.handlers, base_version=version, forms=edited.forms)
            record(db, "definition.upload", object_type="process_definition", object_id=f"{key} v{done.version}",
                   after={"version": done.version, "status": done.status, "created": done.created},
                   file=edited.file, forms=sorted(edited.forms), based_on=version, via="modeler")
    except DefinitionInvalid as exc:  # said in words, as validation says it (the English text is for logs)
        message = gettext(REFUSED, problem=from_exception(exc, {}, edited.file).text(gettext))
        _audit_refusal(key, version, message)
        return refuse(message, **problems_json(report))
    saved = find(key, done.version)
    message = gettext(SAVED if done.created else UNCHANGED, version=done.version)
    if done.created and not saved.runnable:
        message = gettext(SAVED_WITH_ERRORS, version=done.version, count=len(report.errors))
    return jsonify({"ok": True, "message": message, "version": done.version, "created": done.created,
                    **edit_urls(saved, edited.file), **problems_json(report)})
