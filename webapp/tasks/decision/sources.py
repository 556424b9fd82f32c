"""Where a decision context reads from, for one user: the case, earlier tasks, their free text and files, and
the data the open task sees; and how free text is shown to that user (个人信息: masked, shielded or in full).

Free text is shown as on the case page: in full to a user holding a contact task on the case, otherwise with
phone and ID numbers masked; a unit on a confidential case (举报人保密) sees the requester's own name, phone and
address replaced by （保密） as well. Text prefilled into a public reply (挂网) loses every phone and ID number and
the requester's name whoever opens it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy.orm import Session

from processes.accounts import pii
from processes.cases import access
from processes.cases import disclosure
from processes.cases import forms
from processes.cases.access import Viewer
from processes.cases.models import Attachment
from processes.cases.models import Case
from processes.cases.models import CaseText
from processes.cases.models import Requester
from processes.cases.numbers import mask_numbers
from processes.cases.numbers import scrub_numbers
from processes.cases.personal import read_requester
from processes.runtime.core import Runtime
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessInstance
from processes.runtime.task_data import open_task_data
from webapp import labels
from webapp.timefmt import local_time
from webapp.workspace import real_names
from webapp.workspace import unit_names

REMOVED = "（已隐去）"  # what a phone or ID number becomes in a prefilled public reply
MIN_SECRET = 2  # shorter requester values are not searched for in free text (one character is no identity)


@dataclass(frozen=True)
class Privacy:
    """How free text of one case is shown to one user: `mode` is contact / masked / shielded / none."""

    mode: str
    secrets: tuple[str, ...] = ()  # the requester's own values, hidden from a shielded user
    name: str | None = None  # the requester's name, masked in a public reply

    def shown(self, text: str | None) -> str:
        """Return free text as this user may read it."""
        text = text or ""
        if self.mode == "contact":
            return text
        if self.mode == "shielded":
            for secret in self.secrets:
                text = text.replace(secret, access.CONFIDENTIAL_TEXT)
        return mask_numbers(text)

    def unchanged(self, text: str | None) -> bool:
        """Return whether the user reads this text as it was typed (so it may be put back into a form)."""
        return self.shown(text) == (text or "")

    def public(self, text: str | None) -> str:
        """Return text fit to publish: no phone or ID number, the requester's name masked."""
        text = scrub_numbers(text, REMOVED)
        if self.name and len(self.name) >= MIN_SECRET:
            text = text.replace(self.name, pii.mask_name(self.name))
        return text


def shown_time(value: Any) -> str:
    """Return a moment (ISO text from task data, or a datetime) in Beijing time, as the pages show times."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    return local_time(value) if isinstance(value, datetime) else ""


class Sources:
    """What the decision context of one open task may read, for one user, in one read session."""

    def __init__(self, db: Session, rt: Runtime, viewer: Viewer, task: HumanTask, case: Case | None,
                 now: datetime) -> None:
        self.db = db
        self.rt = rt
        self.viewer = viewer
        self.task = task
        self.case = case
        self.now = now

    @cached_property
    def data(self) -> dict[str, Any]:
        """Return the workflow data the open task sees (routing values only)."""
        return open_task_data(self.rt, self.task.instance_id, self.task.id)

    @cached_property
    def units(self) -> dict[str, str]:
        """Return unit names by code."""
        return unit_names(self.db)

    def unit(self, code: Any) -> str:
        """Return a unit's name, or its code when unknown."""
        return self.units.get(str(code), str(code)) if code else ""

    @cached_property
    def privacy(self) -> Privacy:
        """Return how this user reads the case's free text."""
        if self.case is None:
            return Privacy("masked")
        mode = disclosure.requester_view(self.db, self.viewer, self.case).mode
        requester = self.db.get(Requester, self.case.requester_id) if self.case.requester_id else None
        if requester is None:
            return Privacy("masked" if mode != "contact" else mode)
        plain = read_requester(requester)
        secrets = tuple(sorted({v for k, v in plain.items() if k != "id_number" and v and len(v) >= MIN_SECRET},
                               key=len, reverse=True))
        return Privacy(mode, secrets, plain["name"])

    def shown(self, text: str | None) -> str:
        """Return free text as this user may read it."""
        return self.privacy.shown(text)

    def done(self, *bpmn_ids: str, department: str | None = None, before_me: bool = False) -> list[HumanTask]:
        """Return the case's completed tasks with these BPMN ids, newest first (of one unit; up to this task)."""
        if self.case is None:
            return []
        query = sa.select(HumanTask).where(HumanTask.case_id == self.case.id, HumanTask.bpmn_id.in_(bpmn_ids),
                                           HumanTask.status == "completed")
        if department is not None:
            query = query.where(HumanTask.department == department)
        if before_me:
            query = query.where(HumanTask.completed_at <= self.task.created_at)
        return list(self.db.scalars(query.order_by(HumanTask.completed_at.desc(), HumanTask.created_at.desc())))

    def texts(self, tasks: Iterable[HumanTask]) -> dict[str, dict[str, CaseText]]:
        """Return the free text each task recorded, by task id and field (the last one of a field wins)."""
        ids = [t.id for t in tasks]
        found: dict[str, dict[str, CaseText]] = {i: {} for i in ids}
        if not ids or self.case is None:
            return found
        rows = self.db.scalars(sa.select(CaseText).where(CaseText.case_id == self.case.id, CaseText.task_id.in_(ids))
                               .order_by(CaseText.created_at, CaseText.id))
        for row in rows:
            found[str(row.task_id)][row.field] = row
        return found

    def files(self, task_id: str) -> list[Attachment]:
        """Return the files uploaded on one task of the case."""
        if self.case is None:
            return []
        return list(self.db.scalars(sa.select(Attachment).where(
            Attachment.case_id == self.case.id, Attachment.task_id == task_id).order_by(Attachment.uploaded_at)))

    def byline(self, who: str | None, at: datetime | None, unit: str = "") -> str:
        """Return "unit name · time" of an earlier step."""
        name = real_names(self.db, [who]).get(who or "", who or "") if who else ""
        parts = [" ".join(p for p in (unit, name) if p), local_time(at)]
        return " · ".join(p for p in parts if p)

    @cached_property
    def _definition_id(self) -> int | None:
        return self.db.scalar(sa.select(ProcessInstance.definition_id)
                              .where(ProcessInstance.id == self.task.instance_id))

    def _property(self, form: str, name: str) -> dict[str, Any]:
        """Return a field's schema in a form of this process version ({} when absent)."""
        schema = forms.schema_for(self.db.connection(), self._definition_id, form) \
            if self._definition_id is not None else None
        found = ((schema or {}).get("properties") or {}).get(name)
        return found if isinstance(found, dict) else {}

    def label(self, form: str, name: str) -> str:
        """Return how a form names one of its fields (延期审批「审批意见」), else the case page's name for it."""
        return str(self._property(form, name).get("title") or gettext(labels.TEXTS.get(name, name)))

    def choice(self, form: str, name: str, value: Any) -> str:
        """Return how a form of this process version labels a value of one of its fields (回访结果 不满意)."""
        if value is None or value == "":
            return ""
        if isinstance(value, bool):
            return str(gettext("是") if value else gettext("否"))
        titles = {str(c.get("const")): str(c.get("title") or c.get("const"))
                  for c in self._property(form, name).get("oneOf") or () if isinstance(c, dict)}
        return titles.get(str(value), str(value))
