"""Interventions (干预) from the instance page: suspend, resume, terminate, move a deadline, hand over, urge.

Each takes a mandatory reason, runs as one audited command and carries what the supervisor saw (the instance
version, the task's holder), so a change made meanwhile answers 409 instead of acting on a stale page. Bad input
answers 400 with the office's sentence; an instance or task that does not exist, 404. The forms are the partial
templates/monitor/_interventions.html, whose choices come from `intervention_choices`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from typing import NoReturn

import sqlalchemy as sa
from flask import abort
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from processes.accounts.roles import ROLES
from processes.cases.models import Case
from processes.cases.numbers import has_number
from processes.errors import FormDataInvalid
from processes.errors import RuntimeErrorBase
from processes.monitoring import incidents
from processes.monitoring import interventions
from processes.runtime import control
from processes.runtime import reassign
from processes.runtime import urging
from processes.runtime.context import Also
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessInstance
from webapp.casework import record
from webapp.casework import runtime_message
from webapp.casework import viewer
from webapp.context import runtime
from webapp.messages import N_
from webapp.monitor import bp
from webapp.monitor.instances_list import instance_url
from webapp.params import whole_number
from webapp.timefmt import LOCAL
from webapp.worklist.views import candidates
from webapp.workspace import audit_failure
from webapp.workspace import done
from webapp.workspace import error_page
from webapp.workspace import real_names

REASON_MAX = 200
# The runtime's refusals a supervisor's choice can cause (English, for logs), in the office's words.
REFUSALS = {"the unit already handles this case": N_("该单位已在办理此工单，请选择其他单位。"),
            "this task is not a unit's task; hand it to a person": N_("此任务不属于承办单位，只能转交给个人。"),
            "no waiting timer matched": N_("所选时限已不在等待中，请刷新页面。")}


def _bad(message: str) -> NoReturn:
    """Stop with 400 and the office's sentence."""
    abort(400, description=message)


def _reason() -> str:
    """The mandatory reason (理由): not empty, short, and without phone or ID numbers (it is audited)."""
    text = (request.form.get("reason") or "").strip()
    if not text:
        _bad(gettext("请填写理由。"))
    if len(text) > REASON_MAX:
        _bad(gettext("理由不能超过 %(n)s 个字。", n=REASON_MAX))
    if has_number(text):
        _bad(gettext("理由中不能包含电话号码或身份证号。"))
    return text


def _version() -> int:
    """The instance version the supervisor's page showed."""
    version = whole_number(request.form.get("version"), high=999_999_999)
    if version is None:
        _bad(gettext("页面信息不完整，请刷新后重试。"))
    return version


def _back(instance_id: str) -> str:
    """Where a finished intervention goes back to: the instance page, else the instance list."""
    return instance_url(instance_id) or url_for("monitor.instances")


def _refused(action: str, kind: str, object_id: str, number: str | None,
             error: RuntimeErrorBase) -> ResponseReturnValue:
    """Audit a refused intervention and answer with its status (409 lost race, 400, 404) and sentence."""
    with runtime().write() as db:
        audit_failure(db, action, kind, object_id, type(error).__name__, case=number)
    text = str(error).partition(": ")[2] if isinstance(error, FormDataInvalid) else str(error)
    message = gettext(REFUSALS[text]) if text in REFUSALS else runtime_message(error)
    return error_page(message, error.http_status)


def _audit(action: str, kind: str, object_id: str, number: str | None, reason: str, **detail: Any) -> Also:
    return lambda conn, summary: record(conn, action, object_type=kind, object_id=object_id, case=number,
                                        reason=reason, after={"status": summary.status}, **detail)


def _instance(instance_id: str) -> tuple[int, str | None]:
    """The instance's definition and case number, or 404."""
    with runtime().read() as db:
        row = db.execute(sa.select(ProcessInstance.definition_id, Case.number).outerjoin(
            Case, Case.id == ProcessInstance.case_id).where(ProcessInstance.id == instance_id)).one_or_none()
    if row is None:
        abort(404)
    return int(row.definition_id), row.number


def _on_instance(instance_id: str, action: str, command: Callable[[str, Also], object],
                 message: str) -> ResponseReturnValue:
    """Run one control command on an instance with reason, version guard and audit row."""
    reason, seen = _reason(), _version()
    _, number = _instance(instance_id)
    try:
        command(reason, interventions.version_guard(instance_id, seen,
                                                    _audit(action, "instance", instance_id, number, reason)))
    except RuntimeErrorBase as error:
        return _refused(action, "instance", instance_id, number, error)
    return done(message, _back(instance_id))


@bp.post("/instances/<instance_id>/suspend")
def suspend(instance_id: str) -> ResponseReturnValue:
    """Suspend an instance (挂起): no task can be done and no timer fires until it is resumed."""
    return _on_instance(instance_id, "instance.suspend", lambda reason, also: control.suspend(
        runtime(), instance_id, actor=viewer().username, reason=reason, also=also), gettext("流程已挂起。"))


@bp.post("/instances/<instance_id>/resume")
def resume(instance_id: str) -> ResponseReturnValue:
    """Resume a suspended instance (恢复); timers that fell due meanwhile fire now."""
    return _on_instance(instance_id, "instance.resume", lambda reason, also: control.resume(
        runtime(), instance_id, actor=viewer().username, reason=reason, also=also), gettext("流程已恢复。"))


