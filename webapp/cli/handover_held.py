"""What becomes of a disabled account's tasks on the command line (停用账号的待办交接), as on the admin page."""

from __future__ import annotations

from datetime import datetime

import click
from sqlalchemy.orm import Session

from processes.audit import record as audit
from processes.monitoring import absence
from webapp.admin.handover import KIND  # the hand-over's kind and reason as the admin page writes them
from webapp.admin.handover import REASON


def hand_over_held(session: Session, username: str, to: str | None, *, actor: str,
                   at: datetime) -> dict[str, int | str | None]:
    """Hand every open task the account holds to `to` where they may work on it, else back to its group.

    Runs in the caller's transaction, so the disable and the hand-over commit together; returns what the
    disable's audit row says about the tasks (nothing when the account held none).
    """
    holder = absence.person(session, username)
    receiver = absence.person(session, to) if to else None
    if to and (receiver is None or not receiver.active or receiver.username == username):
        raise click.BadParameter(f"{to} is not an active colleague who can receive the tasks", param_hint="--tasks-to")
    if holder is None:
        return {}

    def write(db: Session, item: absence.Item) -> None:
        audit.record(db, action="task.hand_over" if item.receiver else "task.unclaim", actor=actor, at=at,
                     object_type="task", object_id=item.task_id,
                     detail={"case": item.case_number or None, "task": item.bpmn_id, "assignee": item.receiver or None,
                             "previous": username, "handover": KIND, "reason": REASON})

    done = absence.apply(session, absence.make_plan(session, holder, receiver), expected=None, actor=actor, at=at,
                         kind=KIND, reason=REASON, audit=write)
    if not done.moving:
        return {}
    given = sum(1 for item in done.moving if item.receiver)
    return {"tasks_to": to if given else None, "tasks_given": given, "tasks_to_group": len(done.moving) - given}
