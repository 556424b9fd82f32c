"""What the case page (工单详情) and the case panel beside a task form show, gathered in one read session.

Everything here is read for one user who may see the case (`access.visible_case` passed): the requester through
`disclosure.requester_view` (masked, in full for a contact task, or hidden when confidential), free text through
`disclosure.text_masker` (phone and ID numbers and the requester's own name and address masked unless the user
holds a contact task), related cases as numbers and status only, linked only when the user may open them.
Deadlines show a live countdown while their stage runs and a verdict (按时 / 超期 by how much) once it is done
(`webapp.deadlines`); the timeline says what each step decided (`webapp.cases.timeline`).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy.orm import Session

from processes.cases import access
from processes.cases import attachments
from processes.cases import disclosure
from processes.cases.access import Viewer
from processes.cases.disclosure import RequesterView
from processes.cases.models import Attachment
from processes.cases.models import Case
from processes.cases.models import CaseText
from processes.cases.models import Requester
from processes.runtime.core import Runtime
from processes.runtime.models import HistoryEvent
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessInstance
from webapp import deadlines
from webapp import labels
from webapp.cases import timeline
from webapp.cases.timeline import Event
from webapp.deadlines import StageTime
from webapp.permissions import RULES
from webapp.permissions import allowed
from webapp.timefmt import local_time
from webapp.workspace import Countdown
from webapp.workspace import calendar_warning
from webapp.workspace import calendar_warnings
from webapp.workspace import countdown
from webapp.workspace import real_names
from webapp.workspace import unit_names

RELATED_LIMIT = 20


@dataclass(frozen=True)
class DeadlineRow:
    """One computed deadline (时限) of the case: a countdown while its stage runs, its verdict once done."""

    stage: str
    unit: str
    due: str
    countdown: Countdown
    warn_at: str
    calendar_warning: str | None
    capped: bool
    extension_days: int


@dataclass(frozen=True)
class TaskRow:
    """One open task of the case, with its holder and deadline."""

    id: str
    name: str
    unit: str
    assignee: str
    countdown: Countdown


@dataclass(frozen=True)
class TextRow:
    """One free text a task recorded (答复, 退单理由 …)."""

    label: str
    value: str
    at: str
    by: str


@dataclass(frozen=True)
class RelatedCase:
    """Another case linked to this one: number and status only, and its id when the user may open it."""

    relation: str
    number: str
    status: str
    case_id: str | None


@dataclass
class CaseView:
    """Everything the case page shows for one user."""

    case: Case
    requester: RequesterView
    masked: bool
    title: str
    content: str
    location: str
    township: str
    lead: str
    assisting: list[str]
    countdown: Countdown
    countdown_stage: str = ""  # the stage whose deadline 工单时限 shows before the handling one is set (sign_for …)
    callback_result: str = ""
    flags: list[str] = field(default_factory=list)
    deadlines: list[DeadlineRow] = field(default_factory=list)
    tasks: list[TaskRow] = field(default_factory=list)
    texts: list[TextRow] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    related: list[RelatedCase] = field(default_factory=list)
    diagrams: list[str] = field(default_factory=list)  # ids of the case's instances, when the user may open them


def summary(db: Session, viewer: Viewer, case: Case, now: datetime) -> CaseView:
    """Return the case panel: the case's own fields, requester, deadline and attachments."""
    shown = disclosure.requester_view(db, viewer, case)
    masked = shown.mode != "contact"
    units = unit_names(db)
    text = disclosure.text_masker(db, viewer, case)
    flags = [gettext(labels.FLAGS.get(name, name)) for name, value in sorted((case.flags or {}).items())
             if value not in (None, False, "", 0) and name != "callback_result"]  # the result has its own line
    result = str((case.flags or {}).get("callback_result") or "")
    warning = calendar_warning(calendar_warnings(db, [case.id]), case.id, case.deadline)
    stages = deadlines.stage_times(db, [case]).get(case.id, [])
    return CaseView(
        case=case, requester=shown, masked=masked, title=text(case.title), content=text(case.content),
        location=text(case.location), township=units.get(case.township or "", case.township or ""),
        lead=units.get(case.lead_department or "", case.lead_department or ""),
        assisting=[units.get(code, code) for code in case.assisting_departments or []],
        countdown=deadlines.case_deadline(case, stages, now, warning), countdown_stage=_waiting(case, stages),
        flags=flags,
        callback_result=gettext(labels.CALLBACK_RESULTS[result]) if result in labels.CALLBACK_RESULTS else result,
        attachments=attachments.of_case(db, case.id))


def _waiting(case: Case, stages: list[deadlines.StageTime]) -> str:
    """Return the stage whose deadline stands for the case's until its handling deadline is set, or ''."""
    waiting = deadlines.waiting_stage(case, stages)
    return waiting.row.stage if waiting is not None else ""


