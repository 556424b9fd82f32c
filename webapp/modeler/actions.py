"""Actions on versions (POST, CSRF): upload a draft, publish by a second person with TOTP, retire. All audited.

Publishing follows `processes.runtime.publishing` exactly, as `hotline publish` does: every attempt writes one
`definition.publish` row (success, or denied with the reason) in the transaction that keeps the publisher's TOTP
counters, so wrong codes count towards the lock like at login.
"""

from __future__ import annotations

from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from processes.cases.numbers import mask_numbers
from processes.engine.validation.engine_errors import from_exception
from processes.errors import DefinitionInvalid
from processes.errors import InvalidState
from processes.errors import NotFound
from processes.modeling import versions
from processes.runtime import publishing
from webapp.casework import record
from webapp.context import now
from webapp.context import policy
from webapp.context import runtime
from webapp.context import wall_now
from webapp.modeler import bp
from webapp.modeler import edit
from webapp.modeler import texts
from webapp.modeler import uploads
from webapp.modeler.views import find
from webapp.modeler.views import versions_page

MAX_REASON = 500
MAX_PROCESS_ID = 200


def _refused_upload(key: str, message: str, *, status: int = 400) -> ResponseReturnValue:
    """Audit a refused upload in a transaction of its own and answer with the reason."""
    with runtime().write() as db, db.begin():
        record(db, "definition.upload", object_type="process_definition", object_id=key[:64], result="failure",
               reason=mask_numbers(message)[:300])
    with runtime().read() as db:
        known = bool(versions.summaries(db, key)) if versions.KEY.fullmatch(key) else False
    if known:
        return versions_page(key, error=message, status=status)
    return render_template("modeler/upload_refused.html", error=message), status


def _choose_process(key: str, exc: versions.ProcessChoice, chosen: str | None) -> ResponseReturnValue:
    """Audit the refusal and show the candidates with the upload form: the web's answer is a choice, not a flag."""
    # The problem's own hint speaks of `hotline validate --process` (right on the command line); here it is the
    # choice on this page, and the browser cannot keep the file the analyst picked.
    message = gettext(texts.UPLOAD_REFUSED, problem=exc.problem.text(gettext))
    with runtime().write() as db, db.begin():
        record(db, "definition.upload", object_type="process_definition", object_id=key[:64], result="failure",
               reason=mask_numbers(message)[:300], code=exc.problem.code)
    return render_template("modeler/upload_refused.html", error=message, hint=gettext(texts.CHOOSE_PROCESS),
                           upload_key=key, choices=exc.candidates, chosen=chosen), 400


@bp.post("/upload")
def upload() -> ResponseReturnValue:
    """Store an uploaded .bpmn file as a new draft version of a process (or the first of a new one)."""
    key = request.form.get("key", "").strip()
    if not versions.KEY.fullmatch(key):
        return _refused_upload(key, gettext(texts.BAD_KEY))
    read = uploads.read_upload(key)
    if isinstance(read, str):
        return _refused_upload(key, read)
    name = read.name
    chosen = request.form.get("process", "").strip()[:MAX_PROCESS_ID] or None
    rt = runtime()
    try:
        with rt.write() as db, db.begin():
            done = versions.upload_draft(db, key, name, read.text, actor=current_user.username, now=now(),
                                         operators=rt.handlers, process_id=chosen, forms=read.forms,
                                         others=read.others)
            record(db, "definition.upload", object_type="process_definition", object_id=f"{key} v{done.version}",
                   after={"version": done.version, "status": done.status, "created": done.created}, file=name,
                   files=read.names, process=chosen)
    except versions.ProcessChoice as exc:
        return _choose_process(key, exc, chosen)
    except DefinitionInvalid as exc:
        said = from_exception(exc, {}, name)  # in words and in the page's language, as validation says it
        return _refused_upload(key, gettext(texts.UPLOAD_REFUSED,
                                            problem=f"{said.text(gettext)} — {said.hint_text(gettext)}"[:500]))
    if done.created and not find(key, done.version).runnable:  # open it where its problems show on the diagram
        flash(gettext(texts.UPLOADED_WITH_ERRORS, version=done.version), "warning")
        return redirect(url_for("modeler.edit", key=key, version=done.version), code=303)
    flash(gettext(texts.UPLOADED if done.created else texts.UNCHANGED, version=done.version),
          "success" if done.created else "info")
    return redirect(url_for("modeler.versions_list", key=key), code=303)


