"""Intake screens (登记): one per channel, each starting its channel process with the bundle's start form."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from processes.cases import access
from processes.cases import disclosure
from processes.cases import forms
from processes.cases.models import Case
from processes.cases.upstream_order import parse_order
from processes.errors import FormDataInvalid
from processes.errors import InvalidState
from processes.errors import RuntimeErrorBase
from processes.runtime import commands
from processes.runtime.context import Also
from processes.runtime.context import CommandSummary
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessDefinition
from webapp import casework
from webapp import labels
from webapp import schemaforms
from webapp.context import now
from webapp.context import runtime
from webapp.intake import bp
from webapp.intake import direct
from webapp.intake import lookup as earlier
from webapp.intake.channels import CHANNELS
from webapp.intake.channels import Channel
from webapp.messages import _l
from webapp.permissions import RULES
from webapp.permissions import allowed
from webapp.schemaforms import choices
from webapp.timefmt import local_time

REGISTERED = _l("工单 {number} 已登记。")
ANSWERED = _l("工单 {number} 已登记并办结（直接答复），已归档。")
NOT_DEPLOYED = _l("该渠道的流程尚未发布，暂不能登记。请联系系统管理员。")
FIX_FIELDS = _l("表单填写有误，请按提示修改。")
DIRECT_ANSWER_FORM = "direct_answer.schema.json"


@bp.context_processor
def helpers() -> dict[str, Any]:
    """Give the intake templates Beijing times and the htmx lookup trigger."""
    return {"local_time": local_time, "lookup_trigger": lookup_trigger}


def lookup_trigger(spec: schemaforms.FormSpec) -> str:
    """Return when the screen asks for earlier cases: typing the phone (500 ms pause), changing place or order."""
    names = {f.name for f in spec.fields}
    triggers = ["load"]
    if "requester_phone" in names:
        triggers.append("input changed delay:500ms from:#f-requester_phone")
    triggers += [f"change from:#f-{name}" for name in ("category", "township", "upstream_order_id") if name in names]
    return ", ".join(triggers)


@bp.get("")
def index() -> ResponseReturnValue:
    """Show the intake screens this user may open (登记入口)."""
    shown = [c for c in CHANNELS.values()
             if allowed(RULES.get(f"intake.{c.slug}"), signed_in=True, roles=current_user.roles)]
    return render_template("intake/index.html", channels=shown)


def _view(channel: Channel) -> Callable[[], ResponseReturnValue]:
    def view() -> ResponseReturnValue:
        return screen(channel)

    view.__name__ = channel.slug
    view.__doc__ = f"Register a case through the {channel.slug} channel ({channel.title})."
    return view


for _channel in CHANNELS.values():
    bp.add_url_rule(f"/{_channel.slug}", endpoint=_channel.slug, view_func=_view(_channel), methods=["GET", "POST"])


def screen(channel: Channel) -> ResponseReturnValue:
    """Show a channel's form; parse a pasted order; or validate and register (and close a direct answer)."""
    viewer = casework.viewer()
    fixed = {"township": viewer.department or ""} if channel.own_township else {}
    with runtime().read() as db:
        schema = published_form(db, channel.process_key, forms.INTAKE_FORM)
        if schema is None:
            return render_template("intake/form.html", channel=channel, errors={}, unavailable=NOT_DEPLOYED), 503
        spec = schemaforms.describe(schema, choices.lookup(db, None), start=True, fixed=fixed)
        answer_schema = published_form(db, channel.process_key, DIRECT_ANSWER_FORM) \
            if channel.direct_answer else None
    page: dict[str, Any] = {"channel": channel, "spec": spec, "answer_schema": answer_schema}
    if request.method == "GET":
        return _form(page, schemaforms.defaults(spec), {}, {})
    form = request.form
    if channel.paste and form.get("action") == "parse":
        return _parsed(form, spec, page)
    data, errors = schemaforms.relevant(spec, *schemaforms.read(spec, form))  # only the chosen branch's fields
    for name, message in forms.errors_of(schema, data).items():
        errors.setdefault(name, message)
    typed = schemaforms.raw_values(spec, form)
    answer = None
    if channel.direct_answer and schemaforms.ticked(form.get("answer_now")):
        answer, problems = direct.read_answer(form, answer_schema, data.get("request_type"))
        errors = problems | errors
    if errors:
        return _invalid(page, typed, form, errors)
    # One command either way: a direct answer is registered, answered and closed in the same transaction
    start, also = (data, _audit(channel, data)) if answer is None else (
        direct.start_data(data, answer), direct.closing(_audit(channel, data), answer, data))
    try:
        started = commands.open_case(runtime(), channel.process_key, start, actor=viewer.username,
                                     channel=channel.channel, also=also)
    except FormDataInvalid as exc:  # the runtime's own checks (English, for logs): show the office's words
        problems = {name: text if not text.isascii() else forms.BAD_FORMAT for name, text in exc.errors.items()}
        return _invalid(page, typed, form, problems or {"_form": casework.runtime_message(exc)})
    except RuntimeErrorBase as exc:
        if answer is not None and isinstance(exc, InvalidState):
            exc = direct.NotClosed()  # a step on the way to 办结 failed: the registration rolled back with it
        flash(casework.runtime_message(exc), "error")
        return _form(page, typed, form, {}, exc.http_status)
    done = REGISTERED if answer is None else ANSWERED
    flash(str(done).format(number=started.case_number), "success")
    return redirect(_case_url(started))


