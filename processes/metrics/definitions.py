"""The standard rates of the office (domain.md §7) as `Metric`s, and the SQL that counts each one.

Every metric counts items (cases, or 签收 tasks for 及时签收率) from the case columns and the task projection
(`human_task`), never from workflow snapshots. An item belongs to a period by one date column (`dated`); the
numerator and denominator are sums of per-item integers, so "counted once" and "counted each time" readings are
both a sum. Merged duplicates (并单) are left out of every rate: they count once, on the case they joined.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from processes.cases.models import Case
from processes.metrics.settings import N_
from processes.metrics.settings import MetricSettings
from processes.runtime.models import HumanTask

# Statuses of a case that was never accepted for handling (不予受理, 转110, 并单) or is still being triaged.
NOT_ACCEPTED = ("registered", "triage", "rejected", "transferred", "returned_to_110", "merged")
REACHED = ("satisfied", "basically_satisfied", "unsatisfied")  # a valid evaluation (有效评价)


@dataclass(frozen=True)
class Metric:
    """One figure of the office: its code, names, formula and what its numerator and denominator count."""

    code: str
    name: str  # Chinese name (指标名称)
    name_en: str
    formula: str  # the formula as the office writes it
    numerator: str
    denominator: str
    dated_by: str  # which date puts an item in a period (the "event" reading)
    source: str = "case"  # case / sign_for (the 签收 tasks of human_task)
    rate: bool = True  # False: a count (来件量), numerator = denominator

    def as_dict(self) -> dict[str, Any]:
        """Return the metric's description for JSON."""
        return {"code": self.code, "name": self.name, "name_en": self.name_en, "formula": self.formula,
                "numerator": self.numerator, "denominator": self.denominator, "dated_by": self.dated_by,
                "rate": self.rate}


METRICS: dict[str, Metric] = {m.code: m for m in (
    Metric("volume", N_("来件量"), "Volume", N_("受理的工单数"), N_("受理的工单"), N_("受理的工单"),
           N_("受理时间"), rate=False),
    Metric("direct", N_("直办率"), "Direct-answer rate", N_("直接答复件 ÷ 受理件"), N_("直接答复（直办）的工单"),
           N_("受理的工单（不含不予受理、转110、并单）"), N_("受理时间")),
    Metric("signed", N_("及时签收率"), "Timely sign-for rate", N_("按时签收 ÷ 应签收"), N_("签收时限内签收的签收环节"),
           N_("已签收或已过签收时限的签收环节"), N_("签收时限"), source="sign_for"),
    Metric("ontime", N_("按时办结率"), "On-time closure rate", N_("按时办结 ÷ 期内到期"), N_("办理时限前办结的工单"),
           N_("办理时限在期内且已办结或已到期的工单"), N_("办理时限")),
    Metric("closure", N_("办结率"), "Closure rate", N_("办结件 ÷ 派单件"), N_("已办结的派单工单"),
           N_("派单的工单"), N_("受理时间")),
    Metric("overdue", N_("超期率"), "Overdue rate", N_("超期件 ÷ 期内到期"), N_("超过办理时限办结或仍未办结的工单"),
           N_("办理时限在期内且已办结或已到期的工单"), N_("办理时限")),
    Metric("returned", N_("回退率"), "Return rate", N_("退单件 ÷ 派单件"), N_("有退单的工单（或退单次数）"),
           N_("派单的工单（或派单次数）"), N_("受理时间")),
    Metric("rehandled", N_("重办率"), "Re-handling rate", N_("重办件 ÷ 办结件"), N_("发回重办的工单（或重办次数）"),
           N_("办结的工单（或办理轮次）"), N_("办结时间")),
    Metric("callback", N_("回访率"), "Callback rate", N_("回访成功 ÷ 应回访"), N_("回访联系上的工单"),
           N_("办结的派单工单（应回访）"), N_("办结时间")),
    Metric("satisfied", N_("满意率"), "Satisfaction rate", N_("满意（+ 基本满意）÷ 有效评价"),
           N_("评价为满意（按口径含基本满意）"),
           N_("有效评价（满意、基本满意、不满意）的办结工单"), N_("办结时间")),
    Metric("solved", N_("解决率"), "Resolution rate", N_("已解决 ÷ 已评价"), N_("回访答复已解决的工单"),
           N_("回访答复了是否解决的办结工单"), N_("办结时间")),
)}
RATES = tuple(code for code, metric in METRICS.items() if metric.rate)


@dataclass(frozen=True)
class Parts:
    """The SQL of one metric under one reading: what is counted, by which date, and the two per-item numbers."""

    source: str
    where: ColumnElement[bool]
    dated: Any  # the datetime column that puts an item in a period
    numerator: ColumnElement[Any]
    denominator: ColumnElement[Any]
    department: ColumnElement[Any]
    unit: Any = None  # the department column itself (None: the lead department), for index-friendly filters


