"""The case's timeline (办理过程): each step with who and when, and what was decided in it.

A completed task says its decisions in the words of its form (审核结论：答复不规范，发回; 申请延期（工作日）：3;
回访结果：满意), read from the decision values its history event kept and the form schema's titles, then the texts
it recorded (退单理由, 审核意见 …) as this user may read them (masked by the requester rules). Status changes the
handlers recorded make steps of their own where they are milestones (受理, 办结, 挂网, 归档 …), so do extensions
(with the new deadline) and reschedules.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy.orm import Session

from processes.cases import forms
from processes.cases.models import CaseText
from processes.runtime.models import HistoryEvent
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessInstance
from webapp import labels
from webapp.timefmt import local_time

MAX_TEXT = 300  # characters of a free text in the timeline; the whole text is under 办理记录
SEPARATOR = "；"
DISABLED = "disabled"  # the hand-over kind of a disabled account (webapp/admin/handover.py), reason 账号停用


@dataclass(frozen=True)
class Event:
    """One line of the case's history (办理过程): when, who, what, and what was decided."""

    at: str
    actor: str
    what: str
    detail: str
    kind: str = ""


@dataclass
class Sources:
    """What the lines are written from: names, tasks, element names, texts by task, form schemas, the masker."""

    names: dict[str, str]
    units: dict[str, str]
    tasks: dict[str, HumanTask]
    elements: dict[str, str]
    texts: dict[str, list[CaseText]]
    schemas: dict[str, dict[str, Any]]
    mask: Callable[[str | None], str]


def sources(db: Session, case_id: str, tasks: list[HumanTask], texts: list[CaseText], names: dict[str, str],
            units: dict[str, str], elements: dict[str, str], mask: Callable[[str | None], str]) -> Sources:
    """Gather what the lines need: form schemas of the completed tasks, texts by task."""
    by_task: dict[str, list[CaseText]] = {}
    for text in texts:
        if text.task_id:
            by_task.setdefault(text.task_id, []).append(text)
        elif text.field == "direct_answer":  # the answer typed at intake (直接答复), shown on its status step
            by_task.setdefault("", []).append(text)
    definitions = {str(i): int(d) for i, d in db.execute(sa.select(ProcessInstance.id, ProcessInstance.definition_id)
                                                          .where(ProcessInstance.case_id == case_id))}
    schemas: dict[str, dict[str, Any]] = {}
    conn = db.connection()
    for task in tasks:
        definition = definitions.get(task.instance_id)
        if task.form and definition is not None:
            schema = forms.schema_for(conn, definition, task.form)
            if schema:
                schemas[task.id] = schema
    return Sources(names, units, {t.id: t for t in tasks}, elements, by_task, schemas, mask)


def events(rows: list[HistoryEvent], src: Sources) -> list[Event]:
    """Return the timeline lines of the history rows, in the order they happened (milestone statuses only)."""
    return [_event(row, src) for row in rows
            if row.kind != "status_changed" or (row.detail or {}).get("status") in labels.STATUS_STEPS]