def published_form(db: Session, process_key: str, form_name: str) -> dict[str, Any] | None:
    """Return a form schema of the published version of a process (None when not deployed or absent)."""
    definition_id = db.scalar(sa.select(ProcessDefinition.id).where(
        ProcessDefinition.key == process_key, ProcessDefinition.status == "published"))
    if definition_id is None:
        return None
    return forms.schema_for(db.connection(), definition_id, form_name)


def _form(page: dict[str, Any], typed: schemaforms.Raw, answer: Mapping[str, str], errors: dict[str, str],
          status: int = 200, **extra: Any) -> ResponseReturnValue:
    """Draw the screen with the values as typed, the direct answer part and the messages."""
    values = schemaforms.shown(page["spec"], typed)
    return render_template("intake/form.html", values=values, answer=answer, errors=errors, **extra,
                           **page), status


def _invalid(page: dict[str, Any], typed: schemaforms.Raw, form: Mapping[str, str],
             errors: dict[str, str]) -> ResponseReturnValue:
    flash(str(FIX_FIELDS), "error")
    return _form(page, typed, form, errors, 400)


def _parsed(form: schemaforms.FormData, spec: schemaforms.FormSpec, page: dict[str, Any]) -> ResponseReturnValue:
    """Fill the form from a pasted upstream order; show what could not be read (nothing is registered)."""
    parsed = parse_order(form.get("paste"))
    typed: schemaforms.Raw = {f.name: f.fixed if f.fixed is not None else form.get(f.name, f.default or "")
                              for f in spec.fields}
    for name, value in parsed.fields.items():
        f = spec.get(name)
        if f is not None and f.fixed is None:
            typed[name] = schemaforms.input_time(value) if f.widget == "datetime" else value
    titles = {f.name: f.label for f in spec.fields}
    missing = [titles.get(name, name) for name in parsed.missing if not typed.get(name)]
    filled = [f.label for name in parsed.fields if (f := spec.get(name)) is not None and f.fixed is None]
    return _form(page, typed, form, {}, parsed=parsed, missing=missing, filled=filled, paste=form.get("paste", ""))


def _audit(channel: Channel, data: dict[str, Any]) -> Also:
    """The registration's audit row, written in its transaction: field names and routing, no personal values."""
    def write(conn: Connection, opened: CommandSummary) -> None:
        casework.record(conn, "case.register", object_type="case", object_id=opened.case_number,
                        channel=channel.channel, process=channel.process_key, fields=sorted(data),
                        after={k: data[k] for k in ("request_type", "urgency", "township") if k in data})
    return write


def _case_url(started: commands.Started) -> str:
    """The new case's page (工单详情)."""
    return url_for("cases.show", case_id=started.case_id)


@bp.post("/lookup")
def lookup() -> ResponseReturnValue:
    """Answer the intake screen while typing (htmx): earlier cases of the phone, possible duplicates."""
    form = request.form
    phone = form.get("requester_phone", "")
    viewer = casework.viewer()
    with runtime().read() as db:
        if phone.strip() and casework.phone_lookups_exhausted(db):
            abort(429)
        found = earlier.earlier_cases(db, viewer, now(), phone=phone, category=form.get("category", "").strip(),
                                      township=form.get("township", "").strip(),
                                      order_id=form.get("upstream_order_id", "").strip()[:64])
        townships = dict(choices.pairs(db, "townships"))
    if found.phone_searched:  # who looked callers up, and how much they saw; never the number
        with runtime().write() as db, db.begin():
            casework.record(db, "case.lookup_by_phone", object_type="case", object_id=None,
                            count=len(found.by_phone))
    return render_template("intake/_earlier.html", found=found, townships=townships, statuses=labels.STATUSES)


@bp.get("/registered/<number>")
def registered(number: str) -> ResponseReturnValue:
    """Confirm a registration (登记成功): number, state, first tasks, and the requester as this user may see it."""
    viewer = casework.viewer()
    with runtime().read() as db:
        case = db.scalar(sa.select(Case).where(Case.number == number[:32], access.case_filter(viewer)))
        if case is None:
            abort(404)
        tasks = list(db.scalars(sa.select(HumanTask.name).where(
            HumanTask.case_id == case.id, HumanTask.status == "open").order_by(HumanTask.created_at)))
        requester = disclosure.requester_view(db, viewer, case)
        townships = dict(choices.pairs(db, "townships"))
        return render_template("intake/registered.html", case=case, tasks=tasks, requester=requester,
                               channels=labels.CHANNELS, statuses=labels.STATUSES, townships=townships,
                               new_form=_form_of(case.channel))


def _form_of(channel_code: str) -> str | None:
    """The endpoint registering another case of the same channel."""
    return next((f"intake.{c.slug}" for c in CHANNELS.values() if c.channel == channel_code), None)

