"""Deadline handlers (办理时限): working-day and clock limits from the SLA rules, capped, stored per stage and unit.

Results are ISO 8601 strings in Asia/Shanghai time (+08:00), so a BPMN timeDate timer can use them directly:
`deadline_result["due"]`, `deadline_result["warn_at"]`, `deadline_result["notice_at"]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from datetime import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers import workdays
from handlers.base import HandlerContext
from handlers.base import HandlerError
from handlers.base import handler
from handlers.calendar_source import CalendarLookup
from handlers.reference.settings import get_number
from handlers.reference.settings import get_setting
from handlers.reference.sla import Rule
from handlers.reference.sla import find_rule
from processes.cases.models import Case
from processes.reference.models import CaseDeadline

# Built-in limits when the rule table lacks them (domain.md §6.2, §6.4): 通报 at red + 5 wd, extension ≤ 10 wd;
# the office's own stages (初审, 派单 the same working day; 审核 the next; 挂网 within two), so a rule table
# imported before these stages had rows never leaves a case without its limit nor stops it.
FALLBACK_RULES = {"notice": ("workdays", 5), "extension_max": ("workdays", 10), "triage": ("workday_close", 1),
                  "dispatch": ("workday_close", 1), "review": ("workdays", 1), "publish": ("workdays", 2)}
TIMER_IDS_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
STAGE_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True)
class Routing:
    """What selects a rule and caps a deadline: the case's channel, type, urgency, complexity, upstream deadline."""

    source: str | None = None
    request_type: str | None = None
    urgency: str | None = None
    upstream_deadline: datetime | None = None
    complexity: str | None = None


@dataclass(frozen=True)
class Deadline:
    """A computed deadline of one stage."""

    start: datetime
    due: datetime
    warn_at: datetime
    notice_at: datetime | None
    capped: bool
    calendar_warning: str | None
    rule: str
    extension_days: int = 0

    def result(self) -> dict[str, Any]:
        """Return the handler result: ISO strings with +08:00 (None where absent)."""
        return {
            "due": _iso(self.due), "warn_at": _iso(self.warn_at),
            "notice_at": _iso(self.notice_at) if self.notice_at else None,
            "capped": self.capped, "calendar_warning": self.calendar_warning, "rule": self.rule,
            "start": _iso(self.start), "extension_days": self.extension_days,
        }


def from_row(row: CaseDeadline) -> Deadline:
    """The stored deadline of a stage as computed earlier."""
    return Deadline(row.start_at, row.due_at, row.warn_at, row.notice_at, row.capped, row.calendar_warning, row.rule,
                    row.extension_days)


def _iso(moment: datetime) -> str:
    """Format a moment as ISO 8601 in Asia/Shanghai time."""
    return moment.astimezone(workdays.SHANGHAI).isoformat()


def routing_of(session: Session, case_id: str | None) -> Routing:
    """Return the routing of a case (an instance without a case matches only '*' rules and has no cap)."""
    case = session.get(Case, case_id) if case_id is not None else None
    if case is None:
        return Routing()
    return Routing(case.channel, case.request_type, case.urgency, case.upstream_deadline, case.complexity)


def rule_for(session: Session, stage: str, routing: Routing) -> Rule:
    """Return the rule of a stage for this routing, or the built-in one, or fail."""
    rule = find_rule(session, stage, source=routing.source, request_type=routing.request_type,
                     urgency=routing.urgency, complexity=routing.complexity)
    if rule is not None:
        return rule
    if stage in FALLBACK_RULES:
        unit, amount = FALLBACK_RULES[stage]
        return Rule("*", "*", "*", stage, amount, unit)
    raise HandlerError(f"no time-limit rule for stage {stage!r}; add one to the SLA rules (hotline ref import sla)")


def _closing_time(session: Session) -> time:
    """Return the office's closing time (下班时间, setting office_closes_at) for 'by closing time' rules."""
    return time.fromisoformat(str(get_setting(session, "office_closes_at")))


