"""Which reading of the metrics the office uses (统计口径), kept in the `setting` table and shown with every figure."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.reference.models import Setting

BASIC_SATISFIED = "metrics_basic_satisfied"
REPEATS = "metrics_repeats"
PERIOD_DATE = "metrics_period_date"
REPEAT_READINGS = ("once", "each")
DATE_READINGS = ("event", "received")
NOTES = {
    BASIC_SATISFIED: "满意率：基本满意是否计为满意（true/false）",
    REPEATS: "回退率、重办率：once 按工单计一次，each 按每次退单、重办计",
    PERIOD_DATE: "统计归期：event 按各指标自身的日期（时限、办结、签收时限），received 一律按受理日期",
}
TRUE_WORDS = frozenset({"true", "1", "yes", "on", "是"})


def N_(text: str) -> str:
    """Mark a Chinese text for the catalogue; the web layer translates it when it shows it."""
    return text


@dataclass(frozen=True)
class MetricSettings:
    """The office's reading of the metrics: 基本满意 counts as satisfied; repeats counted once; period by date."""

    basic_satisfied: bool = True
    repeats: str = "once"  # once: a case returned twice counts once; each: every 退单 / 重办 counts
    period_date: str = "event"  # event: each metric's own date (due, closed); received: the day the case came in

    def __post_init__(self) -> None:
        if self.repeats not in REPEAT_READINGS or self.period_date not in DATE_READINGS:
            raise ValueError("unknown reading of the metrics")

    def key(self) -> str:
        """Return a short text naming the reading, stored with the rollup it was counted under."""
        return f"basic={int(self.basic_satisfied)};repeats={self.repeats};date={self.period_date}"

    def lines(self) -> list[tuple[str, str]]:
        """Return the reading as (setting, chosen value) lines in Chinese, to show beside the figures."""
        return [(N_("满意率口径"), N_("满意 + 基本满意") if self.basic_satisfied else N_("仅“满意”")),
                (N_("重复计数"), N_("按工单计一次") if self.repeats == "once" else N_("按每次退单、重办计")),
                (N_("统计归期"), N_("按指标自身日期") if self.period_date == "event" else N_("按受理日期"))]


def read_settings(session: Session) -> MetricSettings:
    """Read the reading from the `setting` table; a missing or unreadable value keeps its default."""
    rows = session.execute(sa.select(Setting.name, Setting.value).where(
        Setting.name.in_((BASIC_SATISFIED, REPEATS, PERIOD_DATE))))
    values = {str(name): str(value) for name, value in rows}
    repeats = values.get(REPEATS, "once").strip()
    period_date = values.get(PERIOD_DATE, "event").strip()
    return MetricSettings(
        basic_satisfied=values.get(BASIC_SATISFIED, "true").strip().lower() in TRUE_WORDS,
        repeats=repeats if repeats in REPEAT_READINGS else "once",
        period_date=period_date if period_date in DATE_READINGS else "event")


def save_settings(session: Session, settings: MetricSettings) -> None:
    """Store the reading in the `setting` table (the caller commits and audits)."""
    values = {BASIC_SATISFIED: "true" if settings.basic_satisfied else "false", REPEATS: settings.repeats,
              PERIOD_DATE: settings.period_date}
    for name, value in values.items():
        row = session.get(Setting, name)
        if row is None:
            session.add(Setting(name=name, value=value, note=NOTES[name]))
        else:
            row.value = value
    session.flush()