def full(db: Session, rt: Runtime, viewer: Viewer, case: Case, now: datetime) -> CaseView:
    """Return the whole case page: the panel plus deadlines, open tasks, texts, history and related cases."""
    view = summary(db, viewer, case, now)
    units = unit_names(db)
    mask = disclosure.text_masker(db, viewer, case)
    view.deadlines = _deadlines(case, deadlines.stage_times(db, [case]).get(case.id, []), now, units)
    tasks = list(db.scalars(sa.select(HumanTask).where(HumanTask.case_id == case.id)))
    rows = list(db.scalars(sa.select(HistoryEvent).where(HistoryEvent.case_id == case.id)
                           .order_by(HistoryEvent.at, HistoryEvent.id)))
    texts = list(db.scalars(sa.select(CaseText).where(CaseText.case_id == case.id)
                            .order_by(CaseText.created_at, CaseText.id)))
    names = real_names(db, [t.assignee for t in tasks] + [e.actor for e in rows] + [t.created_by for t in texts]
                       + [str((e.detail or {}).get("assignee") or "") for e in rows])
    warnings = calendar_warnings(db, [case.id])
    view.tasks = [TaskRow(t.id, t.name, units.get(t.department or "", t.department or ""),
                          names.get(t.assignee or "", ""), countdown(t.due_at, now, case.warning_level,
                                                                     calendar_warning(warnings, case.id, t.due_at)))
                  for t in sorted(tasks, key=lambda t: (t.created_at, t.id)) if t.status == "open"]
    view.texts = [TextRow(gettext(labels.TEXTS.get(t.field, t.field)), mask(t.value), local_time(t.created_at),
                          names.get(t.created_by, t.created_by)) for t in texts]
    elements = _element_names(db, rt, case.id)
    view.events = timeline.events(rows, timeline.sources(db, case.id, tasks, texts, names, units, elements, mask))
    view.related = _related(db, viewer, case, view.requester)
    if allowed(RULES.get("monitor.instance"), signed_in=True, roles=viewer.roles):  # 流程图 links
        view.diagrams = list(db.scalars(sa.select(ProcessInstance.id).where(ProcessInstance.case_id == case.id)
                                        .order_by(ProcessInstance.created_at, ProcessInstance.id)))
    return view


def _deadlines(case: Case, stages: list[StageTime], now: datetime, units: dict[str, str]) -> list[DeadlineRow]:
    """Return the case's stage deadlines as rows: countdown while running, verdict when done."""
    return [DeadlineRow(gettext(labels.STAGES.get(s.row.stage, s.row.stage)), units.get(s.row.unit, s.row.unit),
                        local_time(s.row.due_at), s.shown(now, case.warning_level), local_time(s.row.warn_at),
                        s.row.calendar_warning, s.row.capped, s.row.extension_days) for s in stages]


def _element_names(db: Session, rt: Runtime, case_id: str) -> dict[str, str]:
    """Return the Chinese names of the BPMN elements (tasks, timers) of the case's process versions."""
    names: dict[str, str] = {}
    definitions = set(db.scalars(sa.select(ProcessInstance.definition_id).where(ProcessInstance.case_id == case_id)))
    for definition_id in definitions:
        spec, subprocesses = rt.specs.get(db, definition_id)
        for process in (spec, *subprocesses.values()):
            for task_spec in process.task_specs.values():
                bpmn_id, name = getattr(task_spec, "bpmn_id", None), getattr(task_spec, "bpmn_name", None)
                if bpmn_id and name:
                    names[str(bpmn_id)] = str(name)
    return names


def _related(db: Session, viewer: Viewer, case: Case, shown: RequesterView) -> list[RelatedCase]:
    """Return the case this one joined, the cases that joined it and the requester's earlier cases."""
    found: list[tuple[str, Case]] = []
    if case.duplicate_of:
        target = db.get(Case, case.duplicate_of)
        if target is not None:
            found.append((gettext("并入工单"), target))
    merged = db.scalars(sa.select(Case).where(Case.duplicate_of == case.id).order_by(Case.created_at)
                        .limit(RELATED_LIMIT))
    found += [(gettext("并入本单的工单"), c) for c in merged]
    if shown.mode != "shielded":  # a confidential requester's other cases would tell a unit who they are
        found += [(gettext("诉求人此前来件"), c) for c in _earlier(db, case)]
    ids = [c.id for _, c in found]
    visible = set(db.scalars(sa.select(Case.id).where(Case.id.in_(ids), access.case_filter(viewer)))) if ids else set()
    return [RelatedCase(relation, c.number, gettext(labels.STATUSES.get(c.status, c.status)),
                        c.id if c.id in visible else None) for relation, c in found]


def _earlier(db: Session, case: Case) -> list[Case]:
    """Return earlier cases of the same requester, found by the phone's blind index (never by decrypting)."""
    if case.requester_id is None:
        return []
    index = db.scalar(sa.select(Requester.phone_index).where(Requester.id == case.requester_id))
    if not index:
        return []
    query = (sa.select(Case).join(Requester, Requester.id == Case.requester_id)
             .where(Requester.phone_index == index, Case.id != case.id, Case.created_at <= case.created_at)
             .order_by(Case.created_at.desc()).limit(RELATED_LIMIT))
    return list(db.scalars(query))
