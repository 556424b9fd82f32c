"""催办 by a supervisor: a message to whoever holds an open task (its assignee, else its unit's or role's group).

One short transaction on the locked instance row, like a claim: the task must still be open and held by the one
the supervisor saw (else Conflict, 409); the outbox row (channel `internal`, 内部通知), the history event the case
page shows and the caller's audit row commit together. The workflow itself does not change.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.accounts.models import AppUser
from processes.accounts.roles import ROLES
from processes.cases.models import Case
from processes.errors import Conflict
from processes.errors import FormDataInvalid
from processes.errors import NotFound
from processes.errors import TaskNotReady
from processes.reference.models import Department
from processes.runtime import outbox
from processes.runtime import outbox_text
from processes.runtime.context import Also
from processes.runtime.context import CommandSummary
from processes.runtime.core import ACTIVE
from processes.runtime.core import Runtime
from processes.runtime.models import HistoryEvent
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessInstance
from processes.runtime.outbox_payloads import iso
from processes.runtime.reassign import Seen

KIND, KIND_NAME = "manual_urging", "督办催办"


def addressee(session: Session, task: HumanTask) -> dict[str, str | None]:
    """Who a 催办 on this task reaches: its holder, else its unit's group, else its role's group."""
    if task.assignee:
        name = session.scalar(sa.select(AppUser.real_name).where(AppUser.username == task.assignee))
        return {"type": "user", "code": task.assignee, "name": name or task.assignee, "address": None}
    if task.department:
        unit = session.get(Department, task.department)
        return {"type": "unit", "code": task.department, "name": unit.name if unit else task.department,
                "address": None}
    role = ROLES.get(task.role or "")
    return {"type": "role", "code": task.role, "name": role.name_zh if role else (task.role or ""), "address": None}


def urge(rt: Runtime, instance_id: str, task_id: str, *, actor: str, reason: str, seen: Seen,
         also: Also | None = None) -> dict[str, str | None]:
    """Send a 催办 on an open task and record it in the case's history; return the addressee."""
    if not reason.strip():
        raise FormDataInvalid("a reason is required", field="reason")
    with rt.write() as session, session.begin():
        row = session.execute(sa.select(ProcessInstance.case_id, ProcessInstance.status, ProcessInstance.version)
                              .where(ProcessInstance.id == instance_id).with_for_update()).one_or_none()
        if row is None:
            raise NotFound(f"instance {instance_id} not found")
        task = session.scalar(sa.select(HumanTask).where(HumanTask.id == task_id,
                                                         HumanTask.instance_id == instance_id))
        if task is None or task.status != "open" or row.status not in ACTIVE:
            raise TaskNotReady("this task is no longer open")
        if row.version != seen.version or task.assignee != seen.assignee:
            raise Conflict("the case was changed by someone else; reload and try again")
        now = rt.clock()
        to = addressee(session, task)
        number = session.scalar(sa.select(Case.number).where(Case.id == row.case_id)) if row.case_id else None
        outbox.enqueue(session, channel="internal", kind=KIND, now=now, case_id=row.case_id,
                       instance_id=instance_id, key=f"urge:{task_id}:{now.isoformat()}:{actor}",
                       payload=_payload(to, task, number, row.case_id, reason, now))
        session.execute(sa.insert(HistoryEvent).values(
            instance_id=instance_id, case_id=row.case_id, at=now, actor=actor, kind="urged", task_id=task_id,
            bpmn_id=task.bpmn_id, fields=[], detail={"reason": reason[:200], "to": to["name"], "to_type": to["type"]}))
        if also is not None:
            also(session.connection(), CommandSummary(instance_id, row.case_id, row.status, number))
    return to


def _payload(to: dict[str, str | None], task: HumanTask, number: str | None, case_id: str | None, reason: str,
             now: datetime) -> dict[str, object]:
    """The versioned internal message: who, which case and task, by when, and the supervisor's words."""
    due = outbox_text.local_time(task.due_at) if task.due_at else "规定时限"
    text = (f"{to['name']}：请抓紧办理工单 {number or '（无编号）'} 的「{task.name}」，时限 {due}。"
            f"督办意见：{reason[:200]}")
    return {"schema": "hotline.outbox.internal", "v": 1, "kind": KIND, "kind_name": KIND_NAME,
            "sent_at": iso(now) or "", "case_id": case_id, "case_number": number, "target": to["code"], "to": to,
            "personal": {}, "text": text, "task_id": task.id, "task_name": task.name}