def compute(session: Session, routing: Routing, stage: str, start: datetime, extension_days: int = 0) -> Deadline:
    """Compute a stage's deadline from `start` plus extension days, capped at the upstream deadline."""
    lookup = CalendarLookup(session)
    rule = rule_for(session, stage, routing)
    try:
        closes = _closing_time(session) if rule.unit == "workday_close" else workdays.OFFICE_CLOSES
        uncapped = workdays.due_after(start, rule.amount, rule.unit, lookup, closes=closes)
        uncapped = workdays.extend(uncapped, extension_days, lookup)
        due = min(uncapped, routing.upstream_deadline) if routing.upstream_deadline else uncapped
        warn = workdays.warn_at(start, due, rule.unit, lookup, share=get_number(session, "yellow_share"),
                                workdays=int(get_number(session, "yellow_workdays")))
        notice = None
        if stage == "handle":
            notice_rule = rule_for(session, "notice", routing)
            notice = workdays.due_after(due, notice_rule.amount, notice_rule.unit, lookup)
    except ValueError as exc:  # a broken rule or setting row: the task waits for a fix, then a retry
        raise HandlerError(str(exc)) from exc
    text = rule.describe() + (f" +{extension_days} workdays (延期)" if extension_days else "")
    return Deadline(start, due, warn, notice, due < uncapped, lookup.warning, text, extension_days)


def _timer_ids(value: Any, name: str) -> str:
    """Validate a comma list of BPMN timer ids and return it normalised."""
    ids = [p.strip() for p in str(value or "").split(",") if p.strip()]
    bad = [i for i in ids if not TIMER_IDS_RE.match(i)]
    if bad:
        raise HandlerError(f"{name}: {bad[0]!r} is not a BPMN id")
    return ",".join(ids)


def _start(ctx: HandlerContext, base: Any) -> datetime:
    """Return the start of a deadline: `base` when given (with a zone), else now."""
    if base in (None, ""):
        return ctx.now.replace(microsecond=0)
    try:
        start = datetime.fromisoformat(str(base))
    except ValueError as exc:
        raise HandlerError(f"base {base!r} is not ISO 8601") from exc
    if start.tzinfo is None:
        raise HandlerError("base needs a time zone")
    return start


def _unit(unit: Any) -> str:
    """Return the handling unit key ('' for the case itself)."""
    text = "" if unit is None else str(unit).strip()
    if len(text) > 32:
        raise HandlerError("unit must be at most 32 characters")
    return text


def store(session: Session, ctx: HandlerContext, stage: str, unit: str, deadline: Deadline,
          timers: dict[str, str] | None = None) -> CaseDeadline:
    """Insert or update the case_deadline row of (instance, stage, unit)."""
    row = session.scalar(sa.select(CaseDeadline).where(
        CaseDeadline.instance_id == ctx.instance_id, CaseDeadline.stage == stage, CaseDeadline.unit == unit))
    if row is None:
        row = CaseDeadline(instance_id=ctx.instance_id, stage=stage, unit=unit)
        session.add(row)
    row.case_id, row.start_at, row.due_at, row.warn_at = ctx.case_id, deadline.start, deadline.due, deadline.warn_at
    row.notice_at, row.rule, row.capped = deadline.notice_at, deadline.rule[:200], deadline.capped
    row.calendar_warning, row.extension_days = deadline.calendar_warning, deadline.extension_days
    row.updated_at = ctx.now
    for key, value in (timers or {}).items():
        setattr(row, key, value)
    session.flush()
    return row


def _set_case_deadline(ctx: HandlerContext, due: datetime) -> None:
    """A new handling deadline starts a fresh traffic light (红黄灯), like case.deadline."""
    if ctx.case_id is not None:
        ctx.session.execute(sa.update(Case).where(Case.id == ctx.case_id).values(
            deadline=due, warning_level="none", updated_at=ctx.now))


