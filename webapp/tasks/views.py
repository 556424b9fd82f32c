"""The task form (办理): GET shows a task's form beside its case; POST completes the task or saves a draft (暂存).

Completing is one command (`commands.complete_task`): the form data is checked against the task's schema on the
server (400 with a message per field, the typed values kept), the audit row `task.complete` and the removal of
drafts are written in the command's own transaction, and a task someone else completed or claimed first answers
409 with a Chinese sentence, never 500. Uploaded files are checked and stored first, so a form shown again keeps
them. A task outside the user's reach answers 404 like an absent one.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import Connection

from processes.cases import access
from processes.cases import attachments
from processes.cases import drafts
from processes.cases import forms
from processes.cases.access import Viewer
from processes.cases.attachments import AttachmentRejected
from processes.cases.attachments import AttachmentTooLarge
from processes.cases.attachments import Stored
from processes.errors import Conflict
from processes.errors import FormDataInvalid
from processes.errors import TaskNotReady
from processes.runtime import commands
from processes.runtime.context import Also
from processes.runtime.context import CommandSummary
from webapp import schemaforms
from webapp.cases import files
from webapp.casework import record
from webapp.casework import viewer
from webapp.context import now
from webapp.context import runtime
from webapp.messages import N_
from webapp.messages import _l
from webapp.permissions import wants_json
from webapp.schemaforms import FILES_SUFFIX
from webapp.schemaforms import Raw
from webapp.tasks import page
from webapp.tasks.page import GENERAL
from webapp.tasks.page import TaskContext
from webapp.workspace import audit_failure
from webapp.workspace import error_message
from webapp.workspace import error_page

bp = Blueprint("tasks", __name__, url_prefix="/tasks")
COMPLETED = _l("已办理。")
DRAFT_SAVED = _l("已暂存，下次打开此任务时会自动填入。")
NOT_THIS_TASK = N_("附件不属于此任务")


@bp.get("/<task_id>")
def form(task_id: str) -> ResponseReturnValue:
    """Show the task's form (with the user's draft, if any) beside the case."""
    who = viewer()
    with runtime().read() as db:
        ctx = page.load(db, who, task_id)
        if ctx.task.status != "open":
            raise TaskNotReady("this task is no longer open")
        draft = drafts.load(db, task_id, who.username)
        decided = page.decision_of(db, who, ctx)
        raw = draft[0] if draft else schemaforms.starting(ctx.spec, ctx.case,
                                                          decided.prefill if decided is not None else None)
        return page.render(db, who, ctx, raw, draft_at=draft[1] if draft else None)


@bp.post("/<task_id>")
def submit(task_id: str) -> ResponseReturnValue:
    """Complete the task with the submitted form, or save it as a draft (action=draft)."""
    who = viewer()
    action = request.form.get("action", "complete")
    if action not in ("complete", "draft"):
        abort(400)
    with runtime().read() as db:
        ctx = page.load(db, who, task_id)
    raw = schemaforms.raw_values(ctx.spec, request.form)
    if ctx.task.status != "open" or not access.may_act(who, ctx.task):
        return _taken(ctx, raw, action, TaskNotReady("task is closed") if ctx.task.status != "open" else Conflict(
            f"task is claimed by {ctx.holder or ctx.task.assignee}"))
    try:
        uploads = _store_uploads(ctx)
    except UploadRefused as refusal:
        message = page.upload_message(refusal.too_large, int(current_app.config["ATTACHMENT_MAX_BYTES"]))
        return _again(who, ctx, raw, {refusal.field: message}, 413 if refusal.too_large else 400)
    for name, ids in uploads.items():
        if name != GENERAL:
            raw[name] = [*raw.get(name, []), *ids]
    if action == "draft":
        return _save_draft(who, ctx, raw)
    return _complete(who, ctx, raw, uploads)


class UploadRefused(Exception):
    """An uploaded file was refused: which input it came from and whether it was too large."""

    def __init__(self, field: str, too_large: bool) -> None:
        super().__init__(field)
        self.field = field
        self.too_large = too_large


def _store_uploads(ctx: TaskContext) -> dict[str, list[str]]:
    """Check, store and record the uploaded files: the general ones and those of attachment fields."""
    inputs = [(GENERAL, None), *((name, frozenset({"image"})) for name in ctx.attachment_fields())]
    stored: dict[str, list[Stored]] = {}
    try:
        for name, groups in inputs:
            key = GENERAL if name == GENERAL else name + FILES_SUFFIX
            chosen = [f for f in request.files.getlist(key) if f.filename]
            if chosen and ctx.case is None:
                raise UploadRefused(name, too_large=False)  # a task without a case takes no files
            try:
                stored[name] = files.store_uploads(chosen, groups=groups)
            except AttachmentRejected as error:
                raise UploadRefused(name, isinstance(error, AttachmentTooLarge)) from error
    except BaseException:
        files.remove(item for items in stored.values() for item in items)
        raise
    everything = [item for items in stored.values() for item in items]
    if ctx.case is not None:
        files.record_uploads(everything, case_id=ctx.case.id, task_id=ctx.task.id, case_number=ctx.case.number)
    return {name: [item.id for item in items] for name, items in stored.items() if items}


def _save_draft(who: Viewer, ctx: TaskContext, raw: Raw) -> ResponseReturnValue:
    """Store what was typed, unvalidated and encrypted, and show the form again (PRG)."""
    with runtime().write() as db, db.begin():
        drafts.save(db, ctx.task.id, who.username, raw, now=now())
        record(db, "task.draft_save", object_type="task", object_id=ctx.task.id,
               case=ctx.case.number if ctx.case else None, task=ctx.task.bpmn_id)
    flash(DRAFT_SAVED, "success")
    return redirect(url_for("tasks.form", task_id=ctx.task.id), code=303)


def _complete(who: Viewer, ctx: TaskContext, raw: Raw, uploads: dict[str, list[str]]) -> ResponseReturnValue:
    """Type and check the form data, then complete the task in one command with its audit row."""
    data, errors = schemaforms.read(ctx.spec, request.form, {k: v for k, v in uploads.items() if k != GENERAL})
    data, errors = schemaforms.relevant(ctx.spec, data, errors)  # a field of a choice not made is not kept
    data.update(schemaforms.undeclared(ctx.spec, request.form))  # for the completion to refuse by name
    errors.update(_attachment_errors(ctx, data))
    if ctx.schema is None:
        errors.update({name: forms.UNKNOWN for name in data})
    elif errors:
        errors = {**forms.errors_of(ctx.schema, data), **errors}
    if errors:
        return _refused(who, ctx, raw, errors)
    try:
        commands.complete_task(runtime(), ctx.task.instance_id, ctx.task.id, data, actor=who.username,
                               also=_completion_writes(ctx, data))
    except FormDataInvalid as error:
        return _refused(who, ctx, raw, page.chinese(error.errors or {"_form": str(error)}))
    except Conflict as error:
        return _taken(ctx, raw, "complete", error)
    flash(COMPLETED, "success")
    return redirect(url_for("worklist.index"), code=303)


def _taken(ctx: TaskContext, raw: Raw, action: str, error: Conflict | TaskNotReady) -> ResponseReturnValue:
    """Audit a submission someone else beat (409) and answer with what was typed and the way back to 待办."""
    with runtime().write() as db:
        audit_failure(db, f"task.{'complete' if action == 'complete' else 'draft_save'}", "task", ctx.task.id,
                      "conflict", case=ctx.case.number if ctx.case else None)
        message = error_message(db, error)
    if wants_json():
        return error_page(message, error.http_status)
    with runtime().read() as db:
        return page.taken(db, ctx, raw, message, error.http_status)  # nothing typed is lost, nothing is kept


def _completion_writes(ctx: TaskContext, data: dict[str, Any]) -> Also:
    """Return what the completion writes in its own transaction: drop the drafts, audit the completion."""
    def write(conn: Connection, _done: CommandSummary) -> None:
        drafts.discard(conn, ctx.task.id)
        record(conn, "task.complete", object_type="task", object_id=ctx.task.id,
               case=ctx.case.number if ctx.case else None, task=ctx.task.bpmn_id, fields=sorted(data))
    return write


def _attachment_errors(ctx: TaskContext, data: dict[str, Any]) -> dict[str, str]:
    """Refuse attachment ids that are not image files uploaded on this task."""
    names = ctx.attachment_fields()
    if not names:
        return {}
    with runtime().read() as db:
        own = {a.id for a in page.task_attachments(db, ctx) if attachments.group_of(a.content_type) == "image"}
    errors = {}
    for name in names:
        chosen = data.get(name)
        if isinstance(chosen, list) and not set(chosen) <= own:
            errors[name] = NOT_THIS_TASK
    return errors


def _refused(who: Viewer, ctx: TaskContext, raw: Raw, errors: dict[str, str]) -> ResponseReturnValue:
    """Audit the refused completion (field names only) and show the form again with the messages (400)."""
    declared = {f.name for f in ctx.spec.fields}
    with runtime().write() as db:
        audit_failure(db, "task.complete", "task", ctx.task.id, "invalid",
                      case=ctx.case.number if ctx.case else None,
                      fields=sorted(n for n in errors if n in declared), undeclared=sum(n not in declared
                                                                                       for n in errors))
    return _again(who, ctx, raw, errors, 400)


def _again(who: Viewer, ctx: TaskContext, raw: Raw, errors: dict[str, str], status: int) -> ResponseReturnValue:
    """Show the form again with what the user typed and the messages."""
    with runtime().read() as db:
        return page.render(db, who, ctx, raw, errors=errors, status=status)
