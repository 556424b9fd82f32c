"""Incidents (故障): instances in error, with a readable cause, the failing element, the case and since when.

Read from the instance columns, the error history (which records the failing element) and the retry job, never
the snapshot. The runtime's error texts are English for logs (`<operator> failed: …`, `task <id> failed`);
`readable` turns the known shapes into a Chinese sentence and keeps only the first line of anything else, so no
traceback reaches a page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm import aliased

from processes.cases.access import Viewer
from processes.cases.access import case_filter
from processes.cases.models import Case
from processes.runtime.models import HistoryEvent
from processes.runtime.models import ProcessDefinition
from processes.runtime.models import ProcessInstance
from processes.runtime.models import TimerJob

LIMIT = 500
MAX_CAUSE = 300
_FAILED_TASK = re.compile(r"task (\S+) failed|engine stalled with task (\S+) ready")
_ELEMENT = re.compile(r'<bpmn:\w+ id="([^"]+)"(?: [^>]*?)? name="([^"]*)"')
_NAMES: dict[tuple[int, str], dict[str, str]] = {}
_KNOWN = (  # (pattern of the runtime's text, Chinese sentence with {1}, {2} … from its groups)
    (re.compile(r"^([\w.]+) failed: (.*)$"), "服务任务 {1} 执行失败：{2}"),
    (re.compile(r"^no handler registered as '([^']*)'"), "服务任务 {1} 没有对应的处理程序"),
    (re.compile(r"^expression (.*) failed: (.*)$"), "条件表达式 {1} 计算失败：{2}"),
    (re.compile(r"^more than (\d+) engine steps"), "一次操作执行了超过 {1} 个流程步骤（流程中可能有不等待的循环）"),
    (re.compile(r"^engine stalled with task (\S+) ready"), "流程停在任务 {1}，无法继续"),
    (re.compile(r"^element (\S+) would run (\d+) times, over the pass budget of (\d+)"),
     "环节 {1} 将第 {2} 次执行，超过每个流程实例 {3} 次的上限：流程中可能有走不出去的循环（如反复退回）"),
    (re.compile(r"^element (\S+): scripts used more than ([\d.]+) s of CPU time"),
     "环节 {1} 的脚本或表达式超出每次操作 {2} 秒的 CPU 时间上限（可能在大量数据上循环），已停止"),
    (re.compile(r"^task (\S+) failed$"), "任务 {1} 执行失败"),
)


@dataclass(frozen=True)
class Incident:
    """One instance in error as the incidents page shows it."""

    instance_id: str
    process_key: str
    version: int
    case_id: str | None
    case_number: str | None
    element_id: str
    element_name: str
    cause: str
    since: datetime
    attempts: int
    auto_retry_at: datetime | None  # the next automatic retry; None once the backoff is used up


def readable(text: str | None, labels: Mapping[str, str] | None = None) -> str:
    """Turn a runtime error text into one Chinese line (known shapes) or its first line, without tracebacks."""
    first = next((line.strip() for line in (text or "").splitlines() if line.strip()), "").rstrip(". ")
    if not first or first.startswith("Traceback"):
        return "流程执行出错（原因未记录）"
    for pattern, sentence in _KNOWN:
        found = pattern.match(first)
        if found:
            parts = [_label(g, labels) for g in found.groups()]
            return sentence.format(None, *parts)[:MAX_CAUSE]
    return f"流程执行出错：{first}"[:MAX_CAUSE]


def _label(value: str, labels: Mapping[str, str] | None) -> str:
    """A service operator with its Chinese label (outbox.send（发送消息）), anything else as it is."""
    label = (labels or {}).get(value)
    return f"{value}（{label}）" if label else value


def failed_element(error: str | None) -> str:
    """The BPMN id of the element the instance's error names, or ''."""
    found = _FAILED_TASK.search(error or "")
    return (found.group(1) or found.group(2)) if found else ""


def element_names(db: Session, definition_id: int) -> dict[str, str]:
    """Names of a definition's BPMN elements by id (a deployed version never changes: cached by id and hash)."""
    sha = db.scalar(sa.select(ProcessDefinition.sha256).where(ProcessDefinition.id == definition_id)) or ""
    key = (definition_id, sha)
    if key not in _NAMES:
        files = db.scalar(sa.select(ProcessDefinition.files).where(ProcessDefinition.id == definition_id)) or {}
        if len(_NAMES) >= 64:
            _NAMES.clear()
        _NAMES[key] = {m.group(1): html.unescape(m.group(2)) for name, text in files.items()
                       if name.endswith(".bpmn") for m in _ELEMENT.finditer(str(text))}
    return _NAMES[key]


def listing(db: Session, viewer: Viewer, labels: Mapping[str, str] | None = None, *,
            only: list[str] | None = None) -> list[Incident]:
    """Return the instances in error in the viewer's reach, oldest incident first (at most LIMIT)."""
    job = (sa.select(TimerJob.instance_id, TimerJob.attempts, TimerJob.status, TimerJob.due_at,
                     TimerJob.created_at, TimerJob.last_error)
           .where(TimerJob.kind == "retry", TimerJob.status.in_(("pending", "claimed", "failed"))).subquery())
    errors = aliased(HistoryEvent)
    last_error = (sa.select(sa.func.max(errors.id)).where(errors.instance_id == ProcessInstance.id,
                                                          errors.kind == "error")
                  .correlate(ProcessInstance).scalar_subquery())
    query = (sa.select(ProcessInstance.id, ProcessInstance.process_key, ProcessInstance.definition_id,
                       ProcessDefinition.version, ProcessInstance.case_id, Case.number, ProcessInstance.error,
                       ProcessInstance.updated_at, job.c.attempts, job.c.status, job.c.due_at, job.c.created_at,
                       job.c.last_error, HistoryEvent.detail, HistoryEvent.bpmn_id)
             .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
             .outerjoin(Case, Case.id == ProcessInstance.case_id)
             .outerjoin(job, job.c.instance_id == ProcessInstance.id)
             .outerjoin(HistoryEvent, HistoryEvent.id == last_error)
             .where(ProcessInstance.status == "error"))
    if only is not None:
        query = query.where(ProcessInstance.id.in_(only))
    if not viewer.office:
        query = query.where(ProcessInstance.case_id.is_not(None), case_filter(viewer))
    rows = list(db.execute(query.order_by(sa.func.coalesce(job.c.created_at, ProcessInstance.updated_at),
                                          ProcessInstance.id).limit(LIMIT)))
    names: dict[int, dict[str, str]] = {}
    found = []
    for r in rows:
        element = r.bpmn_id or failed_element(r.error)
        if r.definition_id not in names:
            names[r.definition_id] = element_names(db, r.definition_id)
        message = (r.detail or {}).get("message") or r.last_error or r.error
        found.append(Incident(str(r.id), str(r.process_key), int(r.version), r.case_id, r.number, element,
                              names[r.definition_id].get(element, ""), readable(message, labels),
                              r.created_at or r.updated_at, int(r.attempts or 0),
                              r.due_at if r.status == "pending" else None))
    return found
