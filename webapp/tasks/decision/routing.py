"""Screens that decide who handles a case and by when: 派单 (the 派单目录 suggestion), 退单审核 (the unit's
reason and its suggested unit), 延期审批 (the days asked, why, the deadline now and after)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext

from handlers import deadlines
from handlers.base import HandlerError
from processes.reference.models import CaseDeadline
from processes.reference.models import DispatchRule
from webapp.tasks.decision.model import Block
from webapp.tasks.decision.model import Decision
from webapp.tasks.decision.model import Line
from webapp.tasks.decision.model import screen
from webapp.tasks.decision.replies import text_label
from webapp.tasks.decision.sources import Sources
from webapp.tasks.decision.sources import shown_time

ANY = "*"  # a 派单目录 rule's wildcard (any category / any township)


@screen("dispatch.schema.json")
def dispatch(src: Sources) -> Decision:
    """派单: what the 派单目录 suggests for the case's category and township, and why; preselected."""
    decision = Decision(gettext("派单目录建议"))
    decision.blocks += _instruction(src)
    suggestion: dict[str, Any] = src.data.get("suggestion") or {}
    case = src.case
    category = (case.category if case else None) or ""
    township = src.unit(case.township) if case and case.township else ""
    lead = suggestion.get("lead")
    if not lead:
        decision.blocks.append(Block(gettext("派单目录没有匹配的规则"), lines=[
            Line(gettext("诉求类别"), category or "—"), Line(gettext("乡镇街道"), township or "—")]))
        decision.note = gettext("请按职责选择主办单位。")
        return decision
    assisting = [str(code) for code in suggestion.get("assisting") or []]
    rule_category, _, rule_township = str(suggestion.get("rule") or f"{ANY}/{ANY}").rpartition("/")
    lines = [
        Line(gettext("建议主办单位"), str(suggestion.get("lead_name") or src.unit(lead))),
        Line(gettext("建议协办单位"), gettext("、").join(map(src.unit, assisting)) or gettext("无")),
        Line(gettext("派单目录规则"), gettext(
            "诉求类别「%(category)s」· 乡镇街道「%(township)s」",
            category=rule_category if rule_category != ANY else gettext("任意"),
            township=src.unit(rule_township) if rule_township != ANY else gettext("任意"))),
        Line(gettext("匹配依据"), _why(rule_category, rule_township, category, township)),
    ]
    note = src.db.scalar(sa.select(DispatchRule.note).where(DispatchRule.category == rule_category,
                                                            DispatchRule.township == rule_township))
    if note:
        lines.append(Line(gettext("目录说明"), note))
    decision.blocks.append(Block("", lines=lines))  # the section's title says what it is
    decision.prefill = {"dispatch_mode": "department", "lead_department": str(lead), "assisting_departments": assisting}
    decision.note = gettext("已按派单目录建议预选派单方式和主办、协办单位，可以修改。")
    return decision


def _why(rule_category: str, rule_township: str, category: str, township: str) -> str:
    """Say in words why the 派单目录 rule applies to this case (the most specific rule wins)."""
    if rule_category != ANY and rule_township != ANY:
        why = gettext("本工单的诉求类别「%(category)s」和乡镇街道「%(township)s」都与这条规则一致",
                      category=category, township=township)
    elif rule_category != ANY:
        why = gettext("按诉求类别「%(category)s」匹配：这一类别在各乡镇街道都按这条规则派单", category=category)
    elif rule_township != ANY:
        why = gettext("按乡镇街道「%(township)s」匹配：目录中没有这一类别的专门规则", township=township)
    else:
        why = gettext("通用规则：目录中没有与这一类别或乡镇街道对应的更具体规则")
    return str(why)


def _instruction(src: Sources) -> list[Block]:
    """Return the leader's instruction (领导批示) when the case was reported to a leader before dispatch."""
    blocks = []
    for task in src.done("leader_instruction", before_me=True)[:1]:
        note = src.texts([task])[task.id].get("instruction")
        if note is not None:
            blocks.append(Block(gettext("领导批示"), src.byline(task.completed_by, task.completed_at),
                                lines=[Line(text_label("instruction"), src.shown(note.value), long=True)]))
    return blocks