@bp.post("/instances/<instance_id>/terminate")
def terminate(instance_id: str) -> ResponseReturnValue:
    """Terminate an instance (终止): its tasks are cancelled and its timers dropped."""
    return _on_instance(instance_id, "instance.terminate", lambda reason, also: control.terminate(
        runtime(), instance_id, actor=viewer().username, reason=reason, also=also), gettext("流程已终止。"))


def _due() -> datetime:
    """The new due time from the form (Beijing wall clock), later than now."""
    text = request.form.get("due") or ""
    try:
        due = datetime.fromisoformat(text).replace(tzinfo=LOCAL)
    except ValueError:
        _bad(gettext("请填写正确的新时限（日期和时间）。"))
    if due <= runtime().clock():
        _bad(gettext("新时限必须晚于现在。"))
    return due


@bp.post("/instances/<instance_id>/deadline")
def move_deadline(instance_id: str) -> ResponseReturnValue:
    """Move one waiting deadline (调整时限); the case's deadline and light follow (control.reschedule_timers)."""
    timer, due = request.form.get("timer") or "", _due()
    with runtime().read() as db:
        waiting = {t.task_id for t in interventions.waiting_timers(db, instance_id)}
    if timer not in waiting:
        _bad(gettext("请选择要调整的时限。"))
    shown = due.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")
    return _on_instance(instance_id, "instance.reschedule", lambda reason, also: control.reschedule_timers(
        runtime(), instance_id, actor=viewer().username, reason=reason, new_due={timer: due}, also=also),
        gettext("时限已调整为 %(due)s。", due=shown))


def _task(task_id: str) -> tuple[HumanTask, str | None, reassign.Seen]:
    """The open task (404 if unknown), its case number and what the supervisor saw of it."""
    with runtime().read() as db:
        task = db.get(HumanTask, task_id)
        number = db.scalar(sa.select(Case.number).where(Case.id == task.case_id)) if task and task.case_id else None
    if task is None:
        abort(404)
    seen = reassign.Seen(_version(), request.form.get("assignee_seen") or None)
    return task, number, seen


@bp.post("/tasks/<task_id>/urge")
def urge(task_id: str) -> ResponseReturnValue:
    """Urge whoever holds an open task (催办): an internal message and a step in the case's history."""
    reason = _reason()
    task, number, seen = _task(task_id)
    try:
        to = urging.urge(runtime(), task.instance_id, task.id, actor=viewer().username, reason=reason, seen=seen,
                         also=_audit("task.urge", "task", task.id, number, reason, task=task.bpmn_id))
    except RuntimeErrorBase as error:
        return _refused("task.urge", "task", task.id, number, error)
    return done(gettext("已催办 %(who)s：%(name)s", who=to["name"], name=task.name), _back(task.instance_id))


@bp.post("/tasks/<task_id>/reassign")
def reassign_task(task_id: str) -> ResponseReturnValue:
    """Hand an open task to a person (转交) or to another unit's group (改派)."""
    reason = _reason()
    task, number, seen = _task(task_id)
    person, unit = (request.form.get("to_user") or "").strip(), (request.form.get("to_unit") or "").strip()
    with runtime().read() as db:
        people = dict(candidates(db, task)) if person else {}
        units = dict(interventions.units(db)) if unit else {}
    if bool(person) == bool(unit):
        _bad(gettext("请选择转交的人员或改派的单位（二选一）。"))
    if person and person not in people:
        _bad(gettext("只能转交给可以办理此任务的同事（相同角色，部门任务须为本部门）。"))
    if unit and (unit not in units or unit == task.department):
        _bad(gettext("请选择另一个承办单位。"))
    try:
        reassign.reassign_task(runtime(), task.instance_id, task.id, actor=viewer().username, reason=reason,
                               seen=seen, assignee=person or None, department=unit or None,
                               also=_audit("task.reassign", "task", task.id, number, reason, task=task.bpmn_id,
                                           previous=task.assignee, assignee=person or None,
                                           department=unit or None, previous_department=task.department))
    except RuntimeErrorBase as error:
        return _refused("task.reassign", "task", task.id, number, error)
    who = people.get(person) or units.get(unit) or ""
    return done(gettext("已转交给 %(who)s：%(name)s", who=who, name=task.name), _back(task.instance_id))


@bp.app_template_global("intervention_choices")
def intervention_choices(instance: ProcessInstance, open_tasks: list[HumanTask]) -> dict[str, Any]:
    """What the interventions partial offers: waiting deadlines with names, people per task, units."""
    with runtime().read() as db:
        names = incidents.element_names(db, instance.definition_id)
        timers = [(t, names.get(t.bpmn_id, t.bpmn_id)) for t in interventions.waiting_timers(db, instance.id)]
        people = {task.id: candidates(db, task) for task in open_tasks if task.role}
        units = interventions.units(db)
        names = real_names(db, [task.assignee for task in open_tasks])
    return {"timers": timers, "people": people, "units": units, "reason_max": REASON_MAX,
            "back": request.path, "holders": {task.id: _holder(task, names, dict(units)) for task in open_tasks}}


def _holder(task: HumanTask, names: dict[str, str], units: dict[str, str]) -> str:
    """Who holds a task, in words: the person, else the unit's or the role's group waiting to claim it (待认领)."""
    if task.assignee:
        return names.get(task.assignee, task.assignee)
    role = ROLES.get(task.role or "")
    group = units.get(task.department or "") or task.department or (gettext(role.name_zh) if role else "")
    return str(gettext("%(group)s 待认领", group=group) if group else gettext("待认领"))
