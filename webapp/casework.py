"""What every case screen needs: the current user as a `Viewer`, audit rows for requests, runtime error messages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from typing import cast

import sqlalchemy as sa
from flask import current_app
from flask_login import current_user
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from processes.audit import record as audit
from processes.audit.models import AuditLog
from processes.cases.access import Viewer
from processes.errors import AlreadyRegistered
from processes.errors import Conflict
from processes.errors import FormDataInvalid
from processes.errors import InvalidState
from processes.errors import NotFound
from processes.errors import RuntimeErrorBase
from processes.errors import TaskNotReady
from webapp.context import audit_context
from webapp.context import now
from webapp.messages import LazyText
from webapp.messages import _l

# What the office reads when a command cannot go through (the runtime's own messages are English, for logs):
# lazy texts (webapp/messages.py), English when the page or the API answer is; `.format()` gives the current one.
TASK_TAKEN = _l("该任务已由他人办理或已不在待办中，请刷新待办列表。")
CASE_CHANGED = _l("该工单刚被他人修改，请刷新页面后重试。")
CLAIMED_BY_OTHER = _l("该任务已被 {who} 认领，您不能办理。")
INCIDENT_REGISTERED = _l("该警情编号已登记为工单 {number}，请勿重复登记。")
NOT_FOUND = _l("工单或任务不存在，或您无权查看。")
BAD_STATE = _l("工单当前状态不允许此操作。")
FORM_INVALID = _l("表单填写有误，请按提示修改。")


def viewer() -> Viewer:
    """Return the signed-in user as the object rules see them."""
    return Viewer(current_user.username, current_user.roles, current_user.department)


def record(db: Session | Connection, action: str, *, object_type: str, object_id: str | None,
           result: str = "success", before: Mapping[str, Any] | None = None, after: Mapping[str, Any] | None = None,
           **detail: Any) -> None:
    """Write the audit row of what the signed-in user did, in the caller's transaction (no personal values)."""
    audit.record(db, action=action, actor=current_user.username, role=current_user.role_label or None,
                 result=result, at=now(), object_type=object_type, object_id=object_id, before=before, after=after,
                 detail=detail or None, **audit_context(current_user.session_hash))


PHONE_LOOKUPS = ("case.lookup_by_phone", "case.search_by_phone")


def phone_lookups_exhausted(db: Session) -> bool:
    """Return whether the user has used up this minute's phone lookups (PHONE_LOOKUP_RATE_LIMIT)."""
    since = now() - timedelta(minutes=1)
    used = db.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.actor == current_user.username, AuditLog.action.in_(PHONE_LOOKUPS), AuditLog.at >= since)) or 0
    return used >= int(current_app.config["PHONE_LOOKUP_RATE_LIMIT"])


def filled(text: str, **values: str) -> str:
    """Return a lazy text with its `{name}` fields filled in, translated when it is shown (a page, an API answer)."""
    return cast(str, LazyText(lambda: str(text).format(**values)))


def runtime_message(error: RuntimeErrorBase) -> str:
    """Return the sentence for a runtime error shown to a user (lazy: in the language it is shown in)."""
    if isinstance(error, TaskNotReady):
        return TASK_TAKEN
    if isinstance(error, InvalidState):
        return BAD_STATE
    if isinstance(error, AlreadyRegistered):
        return filled(INCIDENT_REGISTERED, number=str(error.case_number))
    if isinstance(error, Conflict):
        text = str(error)
        if text.startswith("task is claimed by "):
            return filled(CLAIMED_BY_OTHER, who=text.removeprefix("task is claimed by "))
        return CASE_CHANGED
    if isinstance(error, NotFound):
        return NOT_FOUND
    if isinstance(error, FormDataInvalid):
        return FORM_INVALID
    return str(error) if not str(error).isascii() else FORM_INVALID
