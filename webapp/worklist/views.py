"""The worklist (待办) page, its rows partial that polls every 30 s, and the claim / give back / hand over actions.

Each action is one short audited transaction (`processes.runtime.assignment` with `also=`); a lost race answers with the
Chinese 409 sentence: as a flash after a redirect for a page, with status 409 for htmx and JSON callers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Blueprint
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy.orm import Session

from processes.accounts.models import AppUser
from processes.accounts.models import UserRole
from processes.cases import access
from processes.cases.access import Viewer
from processes.cases.models import Case
from processes.errors import Conflict
from processes.errors import NotFound
from processes.errors import RuntimeErrorBase
from processes.errors import TaskNotReady
from processes.runtime import assignment
from processes.runtime.context import Also
from processes.runtime.models import HumanTask
from webapp import labels
from webapp.auth.forms import ActionForm
from webapp.casework import record
from webapp.casework import runtime_message
from webapp.casework import viewer
from webapp.context import now
from webapp.context import runtime
from webapp.worklist import query
from webapp.workspace import audit_failure
from webapp.workspace import countdown_words
from webapp.workspace import done
from webapp.workspace import error_message
from webapp.workspace import refused

bp = Blueprint("worklist", __name__, url_prefix="/worklist")
POLL_SECONDS = 30


@bp.get("")
def index() -> ResponseReturnValue:
    """Show the worklist with its tabs, filters and the first (or chosen) page of rows."""
    return _render("worklist/index.html")


@bp.get("/rows")
def rows() -> ResponseReturnValue:
    """Return the table rows alone: the page polls this every 30 s (X-Background-Refresh: 1)."""
    return _render("worklist/_rows.html")


def _render(template: str) -> ResponseReturnValue:
    who = viewer()
    with runtime().read() as db:
        filters = query.parse(db, who, request.args)
        found = query.rows(db, who, filters, now())
        total = query.count(db, who, filters)
        counts = {tab: query.count(db, who, filters, tab) for tab in query.tabs_for(who)}
        handover = _candidates(db, who, [row.task for row in found])
        known = query.known_values(db)
    pages = max(1, -(-total // query.PAGE_SIZE))
    return render_template(template, rows=found, filters=filters, total=total, counts=counts, pages=pages,
                           tabs=query.TABS, handover=handover, known=known, labels=labels,
                           names=query.FILTER_NAMES, form=ActionForm(), poll=POLL_SECONDS,
                           may_act=lambda task: access.may_act(who, task),
                           may_hand_over=lambda task: access.may_hand_over(who, task),
                           words=countdown_words(), back=url_for("worklist.index", **filters.args()),
                           rows_url=url_for("worklist.rows", **filters.args()))


def candidates(db: Session, task: HumanTask) -> list[tuple[str, str]]:
    """Return who may be given a task (转交) as (username, 姓名（username）): same role and, for a unit's task, unit.

    The username goes with the name because two colleagues of one unit may share a real name (two 李承办).
    """
    query_ = (sa.select(AppUser.username, AppUser.real_name).join(UserRole, UserRole.user_id == AppUser.id)
              .where(UserRole.role == task.role, AppUser.active.is_(True)).order_by(AppUser.username))
    if task.department:
        query_ = query_.where(AppUser.department == task.department)
    return [(username, f"{real_name}（{username}）" if real_name else username)
            for username, real_name in db.execute(query_) if username != task.assignee]


def _candidates(db: Session, who: Viewer, tasks: list[HumanTask]) -> dict[str, list[tuple[str, str]]]:
    """Return the hand-over choices of each task the user may hand over (one query per role and unit)."""
    by_group: dict[tuple[str | None, str | None], list[tuple[str, str]]] = {}
    found = {}
    for task in tasks:
        if task.role and access.may_hand_over(who, task):
            key = (task.role, task.department)
            if key not in by_group:
                by_group[key] = candidates(db, task)
            found[task.id] = [c for c in by_group[key] if c[0] != task.assignee]
    return found


def _act(task_id: str, action: str, change: Callable[[Viewer, HumanTask, str], str]) -> ResponseReturnValue:
    """Run one assignment change on a task in the user's reach; audit and answer it (409 on a lost race)."""
    who, rt = viewer(), runtime()
    default = url_for("worklist.index")
    with rt.read() as db:
        task = access.workable_task(db, who, task_id)
        number = db.scalar(sa.select(Case.number).where(Case.id == task.case_id)) if task and task.case_id else None
    if task is None:
        return refused(runtime_message(NotFound("task")), 404, default)
    try:
        if task.status != "open":
            raise TaskNotReady("this task is no longer open")
        message = change(who, task, number or "")
    except RuntimeErrorBase as error:
        with rt.write() as db:
            audit_failure(db, action, "task", task.id, type(error).__name__, case=number)
            message = error_message(db, error)
        return refused(message, error.http_status, default)
    return done(message, default)


def _audit(action: str, task: HumanTask, number: str, **detail: Any) -> Also:
    return lambda conn, _done: record(conn, action, object_type="task", object_id=task.id, case=number or None,
                                      task=task.bpmn_id, **detail)


@bp.post("/tasks/<task_id>/claim")
def claim(task_id: str) -> ResponseReturnValue:
    """Claim a task of my group (认领)."""
    def change(who: Viewer, task: HumanTask, number: str) -> str:
        assignment.claim(runtime(), task.instance_id, task.id, actor=who.username,
                         also=_audit("task.claim", task, number))
        return str(gettext("已认领：%(name)s", name=task.name))
    return _act(task_id, "task.claim", change)


@bp.post("/tasks/<task_id>/unclaim")
def unclaim(task_id: str) -> ResponseReturnValue:
    """Give a claimed task back to the group (退回待认领): its holder, a dispatcher or a shift leader."""
    def change(who: Viewer, task: HumanTask, number: str) -> str:
        if not task.assignee or not access.may_hand_over(who, task):
            raise Conflict(f"task is claimed by {task.assignee}" if task.assignee else "task is not claimed")
        assignment.unclaim(runtime(), task.instance_id, task.id, actor=who.username,
                           also=_audit("task.unclaim", task, number, previous=task.assignee))
        return str(gettext("已退回待认领：%(name)s", name=task.name))
    return _act(task_id, "task.unclaim", change)


@bp.post("/tasks/<task_id>/handover")
def handover(task_id: str) -> ResponseReturnValue:
    """Hand a task over to a named colleague who may do it (转交): same role and, for a unit's task, same unit."""
    target = request.form.get("assignee", "")

    def change(who: Viewer, task: HumanTask, number: str) -> str:
        if not access.may_hand_over(who, task):
            raise Conflict(f"task is claimed by {task.assignee}")
        with runtime().read() as db:
            allowed = dict(candidates(db, task))
        if target not in allowed:
            raise HandOverRefused()
        assignment.assign(runtime(), task.instance_id, task.id, target, actor=who.username,
                          also=_audit("task.hand_over", task, number, assignee=target, previous=task.assignee))
        return str(gettext("已转交给 %(who)s：%(name)s", who=allowed[target], name=task.name))
    return _act(task_id, "task.hand_over", change)


class HandOverRefused(RuntimeErrorBase):
    """The chosen person may not do this task (400)."""

    def __str__(self) -> str:
        """Return the office's sentence."""
        return str(gettext("只能转交给可以办理此任务的同事（相同角色，部门任务须为本部门）。"))