def _event(row: HistoryEvent, src: Sources) -> Event:
    """Describe one history event in Chinese: what happened, by whom, and what was decided."""
    detail: dict[str, Any] = row.detail or {}
    task = src.tasks.get(row.task_id or "")
    element = (task.name if task else "") or src.elements.get(row.bpmn_id or "") or ""
    what = gettext(labels.HISTORY.get(row.kind, row.kind))
    parts: list[str] = []
    if row.kind == "task_completed":
        what = element or what
        schema = src.schemas.get(row.task_id or "")
        parts = [*_decisions(detail.get("values") or {}, schema, src),
                 *_texts(src.texts.get(row.task_id or "", []), schema, src.mask)]
    elif row.kind == "status_changed":
        status = str(detail.get("status") or "")
        what = gettext(labels.STATUS_STEPS[status])
        parts = [gettext("工单状态：%(status)s", status=gettext(labels.STATUSES.get(status, status)))]
        if status == "answered":  # an answer given at intake has no task: it belongs to this step
            parts += _texts(src.texts.get("", []), None, src.mask)
    elif row.kind == "deadline_extended":
        parts = [_extension(detail, src.units)]
    elif row.kind == "timers_rescheduled":
        parts = [src.mask(str(detail.get("reason") or ""))[:200], *_moves(detail.get("timers") or [], src.elements)]
    elif element:
        parts = [f"「{element}」"]
    if row.kind == "assigned" and detail.get("assignee"):
        parts.append("→ " + src.names.get(str(detail["assignee"]), str(detail["assignee"])))
    elif row.kind == "assigned" and detail.get("department"):  # a supervisor's 改派 to another unit's group
        parts.append("→ " + src.units.get(str(detail["department"]), str(detail["department"])))
    elif row.kind == "urged" and detail.get("to"):
        parts.append("→ " + str(detail["to"]))
    elif row.kind == "message_received" and detail.get("message"):
        parts.append(str(detail["message"]))
    if row.kind in ("error", "suspended", "terminated", "resumed", "urged", "assigned") and detail.get("reason"):
        reason = str(detail["reason"])  # typed by people, except the system's own (账号停用) on a disable
        parts.append(gettext(reason) if detail.get("handover") == DISABLED else src.mask(reason)[:200])
    return Event(local_time(row.at, "%Y-%m-%d %H:%M:%S"), src.names.get(row.actor, row.actor), what,
                 SEPARATOR.join(p for p in parts if p), row.kind)


def _decisions(values: Mapping[str, Any], schema: dict[str, Any] | None, src: Sources) -> list[str]:
    """Return 'title：value' of each decision the task recorded, in the order of its form."""
    props: dict[str, Any] = (schema or {}).get("properties") or {}
    out = []
    for name, spec in props.items():
        if name in values and isinstance(spec, dict) and spec.get("title"):
            out.append(f"{spec['title']}：{_value(values[name], spec, src)}")
    return out


def _value(value: Any, spec: dict[str, Any], src: Sources) -> str:
    """Return a recorded value in the words of its form field (choice titles, unit and people's names)."""
    if isinstance(value, list):
        return str(gettext("、")).join(_value(v, spec.get("items") or {}, src) for v in value)
    if isinstance(value, bool):
        return str(gettext("是") if value else gettext("否"))
    titles = {str(c.get("const")): str(c.get("title")) for c in spec.get("oneOf") or [] if isinstance(c, dict)}
    if str(value) in titles:
        return titles[str(value)]
    source = spec.get("x-options")
    if source in ("departments", "townships"):
        return src.units.get(str(value), str(value))
    if source == "users":
        return src.names.get(str(value), str(value))
    return str(value)


def _texts(rows: list[CaseText], schema: dict[str, Any] | None, mask: Callable[[str | None], str]) -> list[str]:
    """Return 'label：text' of the free texts a task recorded, masked for this user, cut to MAX_TEXT."""
    props: dict[str, Any] = (schema or {}).get("properties") or {}
    out = []
    for row in rows:
        spec = props.get(row.field)
        title = spec.get("title") if isinstance(spec, dict) else None
        label = str(title) if title else gettext(labels.TEXTS.get(row.field, row.field))
        shown = mask(row.value)
        out.append(f"{label}：{shown[:MAX_TEXT]}{'…' if len(shown) > MAX_TEXT else ''}")
    return out


def _when(text: Any) -> str:
    """Return an ISO time from history as Beijing wall-clock text."""
    try:
        return local_time(datetime.fromisoformat(str(text)))
    except ValueError:
        return ""


def _extension(detail: Mapping[str, Any], units: dict[str, str]) -> str:
    """Return how an approved extension moved the handling deadline."""
    unit = units.get(str(detail.get("unit") or ""), str(detail.get("unit") or ""))
    text = gettext("办理时限顺延 %(days)s 个工作日：%(old)s → %(new)s", days=detail.get("days"),
                   old=_when(detail.get("previous")), new=_when(detail.get("due")))
    return f"{text}（{unit}）" if unit else text


def _moves(timers: list[Any], elements: dict[str, str]) -> list[str]:
    """Return 「timer」old → new of each moved timer."""
    out = []
    for moved in timers:
        if isinstance(moved, dict):
            name = elements.get(str(moved.get("bpmn_id") or ""), str(moved.get("bpmn_id") or ""))
            out.append(f"「{name}」{_when(moved.get('from'))} → {_when(moved.get('to'))}")
    return out
