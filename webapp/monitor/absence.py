"""Staff and hand-over pages (人员与交接): who holds how many tasks, and handing all of a person's tasks over at once.

The hand-over is previewed (which tasks, cases, due times and who receives each), then applied with a reason in one
transaction (`processes.monitoring.absence`). If anything changed since the preview the whole batch is refused with
409 and the new preview shown, so the office never hands over a task nobody looked at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from typing import NoReturn

import sqlalchemy as sa
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from processes.accounts.models import AppUser
from processes.accounts.models import UserRole
from processes.accounts.roles import ROLES
from processes.cases.numbers import has_number
from processes.monitoring import absence
from processes.runtime.models import HumanTask
from webapp.auth.forms import ActionForm
from webapp.casework import record
from webapp.context import now
from webapp.context import runtime
from webapp.messages import N_
from webapp.monitor import bp
from webapp.params import positive_int
from webapp.permissions import TASK_ROLES
from webapp.timefmt import local_time
from webapp.workspace import audit_failure
from webapp.workspace import countdown
from webapp.workspace import unit_names

PAGE_SIZE = 50
MAX_REASON = 300
KIND_LABELS = {"leave": N_("请假"), "illness": N_("病假"), "leaving": N_("离职/调岗")}
CHANGED = N_("预览之后任务有变化（已办结、已转交或新分派给此人），整批未执行。请核对下面的最新预览后再次确认。")


@dataclass(frozen=True)
class StaffRow:
    """One member of staff on the people page: unit, roles, held and overdue tasks, the group pool they share."""

    username: str
    real_name: str
    unit: str
    roles: list[str]
    active: bool
    held: int
    overdue: int
    next_due: str
    pool: int


def _bad(message: str) -> NoReturn:
    abort(400, description=message)


def _staff_filter(db: Session) -> tuple[str, str, bool, int]:
    """Return the unit, role, 'holding tasks only' and page asked for; an unknown value answers 400."""
    unit, role = request.args.get("unit", ""), request.args.get("role", "")
    if unit and unit not in unit_names(db):
        _bad(gettext("筛选条件无效：%(what)s。请从列表中选择。", what=gettext("单位")))
    if role and role not in TASK_ROLES:
        _bad(gettext("筛选条件无效：%(what)s。请从列表中选择。", what=gettext("角色")))
    page = positive_int(request.args.get("page", "1"), 10_000)
    if page is None:
        _bad(gettext("筛选条件无效：%(what)s。请从列表中选择。", what=gettext("页码")))
    return unit, role, request.args.get("holding") == "1", page


def _pools(db: Session) -> dict[tuple[str | None, str | None], int]:
    """Return the unclaimed open tasks by role and unit (the group pools a person's worklist shows)."""
    rows = db.execute(sa.select(HumanTask.role, HumanTask.department, sa.func.count()).where(
        HumanTask.status == "open", HumanTask.assignee.is_(None)).group_by(HumanTask.role, HumanTask.department))
    return {(r, d): int(n) for r, d, n in rows}


def staff_page(db: Session, at: datetime, unit: str, role: str, holding: bool, page: int) -> tuple[list[StaffRow], int]:
    """Return one page of staff (business roles) with their task counts, most held first, and the total."""
    held = (sa.select(HumanTask.assignee.label("who"), sa.func.count().label("held"),
                      sa.func.sum(sa.case((HumanTask.due_at < at, 1), else_=0)).label("overdue"),
                      sa.func.min(HumanTask.due_at).label("next_due"))
            .where(HumanTask.status == "open", HumanTask.assignee.is_not(None))
            .group_by(HumanTask.assignee).subquery())
    staff = sa.select(UserRole.user_id).where(UserRole.role.in_(sorted(TASK_ROLES if not role else {role})))
    conditions: list[ColumnElement[bool]] = [AppUser.id.in_(staff)]
    if unit:
        conditions.append(AppUser.department == unit)
    if holding:
        conditions.append(held.c.held > 0)
    base = sa.select(AppUser, held.c.held, held.c.overdue, held.c.next_due).outerjoin(
        held, held.c.who == AppUser.username).where(*conditions)
    total = int(db.scalar(sa.select(sa.func.count()).select_from(base.subquery())) or 0)
    found = db.execute(base.order_by(sa.func.coalesce(held.c.held, 0).desc(), AppUser.department, AppUser.username)
                       .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    roles: dict[str, list[str]] = {}
    for user_id, code in db.execute(sa.select(UserRole.user_id, UserRole.role).where(
            UserRole.user_id.in_([user.id for user, *_ in found])).order_by(UserRole.role)):
        roles.setdefault(user_id, []).append(code)
    units, pools = unit_names(db), _pools(db)
    return [_row(user, roles.get(user.id, []), n or 0, late or 0, due, units, pools)
            for user, n, late, due in found], total


def _row(user: AppUser, codes: list[str], held: int, overdue: int, due: datetime | None, units: dict[str, str],
         pools: dict[tuple[str | None, str | None], int]) -> StaffRow:
    pool = sum(n for (r, d), n in pools.items() if r in codes and d in (None, user.department))
    return StaffRow(user.username, user.real_name or user.username, units.get(user.department or "", ""),
                    codes, user.active, int(held), int(overdue), local_time(due) if due else "", pool)


@bp.get("/people")
def people() -> ResponseReturnValue:
    """The staff list (人员): each person's held, overdue and group tasks; filter by unit and role."""
    at = now()
    with runtime().read() as db:
        unit, role, holding, page = _staff_filter(db)
        rows, total = staff_page(db, at, unit, role, holding, page)
        units = unit_names(db)
    args = {k: v for k, v in (("unit", unit), ("role", role), ("holding", "1" if holding else "")) if v}
    return render_template("monitor/people.html", rows=rows, total=total, page=page, units=units,
                           pages=max(1, -(-total // PAGE_SIZE)), args=args, roles=ROLES,
                           task_roles=[code for code in ROLES if code in TASK_ROLES])


def _choice(db: Session, holder: absence.Person, source: Any) -> tuple[absence.Person | None, str]:
    """Return the chosen receiver and fallback from the form or the address; a bad one answers 400."""
    to_name, fallback = source.get("to", ""), source.get("fallback", "group")
    if fallback not in absence.FALLBACKS:
        _bad(gettext("请选择无法接收的任务如何处理。"))
    if not to_name:
        return None, fallback
    to = absence.person(db, to_name)
    if to is None or not to.active:
        _bad(gettext("接收人不存在或已停用。"))
    if to.username == holder.username:
        _bad(gettext("不能交接给本人。"))
    return to, fallback


def _preview(db: Session, plan: absence.Plan, *, error: str | None = None, values: dict[str, str] | None = None,
             status: int = 200) -> ResponseReturnValue:
    roles = {item.role for item in plan.items if item.role}
    at = now()
    return render_template(
        "monitor/handover.html", plan=plan, error=error, values=values or {}, kinds=KIND_LABELS, roles=ROLES,
        candidates=absence.candidates(db, plan.holder, roles), units=unit_names(db), form=ActionForm(),
        due=lambda item: countdown(item.due_at, at), when=local_time, max_reason=MAX_REASON), status


def _holder(db: Session, username: str) -> absence.Person:
    holder = absence.person(db, username)
    if holder is None:
        abort(404)
    return holder


@bp.route("/people/<username>/handover", methods=["GET", "POST"])
def handover(username: str) -> ResponseReturnValue:
    """Preview (GET) or apply (POST, reason and CSRF) the hand-over of every task a person holds."""
    source = request.form if request.method == "POST" else request.args
    with runtime().read() as db:
        holder = _holder(db, username)
        to, fallback = _choice(db, holder, source)
        plan = absence.make_plan(db, holder, to, fallback)
        if request.method == "GET":
            return _preview(db, plan)
        values = {"kind": source.get("kind", ""), "reason": source.get("reason", "").strip()}
        problem = _check(values, plan)
        if problem:
            return _preview(db, plan, error=problem, values=values, status=400)
    try:
        done = _apply(plan, source.getlist("item"), values)
    except absence.PlanChanged as exc:
        with runtime().write() as db:
            audit_failure(db, "task.hand_over", "app_user", username, "plan_changed", handover=values["kind"])
            return _preview(db, exc.plan, error=gettext(CHANGED), values=values, status=409)
    flash(_summary(done), "success")
    return redirect(url_for("monitor.people"), code=303)


def _check(values: dict[str, str], plan: absence.Plan) -> str | None:
    """Return why the confirmation cannot go through (no tasks, no kind, no reason or one holding numbers)."""
    if not plan.items:
        return str(gettext("此人没有需要交接的任务。"))
    if values["kind"] not in absence.KINDS:
        return str(gettext("请选择交接原因（请假、病假、离职/调岗）。"))
    reason = values["reason"]
    if not reason or len(reason) > MAX_REASON:
        return str(gettext("请填写交接说明（不超过 %(n)s 字）。", n=MAX_REASON))
    if has_number(reason):
        return str(gettext("交接说明不能包含电话号码或身份证号。"))
    return None


def _apply(plan: absence.Plan, expected: list[str], values: dict[str, str]) -> absence.Plan:
    """Carry the plan out in one transaction, each task's change with its audit row."""
    holder = plan.holder.username

    def audit(db: Session, item: absence.Item) -> None:
        record(db, "task.hand_over" if item.receiver else "task.unclaim", object_type="task",
               object_id=item.task_id, case=item.case_number or None, task=item.bpmn_id,
               assignee=item.receiver or None, previous=holder, handover=values["kind"], reason=values["reason"])

    rt = runtime()
    with rt.write() as db, db.begin():
        return absence.apply(db, plan, expected=expected, actor=current_user.username, at=rt.clock(),
                             kind=values["kind"], reason=values["reason"], audit=audit)


def _summary(plan: absence.Plan) -> str:
    """Return the sentence that says what was handed over."""
    given = sum(1 for item in plan.moving if item.receiver)
    back = sum(1 for item in plan.moving if item.receiver == absence.GROUP)
    kept = len(plan.items) - given - back
    text = gettext("已交接 %(name)s 的任务：转交 %(given)s 项，退回待认领 %(back)s 项。", name=plan.holder.real_name,
                   given=given, back=back)
    return str(text) + (str(gettext("仍由其持有 %(kept)s 项。", kept=kept)) if kept else "")
