"""Time-limit rules (办理时限规则): lookup by case routing and stage, most specific rule first."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.reference.models import SlaRule

ANY = "*"
SOURCES = frozenset({"phone", "visit", "platform", "township", "police110", "network"})  # network: Open311
REQUEST_TYPES = frozenset({"consult", "help", "complaint", "report", "suggestion", "praise", "other"})
URGENCIES = frozenset({"normal", "urgent", "critical"})
# 复杂件 (several departments or hard cases) is set at triage beside the request type, never instead of it.
COMPLEXITIES = frozenset({"normal", "complex"})
UNITS = frozenset({"workdays", "hours", "minutes", "workday_close"})  # workday_close: 当日下班前 (handlers.workdays)
# Stages every rule set must cover with a catch-all row, so no case ever lacks a limit.
REQUIRED_STAGES = ("sign_for", "return", "handle", "extension_max", "callback", "notice")
# The words people and older forms use for the same values.
ALIASES = {
    "110": "police110", "来电": "phone", "来访": "visit", "网络": "network",
    "咨询": "consult", "求助": "help", "投诉": "complaint", "举报": "report", "建议": "suggestion",
    "表扬": "praise", "其他": "other",
    "一般": "normal", "紧急": "urgent", "特急": "critical", "一般件": "normal", "复杂件": "complex",
}


@dataclass(frozen=True)
class Rule:
    """A matched time limit: the rule's key, amount and unit."""

    source: str
    request_type: str
    urgency: str
    stage: str
    amount: int
    unit: str
    complexity: str = ANY

    def describe(self) -> str:
        """Return a short text naming the rule, e.g. 'phone/complaint/*/handle 5 workdays' ('*/*/normal/complex/…')."""
        key = [self.source, self.request_type, self.urgency, *([self.complexity] if self.complexity != ANY else [])]
        return f"{'/'.join(key)}/{self.stage} {self.amount} {self.unit}"


def normalise(value: str | None) -> str:
    """Return the code of a routing value ('' when absent), accepting the Chinese words too."""
    text = (value or "").strip()
    return ALIASES.get(text, text)


def find_rule(session: Session, stage: str, *, source: str | None, request_type: str | None,
              urgency: str | None, complexity: str | None = None) -> Rule | None:
    """Return the most specific rule for a stage: exact beats '*', compared by source, complexity, type, urgency.

    Complexity comes before the request type so that a complex complaint gets the complex limit rather than the
    complaint one; the complex rules are written for normal urgency, so urgent matters keep their short limits.
    """
    wanted = (normalise(source), normalise(request_type), normalise(urgency), normalise(complexity) or "normal")
    rows = session.execute(sa.select(SlaRule).where(
        SlaRule.stage == stage,
        SlaRule.source.in_({wanted[0], ANY}),
        SlaRule.request_type.in_({wanted[1], ANY}),
        SlaRule.urgency.in_({wanted[2], ANY}),
        SlaRule.complexity.in_({wanted[3], ANY}))).scalars().all()
    if not rows:
        return None
    best = max(rows, key=lambda r: (r.source != ANY, r.complexity != ANY, r.request_type != ANY, r.urgency != ANY))
    return Rule(best.source, best.request_type, best.urgency, best.stage, best.amount, best.unit, best.complexity)
