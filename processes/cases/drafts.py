"""Drafts of task forms (暂存): what one user typed, saved unvalidated and encrypted, until the task ends.

A draft holds the raw values of the form (text as typed, lists for checkboxes), never validated: saving must work
for a half-filled form. The values are personal data, so the stored JSON is encrypted with the personal-data key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from processes.accounts import pii
from processes.cases.models import TaskDraft

FIELD = "task_draft"  # associated data of the encryption: a draft cannot be moved into another column
Values = dict[str, str | list[str]]


def save(session: Session, task_id: str, username: str, values: Mapping[str, str | list[str]], *,
         now: datetime) -> None:
    """Store (or replace) the user's draft of a task in the caller's transaction."""
    sealed = pii.cipher().encrypt(FIELD, json.dumps(dict(values), ensure_ascii=False))
    assert sealed is not None  # noqa: S101  (encrypting a str gives a str)
    draft = session.get(TaskDraft, (task_id, username))
    if draft is None:
        session.add(TaskDraft(task_id=task_id, username=username, data=sealed, updated_at=now))
    else:
        draft.data, draft.updated_at = sealed, now


def load(session: Session, task_id: str, username: str) -> tuple[Values, datetime] | None:
    """Return the user's draft of a task and when it was saved, or None."""
    draft = session.get(TaskDraft, (task_id, username))
    if draft is None:
        return None
    raw = json.loads(pii.cipher().decrypt(FIELD, draft.data) or "{}")
    values: Values = {}
    for name, value in raw.items() if isinstance(raw, dict) else ():
        if isinstance(value, str):
            values[str(name)] = value
        elif isinstance(value, list):
            values[str(name)] = [str(item) for item in value]
    return values, draft.updated_at


def discard(conn: Connection | Session, task_id: str) -> None:
    """Delete every draft of a task (it was completed): in the caller's transaction."""
    conn.execute(sa.delete(TaskDraft).where(TaskDraft.task_id == task_id))
