"""Department evaluation (部门考评): a scorecard per unit and month, graded within its class of unit.

国办函 [2025] 66号 asks for graded, category-based evaluation, not a raw ranking: units are scored against targets
within their class (区级部门, 乡镇（街道）), each class with its own weights, and given a grade (优秀 / 良好 / 合格 /
待改进). A metric at or past its target earns its full weight; short of it, a share in proportion. Every deduction
lists the cases behind it (drill-down from the metrics API). The office edits weights and targets; each edit is a
new `evaluation_scheme` row (the newest applies, the old ones stay as history).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes import metrics
from processes.metrics import CaseLine
from processes.metrics import Figure
from processes.metrics import Filters
from processes.metrics import MetricSettings
from processes.metrics import Period
from processes.metrics.compute import MAX_LISTED
from processes.reports.models import EvaluationScheme

LOWER_BETTER = frozenset({"overdue", "returned", "rehandled"})  # rates where less is better (a ceiling as target)
CLASSES = {"department": "区级部门", "township": "乡镇（街道）"}
GRADES = (("excellent", "优秀"), ("good", "良好"), ("pass", "合格"))
BELOW = "待改进"
SCORED = ("ontime", "overdue", "returned", "rehandled", "callback", "satisfied", "solved", "signed")
_WEIGHTS = {"ontime": (30, 0.95), "overdue": (15, 0.02), "returned": (10, 0.10), "rehandled": (15, 0.05),
            "satisfied": (20, 0.90), "solved": (10, 0.85)}
DEFAULT: dict[str, Any] = {
    "classes": {klass: {m: {"weight": w, "target": t} for m, (w, t) in _WEIGHTS.items()} for klass in CLASSES},
    "grades": {"excellent": 95, "good": 85, "pass": 70},
}


@dataclass(frozen=True)
class Line:
    """One metric of a unit's scorecard: its weight, target, figure, score and deduction."""

    metric: str
    weight: int
    target: float
    figure: Figure | None
    score: float

    @property
    def deduction(self) -> float:
        """Return the points lost on this metric."""
        return round(self.weight - self.score, 2)


@dataclass(frozen=True)
class Scorecard:
    """One unit's month (考评结果): its class, lines, total out of 100 and grade within the class."""

    code: str
    name: str
    klass: str
    lines: list[Line]
    total: float
    grade: str


def current(session: Session) -> tuple[dict[str, Any], EvaluationScheme | None]:
    """Return the scheme in force (the newest saved, else the default) and its row."""
    row = session.scalar(sa.select(EvaluationScheme).order_by(EvaluationScheme.id.desc()).limit(1))
    return (copy.deepcopy(row.weights) if row else copy.deepcopy(DEFAULT)), row


def problems(scheme: dict[str, Any]) -> list[str]:
    """Return what is wrong with a scheme, in Chinese (empty when it may be saved)."""
    found: list[str] = []
    for klass, label in CLASSES.items():
        lines = scheme.get("classes", {}).get(klass, {})
        if set(lines) - set(SCORED):
            found.append(f"{label}：未知指标 {sorted(set(lines) - set(SCORED))}")
        weights = [line.get("weight") for line in lines.values()]
        if any(not isinstance(w, int) or isinstance(w, bool) or not 0 <= w <= 100 for w in weights):
            found.append(f"{label}：权重应为 0 到 100 的整数")
        elif sum(weights) != 100:
            found.append(f"{label}：权重合计应为 100，现为 {sum(weights)}")
        targets = [line.get("target") for line in lines.values()]
        if any(not isinstance(t, int | float) or isinstance(t, bool) or not 0 < t <= 1 for t in targets):
            found.append(f"{label}：目标值应在 0 到 100% 之间")
    grades = [scheme.get("grades", {}).get(code) for code, _ in GRADES]
    if any(not isinstance(g, int | float) or not 0 <= g <= 100 for g in grades) or grades != sorted(grades,
                                                                                                 reverse=True):
        found.append("等级分数线应在 0 到 100 之间，且优秀 ≥ 良好 ≥ 合格")
    return found


def save(session: Session, scheme: dict[str, Any], *, by: str, now: datetime, note: str = "") -> EvaluationScheme:
    """Add a checked scheme as the one in force (the caller audits it in the same transaction)."""
    if problems(scheme):
        raise ValueError("; ".join(problems(scheme)))
    row = EvaluationScheme(weights=scheme, created_by=by, created_at=now, note=note[:200])
    session.add(row)
    session.flush()
    return row


def line_score(metric: str, weight: int, target: float, figure: Figure | None) -> float:
    """Return the points a figure earns: full at or past the target, a proportional share short of it.

    No data (nothing was due) loses nothing: a unit is not marked down for an empty month.
    """
    rate = figure.rate if figure is not None else None
    if rate is None:
        return float(weight)
    if metric in LOWER_BETTER:
        share = 1.0 if rate <= target else max(0.0, (1 - rate) / (1 - target)) if target < 1 else 0.0
    else:
        share = min(1.0, rate / target)
    return round(weight * share, 2)


def grade(total: float, scheme: dict[str, Any]) -> str:
    """Return the grade of a total under the scheme's thresholds."""
    for code, name in GRADES:
        if total >= float(scheme["grades"][code]):
            return name
    return BELOW


def scorecards(session: Session, month: Period, units: dict[str, tuple[str, str]], scheme: dict[str, Any], *,
               settings: MetricSettings | None = None, now: datetime) -> list[Scorecard]:
    """Score every unit (code → (name, class)) for a month, grouped by class, by name within it (not a ranking)."""
    reading = settings or metrics.read_settings(session)
    figures: dict[tuple[str, str], Figure] = {}
    for figure in metrics.figures(session, month, group_by=("department",), metrics=SCORED, settings=reading,
                                  now=now):
        figures[(figure.group[0], figure.metric)] = figure
    cards = []
    for code, (name, klass) in units.items():
        weights = scheme["classes"].get(klass)
        if weights is None:
            continue
        lines = [Line(m, int(v["weight"]), float(v["target"]), figures.get((code, m)),
                      line_score(m, int(v["weight"]), float(v["target"]), figures.get((code, m))))
                 for m, v in weights.items()]
        total = round(sum(line.score for line in lines) * 100 / (sum(line.weight for line in lines) or 1), 1)
        cards.append(Scorecard(code, name, klass, lines, total, grade(total, scheme)))
    order = list(CLASSES)
    return sorted(cards, key=lambda c: (order.index(c.klass), c.name))


def deductions(session: Session, month: Period, unit: str, metric: str, *, settings: MetricSettings | None = None,
               now: datetime, limit: int = 200) -> list[CaseLine]:
    """Return the cases behind a deduction: the unit's overdue / returned / re-handled ones, or those short of the
    target's numerator (not on time, not satisfied, not solved …)."""
    reading = settings or metrics.read_settings(session)
    filters = Filters(department=unit)
    if metric in LOWER_BETTER:
        return metrics.cases_behind(session, metric, "numerator", month, filters=filters, settings=reading, now=now,
                                    limit=limit)
    good = {line.case_id for line in metrics.cases_behind(session, metric, "numerator", month, filters=filters,
                                                          settings=reading, now=now, limit=MAX_LISTED)}
    due = metrics.cases_behind(session, metric, "denominator", month, filters=filters, settings=reading, now=now,
                               limit=MAX_LISTED)
    return [line for line in due if line.case_id not in good][:limit]
