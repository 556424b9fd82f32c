"""The task page (办理页): load a task the user may work on, its form, draft and attachments, and draw it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import render_template
from flask_babel import gettext
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound

from processes.cases import access
from processes.cases import attachments
from processes.cases import forms
from processes.cases.access import Viewer
from processes.cases.models import Attachment
from processes.cases.models import Case
from processes.cases.personal import MAX_ROUTING_STRING
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessInstance
from webapp import labels
from webapp import schemaforms
from webapp.cases import detail
from webapp.context import now
from webapp.context import runtime
from webapp.schemaforms import FormSpec
from webapp.schemaforms import Raw
from webapp.schemaforms import choices
from webapp.tasks import decision as decisions
from webapp.tasks.decision import Decision
from webapp.timefmt import local_time
from webapp.workspace import calendar_warning
from webapp.workspace import calendar_warnings
from webapp.workspace import countdown
from webapp.workspace import countdown_words
from webapp.workspace import real_names

GENERAL = "attachments"  # the upload input every form with a case has (附件)
NO_NUMBERS = "不要在此填写电话号码或身份证号。"


@dataclass
class TaskContext:
    """A task the user may work on, with its case, form and who holds it."""

    task: HumanTask
    case: Case | None
    schema: dict[str, Any] | None
    spec: FormSpec
    holder: str  # real name of whoever claimed it, '' when unclaimed
    decision: Decision | None = None  # what the person decides on (决策信息), once `decision_of` gathered it
    decided: bool = False

    def attachment_fields(self) -> list[str]:
        """Return the names of fields that take attachments (现场照片)."""
        return [f.name for f in self.spec.fields if f.widget == "attachments"]


def load(db: Session, who: Viewer, task_id: str) -> TaskContext:
    """Return the task and its form, or raise 404 when it is not in the user's reach (another unit's is absent)."""
    task = access.workable_task(db, who, task_id)
    if task is None:
        raise NotFound()
    case = access.visible_case(db, who, task.case_id) if task.case_id else None
    schema = None
    if task.form:
        definition_id = db.scalar(sa.select(ProcessInstance.definition_id)
                                  .where(ProcessInstance.id == task.instance_id))
        if definition_id is not None:
            schema = forms.schema_for(db.connection(), definition_id, task.form)
    spec = schemaforms.describe(schema or {}, choices.lookup(db, case), start=schemaforms.is_start_form(task.form))
    holder = real_names(db, [task.assignee]).get(task.assignee or "", "") if task.assignee else ""
    return TaskContext(task, case, schema, spec, holder)


def decision_of(db: Session, who: Viewer, ctx: TaskContext) -> Decision | None:
    """Return what the person decides on above the form (决策信息) and what it prefills, gathered once."""
    if not ctx.decided:
        ctx.decision = decisions.gather(db, runtime(), who, ctx.task, ctx.case, now())
        ctx.decided = True
    return ctx.decision


def task_attachments(db: Session, ctx: TaskContext) -> list[Attachment]:
    """Return the files uploaded on this task."""
    return attachments.of_case(db, ctx.case.id, ctx.task.id) if ctx.case is not None else []


def render(db: Session, who: Viewer, ctx: TaskContext, raw: Raw, *, errors: dict[str, str] | None = None,
           draft_at: datetime | None = None, status: int = 200) -> tuple[str, int]:
    """Draw the task page: the form with its values and messages, and the case panel beside it."""
    errors = errors or {}
    declared = {f.name for f in ctx.spec.fields}
    general = [(name, message) for name, message in errors.items() if name not in declared]
    files = task_attachments(db, ctx)
    moment = now()
    page = render_template(
        "tasks/form.html", ctx=ctx, task=ctx.task, spec=ctx.spec, raw=raw, errors=errors, general=general,
        values=schemaforms.shown(ctx.spec, raw), may_act=access.may_act(who, ctx.task),
        may_upload=ctx.case is not None, files=files,
        images=[a for a in files if attachments.group_of(a.content_type) == "image"],
        accept=attachments.ACCEPT, image_accept=attachments.IMAGE_ACCEPT, draft_at=local_time(draft_at),
        view=detail.summary(db, who, ctx.case, moment) if ctx.case is not None else None,
        due=countdown(ctx.task.due_at, moment, ctx.case.warning_level if ctx.case else None,
                      calendar_warning(calendar_warnings(db, [ctx.task.case_id]), ctx.task.case_id, ctx.task.due_at)),
        labels=labels, words=countdown_words(), decision=decision_of(db, who, ctx))
    return page, status


def typed(spec: FormSpec, raw: Raw) -> list[tuple[str, str]]:
    """Return what the user typed, field by field as labels and choices read (for the page of a task taken first)."""
    found = []
    for f in spec.fields:
        value = schemaforms.shown_value(f, raw)
        chosen: list[str] = [str(v) for v in value] if isinstance(value, list) else [str(value)] if value else []
        names = {o.value: o.label for o in f.options}
        if chosen and f.widget != "attachments" and f.fixed is None:
            found.append((f.label, "、".join(names.get(v, v) for v in chosen)))
    return found


def taken(db: Session, ctx: TaskContext, raw: Raw, message: str, status: int) -> tuple[str, int]:
    """Answer a task someone else completed or claimed first: why, the way back, and what the user typed."""
    page = render_template("tasks/taken.html", task=ctx.task, case=ctx.case, message=message,
                           typed=typed(ctx.spec, raw), files=task_attachments(db, ctx))
    return page, status


def chinese(errors: dict[str, str]) -> dict[str, str]:
    """Return field messages in Chinese: the runtime's English ones (bad names, numbers, types) become ours."""
    def said(message: str) -> str:
        if not message.isascii():
            return message
        if "field names" in message:
            return forms.UNKNOWN
        if "phone or ID number" in message:
            return NO_NUMBERS  # a routing value (short text kept in the workflow) refuses personal numbers
        if "characters must go in a free-text field" in message:
            return f"不能超过 {MAX_ROUTING_STRING} 个字"
        return forms.BAD_FORMAT
    return {name: said(message) for name, message in errors.items()}


def upload_message(too_large: bool, limit: int) -> str:
    """Return the message for a refused upload."""
    if too_large:
        return str(gettext("文件过大：每个附件不能超过 %(mb)s MB。", mb=round(limit / 1024 / 1024, 1)))
    return str(gettext("不支持此类文件，或文件内容与扩展名不符"
                       "（仅限 jpg、png、pdf、doc、docx、xls、xlsx、mp3、amr、wav）。"))