@screen("return_review.schema.json")
def return_review(src: Sources) -> Decision:
    """退单审核: which unit returns the case, its reason, the unit it suggests (preselected for 改派)."""
    unit = src.data.get("unit")
    suggested = src.data.get("suggested_department")
    decision = Decision(gettext("%(unit)s申请退单", unit=src.unit(unit) or gettext("承办单位")))
    returned = src.done("sign_for", department=str(unit), before_me=True)[:1] if unit else []
    for task in returned:
        reason = src.texts([task])[task.id].get("return_reason")
        lines = [Line(text_label("return_reason"), src.shown(reason.value if reason else "")
                      or gettext("（未填写）"), long=True),
                 Line(gettext("建议承办单位"), src.unit(suggested) or gettext("未建议"))]
        if src.case is not None and src.case.return_count > 1:
            lines.append(Line(gettext("本工单退单次数"), str(src.case.return_count)))
        decision.blocks.append(Block(gettext("退单理由"), src.byline(task.completed_by, task.completed_at,
                                                                     src.unit(unit)), lines=lines,
                                     files=src.files(task.id)))
    if suggested and suggested != unit:
        decision.prefill["new_department"] = str(suggested)
        decision.note = gettext("改派单位已预选为退单单位建议的%(unit)s；同意退单时可另选，驳回时请填写审核意见。",
                                    unit=src.unit(suggested))
    return decision


@screen("extension_approval.schema.json")
def extension_approval(src: Sources) -> Decision:
    """延期审批: the days asked and why, the deadline now and after granting them, what the limit still allows."""
    unit = src.data.get("unit")
    asked = src.data.get("extension_days")
    decision = Decision(gettext("%(unit)s申请延期", unit=src.unit(unit) or gettext("承办单位")))
    lines: list[Line] = []
    if isinstance(asked, int):
        lines.append(Line(gettext("申请延期"), gettext("%(days)s 个工作日", days=asked)))
    requested = src.done("reply", department=str(unit), before_me=True)[:1] if unit else []
    for task in requested:
        reason = src.texts([task])[task.id].get("extension_reason")
        lines.append(Line(text_label("extension_reason"), src.shown(reason.value if reason else "")
                          or gettext("（未填写）"), long=True))
    lines += _deadline_lines(src, str(unit or ""), asked if isinstance(asked, int) else 0, decision)
    decision.blocks.append(Block(gettext("延期申请"), src.byline(
        requested[0].completed_by if requested else None, requested[0].completed_at if requested else None,
        src.unit(unit)), lines=lines))
    return decision


def _deadline_lines(src: Sources, unit: str, asked: int, decision: Decision) -> list[Line]:
    """Return the current handling deadline and the one granting the request gives (capped like deadline.extend)."""
    if src.case is None:
        return []
    row = src.db.scalar(sa.select(CaseDeadline).where(
        CaseDeadline.instance_id == src.task.instance_id, CaseDeadline.stage == "handle", CaseDeadline.unit == unit))
    if row is None:
        return []
    lines = [Line(gettext("当前办理时限"), shown_time(row.due_at))]
    try:
        routing = deadlines.routing_of(src.db, src.case.id)
        limit = deadlines.rule_for(src.db, "extension_max", routing).amount
        left = max(0, limit - row.extension_days)
        granted = min(asked, left)
        after = deadlines.compute(src.db, routing, "handle", row.start_at, row.extension_days + granted)
    except HandlerError:
        return lines  # a broken rule: the approval itself will say so
    if granted:
        lines.append(Line(gettext("同意后办理时限"), gettext(
            "%(due)s（顺延 %(days)s 个工作日）", due=shown_time(after.due), days=granted)))
        decision.prefill["approved_days"] = granted
    lines.append(Line(gettext("已延期"), gettext("%(used)s 个工作日，累计不超过 %(limit)s 个工作日",
                                                        used=row.extension_days, limit=limit)))
    if granted < asked:
        lines.append(Line(gettext("注意"), gettext("超出延期上限：最多还能批准 %(left)s 个工作日",
                                                   left=left)))
    if after.capped:
        lines.append(Line(gettext("注意"), gettext("受上级平台截止时间限制，时限不能晚于 %(cap)s",
                                                          cap=shown_time(src.case.upstream_deadline))))
    if after.calendar_warning:
        lines.append(Line(gettext("注意"), after.calendar_warning))
    if granted:
        decision.note = gettext("批准天数已按申请预填（不超过延期上限），可以修改。")
    return lines