def _flag(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    """Return 1 where the condition holds, else 0."""
    return sa.case((condition, 1), else_=0)


def _repeats(counter: Any, settings: MetricSettings) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """Return numerator and denominator of a 退单 / 重办 count: per case, or per time (each round counts)."""
    if settings.repeats == "each":
        return counter, 1 + counter
    return _flag(counter > 0), sa.literal(1)


def parts(code: str, settings: MetricSettings, now: datetime) -> Parts:
    """Return the SQL that counts one metric under the reading, with `now` deciding what is already due."""
    kept = sa.and_(Case.duplicate_of.is_(None), Case.status != "merged")
    dispatched = sa.and_(kept, Case.lead_department.is_not(None))
    closed = sa.and_(kept, Case.closed_at.is_not(None))
    lead = sa.func.coalesce(Case.lead_department, "")
    due = sa.and_(kept, Case.deadline.is_not(None), sa.or_(Case.closed_at.is_not(None), Case.deadline < now))
    on_time = sa.and_(Case.closed_at.is_not(None), Case.closed_at <= Case.deadline)
    one = sa.literal(1)
    received = settings.period_date == "received"
    if code == "volume":
        return Parts("case", sa.true(), Case.created_at, one, one, lead)
    if code == "direct":
        return Parts("case", sa.and_(kept, Case.status.not_in(NOT_ACCEPTED)), Case.created_at,
                     _flag(Case.direct_answer.is_(True)), one, lead)
    if code == "signed":
        signed_in_time = sa.and_(HumanTask.status == "completed", HumanTask.completed_at <= HumanTask.due_at)
        counted = sa.and_(kept, HumanTask.bpmn_id == "sign_for", HumanTask.due_at.is_not(None), sa.or_(
            HumanTask.status == "completed", sa.and_(HumanTask.status == "open", HumanTask.due_at < now)))
        return Parts("sign_for", counted, Case.created_at if received else HumanTask.due_at,
                     _flag(signed_in_time), one, sa.func.coalesce(HumanTask.department, ""), HumanTask.department)
    if code in ("ontime", "overdue"):
        hit = on_time if code == "ontime" else sa.not_(on_time)
        return Parts("case", due, Case.created_at if received else Case.deadline, _flag(hit), one, lead)
    if code == "closure":
        return Parts("case", dispatched, Case.created_at, _flag(Case.closed_at.is_not(None)), one, lead)
    if code == "returned":
        numerator, denominator = _repeats(Case.return_count, settings)
        return Parts("case", dispatched, Case.created_at, numerator, denominator, lead)
    dated = Case.created_at if received else Case.closed_at
    if code == "rehandled":
        numerator, denominator = _repeats(Case.rehandle_count, settings)
        return Parts("case", closed, dated, numerator, denominator, lead)
    if code == "callback":
        needing = sa.and_(closed, Case.lead_department.is_not(None))
        return Parts("case", needing, dated, _flag(Case.callback_result.in_(REACHED)), one, lead)
    if code == "satisfied":
        happy = REACHED[:2] if settings.basic_satisfied else REACHED[:1]
        return Parts("case", sa.and_(closed, Case.callback_result.in_(REACHED)), dated,
                     _flag(Case.callback_result.in_(happy)), one, lead)
    if code == "solved":
        return Parts("case", sa.and_(closed, Case.solved.is_not(None)), dated, _flag(Case.solved.is_(True)), one, lead)
    raise KeyError(code)


def dimension_columns(p: Parts) -> dict[str, ColumnElement[Any]]:
    """Return the SQL of each dimension for an item ('' where the case has no value)."""
    return {"department": p.department, "category": sa.func.coalesce(Case.category, ""),
            "township": sa.func.coalesce(Case.township, ""), "channel": sa.func.coalesce(Case.channel, ""),
            "request_type": sa.func.coalesce(Case.request_type, "")}


def matches(p: Parts, name: str, value: str) -> ColumnElement[bool]:
    """Return the condition that an item's dimension has the value ('' for none), on the bare column when it can."""
    if value == "":
        return dimension_columns(p)[name] == ""
    # the bare column, not COALESCE(column, ''): the column's own index then narrows the drill-down lists
    unit = Case.lead_department if p.unit is None else p.unit
    bare = {"department": unit, "category": Case.category, "township": Case.township, "channel": Case.channel,
            "request_type": Case.request_type}
    condition: ColumnElement[bool] = bare[name] == value
    return condition


def items(p: Parts, *columns: Any) -> sa.Select[Any]:
    """Return a SELECT of the columns over the metric's items (cases, or sign-for tasks joined to their case)."""
    query = sa.select(*columns)
    if p.source == "sign_for":
        return query.select_from(HumanTask).join(Case, Case.id == HumanTask.case_id).where(p.where)
    return query.select_from(Case).where(p.where)