def _publish_page(key: str, version: int, *, error: str | None = None, status: int = 200) -> ResponseReturnValue:
    row = find(key, version)
    report = edit.check(row, {k: str(v) for k, v in row.files.items()})  # errors block publishing, warnings not
    return render_template("modeler/publish.html", row=row, error=error, status_labels=texts.STATUS,
                           checked=edit.problems_json(report)), status


@bp.get("/<key>/v<int:version>/publish")
def publish_form(key: str, version: int) -> ResponseReturnValue:
    """The publication form: the second person confirms with their TOTP code."""
    return _publish_page(key, version)


@bp.post("/<key>/v<int:version>/publish")
def publish(key: str, version: int) -> ResponseReturnValue:
    """Publish a version for new cases: the rule of `processes.runtime.publishing`, every attempt audited."""
    code = request.form.get("code", "").strip()[:16] or None
    row = find(key, version)
    if edit.check(row, {k: str(v) for k, v in row.files.items()}).errors:  # before the code: it is not used up
        with runtime().write() as db, db.begin():
            record(db, "definition.publish", object_type="process_definition", object_id=f"{key} v{version}",
                   result="denied", via="web", reason="invalid", uploaded_by=row.created_by)
        return _publish_page(key, version, error=gettext(texts.HAS_ERRORS), status=409)
    try:
        with runtime().write() as db, db.begin():
            outcome = publishing.publish_by(db, key, version, publisher=current_user.username, code=code, now=now(),
                                            policy=policy(), code_at=wall_now())
            record(db, "definition.publish", object_type="process_definition", object_id=f"{key} v{version}",
                   result="success" if outcome.ok else "denied",
                   after={"version": version, "sha256": outcome.sha256, "status": "published"} if outcome.ok else None,
                   via="web", reason=outcome.reason, uploaded_by=outcome.uploaded_by,
                   already_published=outcome.was_published)
    except NotFound:
        abort(404)
    except InvalidState as exc:  # retired: a retired version never comes back
        return _publish_page(key, version, error=str(exc), status=409)
    if not outcome.ok:
        message = texts.PUBLISH_REFUSED.get(outcome.reason, texts.CODE_REFUSED)
        return _publish_page(key, version, error=gettext(message), status=403)
    flash(gettext(texts.ALREADY_PUBLISHED if outcome.was_published else texts.PUBLISHED, version=version), "success")
    return redirect(url_for("modeler.versions_list", key=key), code=303)


@bp.post("/<key>/v<int:version>/retire")
def retire(key: str, version: int) -> ResponseReturnValue:
    """Retire a version (停用) with a reason: no new case starts on it, running ones finish on it."""
    find(key, version)
    reason = request.form.get("reason", "").strip()
    if not reason or len(reason) > MAX_REASON:
        return versions_page(key, error=gettext(texts.REASON_REQUIRED), status=400)
    refused: str | None = None
    with runtime().write() as db, db.begin():
        try:
            before = versions.retire(db, key, version, may_retire_published="sysadmin" in current_user.roles)
        except versions.NotAllowed:
            refused, status = gettext(texts.RETIRE_PUBLISHED_ONLY_ADMIN), 403
        except InvalidState:
            refused, status = gettext(texts.ALREADY_RETIRED), 409
        if refused is None:
            record(db, "definition.retire", object_type="process_definition", object_id=f"{key} v{version}",
                   before={"status": before}, after={"status": "retired"}, reason=mask_numbers(reason)[:200])
        else:
            record(db, "definition.retire", object_type="process_definition", object_id=f"{key} v{version}",
                   result="denied" if status == 403 else "failure", reason=mask_numbers(reason)[:200])
    if refused is not None:
        return versions_page(key, error=gettext(texts.RETIRE_REFUSED, problem=refused), status=status)
    flash(gettext(texts.RETIRED, version=version), "success")
    return redirect(url_for("modeler.versions_list", key=key), code=303)
