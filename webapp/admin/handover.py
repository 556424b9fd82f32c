"""What becomes of a disabled account's tasks (停用账号的待办交接): back to the group (default) or to a colleague.

A disabled user can act on nothing, so disabling never leaves a task claimed by them: in the same transaction as the
disable, every open task they hold goes to the chosen colleague where that colleague may work on it, otherwise back
to its group (`processes.monitoring.absence`). Under 三员分立 the system administrator sees no case content here:
counts, task names, case numbers and due times only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import request
from flask_babel import gettext
from sqlalchemy.orm import Session

from processes.accounts.models import AppUser
from processes.monitoring import absence
from webapp.casework import record
from webapp.messages import N_
from webapp.timefmt import local_time

KIND = "disabled"  # the hand-over's kind in history and audit rows
REASON = N_("账号停用")  # stored in Chinese as every reason is; the case history shows it in the reader's language


@dataclass(frozen=True)
class Held:
    """A held task as the system administrator sees it: name, case number, due time; nothing of the case."""

    name: str
    case_number: str
    due: str


def held(db: Session, user: AppUser) -> tuple[list[Held], list[absence.Person]]:
    """Return the open tasks the account holds and the colleagues who could receive some of them."""
    holder = absence.person(db, user.username)
    if holder is None:  # pragma: no cover  (the caller found the account)
        return [], []
    plan = absence.make_plan(db, holder, None)
    tasks = [Held(item.name, item.case_number, local_time(item.due_at) if item.due_at else "") for item in plan.items]
    roles = {item.role for item in plan.items if item.role}
    return tasks, absence.candidates(db, holder, roles) if roles else []


def read_choice(db: Session, user: AppUser) -> tuple[str | None, str | None]:
    """Return the receiver the disable form chose (None: back to the group) and the error it deserves, if any."""
    if request.form.get("tasks", "group") == "group":
        return None, None
    name = request.form.get("to", "")
    to = absence.person(db, name) if name else None
    if to is None or not to.active or to.username == user.username:
        return None, str(gettext("请选择一位在用的同事接收任务，或选择退回待认领。"))
    return to.username, None


def hand_over(db: Session, user: AppUser, to: str | None, *, actor: str, at: datetime) -> dict[str, int | str | None]:
    """Hand every open task the account holds over, in the caller's transaction; return what the audit row says."""
    holder = absence.person(db, user.username)
    receiver = absence.person(db, to) if to else None
    if holder is None:  # pragma: no cover  (the caller locked the account)
        return {}
    reason = REASON

    def audit(session: Session, item: absence.Item) -> None:
        record(session, "task.hand_over" if item.receiver else "task.unclaim", object_type="task",
               object_id=item.task_id, case=item.case_number or None, task=item.bpmn_id,
               assignee=item.receiver or None, previous=holder.username, handover=KIND, reason=reason)

    done = absence.apply(db, absence.make_plan(db, holder, receiver), expected=None, actor=actor, at=at, kind=KIND,
                         reason=reason, audit=audit)
    if not done.moving:
        return {}  # held nothing: the disable's audit row stays as it always was
    given = sum(1 for item in done.moving if item.receiver)
    return {"tasks_to": to if given else None, "tasks_given": given, "tasks_to_group": len(done.moving) - given}