@handler("deadline.compute", label_zh="计算时限（工作日历）", label_en="Compute a deadline (working calendar)", params={
    "stage": "环节（triage 初审/dispatch 派单/sign_for 签收/handle 办理/review 审核/callback 回访/publish 挂网/"
             "accept_110/notice 通报/writeback）",
    "unit": "承办单位（多部门时区分）", "base": "起算时间（ISO，默认现在）",
    "due_timers": "到期定时器 BPMN id（逗号分隔）", "warn_timers": "预警定时器 BPMN id",
    "notice_timers": "通报定时器 BPMN id"})
def compute_handler(ctx: HandlerContext, stage: str, unit: str | None = None, base: str | None = None,
                    due_timers: str = "", warn_timers: str = "", notice_timers: str = "") -> dict[str, Any]:
    """Compute a stage's deadline from the SLA rules and calendar, store it, and return due/warn/notice times."""
    if not isinstance(stage, str) or not STAGE_RE.match(stage):
        raise HandlerError(f"stage {stage!r} is not a stage name")
    timers = {"due_timers": _timer_ids(due_timers, "due_timers"), "warn_timers": _timer_ids(warn_timers, "warn_timers"),
              "notice_timers": _timer_ids(notice_timers, "notice_timers")}
    deadline = compute(ctx.session, routing_of(ctx.session, ctx.case_id), stage, _start(ctx, base))
    store(ctx.session, ctx, stage, _unit(unit), deadline, timers)
    if stage == "handle":
        _set_case_deadline(ctx, deadline.due)
    return deadline.result()


@handler("deadline.extend", label_zh="延期（顺延工作日）", label_en="Extend a deadline (working days)",
         params={"days": "延期工作日数", "unit": "承办单位"})
def extend_handler(ctx: HandlerContext, days: int, unit: str | None = None) -> dict[str, Any]:
    """Extend the handling deadline (延期) by working days, within the extension_max rule, and store it."""
    try:
        asked = int(days)
    except (TypeError, ValueError) as exc:
        raise HandlerError(f"days must be a whole number, not {days!r}") from exc
    if asked < 1:
        raise HandlerError("an extension is at least one working day")
    row = ctx.session.scalar(sa.select(CaseDeadline).where(
        CaseDeadline.instance_id == ctx.instance_id, CaseDeadline.stage == "handle", CaseDeadline.unit == _unit(unit)))
    if row is None:
        raise HandlerError("no handling deadline to extend; compute stage 'handle' first")
    routing = routing_of(ctx.session, ctx.case_id)
    limit = rule_for(ctx.session, "extension_max", routing).amount
    granted = max(0, min(asked, limit - row.extension_days))  # the total of all extensions stays within the limit
    deadline = compute(ctx.session, routing, "handle", row.start_at, row.extension_days + granted)
    before = row.due_at
    store(ctx.session, ctx, "handle", row.unit, deadline)
    _set_case_deadline(ctx, deadline.due)
    if granted:  # the timeline says by how much and until when (延期 N 个工作日，新时限 …)
        ctx.record("deadline_extended", unit=row.unit, days=granted, previous=_iso(before), due=_iso(deadline.due))
    return {**deadline.result(), "granted": granted, "extension_max": limit}



@handler("deadline.current", label_zh="沿用原办理时限", label_en="Keep the handling deadline",
         params={"stage": "环节", "unit": "承办单位"}, writes=False)
def current_handler(ctx: HandlerContext, stage: str, unit: str | None = None) -> dict[str, Any]:
    """Return a stage's stored deadline, as deadline.compute returned it (答复发回修改 keeps the old deadline)."""
    row = ctx.session.scalar(sa.select(CaseDeadline).where(
        CaseDeadline.instance_id == ctx.instance_id, CaseDeadline.stage == stage, CaseDeadline.unit == _unit(unit)))
    if row is None:
        raise HandlerError(f"no {stage} deadline was computed for {unit or 'the case'}")
    return from_row(row).result()
