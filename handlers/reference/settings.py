"""Office settings (系统参数): names, defaults, typed parsing and validation of the `setting` table."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time

from sqlalchemy.orm import Session

from handlers.reference.settings_cache import stored_settings
from processes.metrics import settings as metrics

SettingValue = bool | int | float | str
TRUE_WORDS = frozenset({"true", "1", "yes", "on", "是"})
FALSE_WORDS = frozenset({"false", "0", "no", "off", "否"})


def parse_bool(text: str) -> bool:
    """Parse true/false, 1/0, yes/no, on/off, 是/否."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{text!r} is not true or false")


def _share(text: str) -> float:
    """Parse a fraction strictly between 0 and 1."""
    value = float(text)
    if not 0 < value < 1:
        raise ValueError(f"{text!r} must be a fraction between 0 and 1, e.g. 0.25")
    return value


def _int_between(low: int, high: int) -> Callable[[str], int]:
    """Return a parser for whole numbers within a range."""
    def parse(text: str) -> int:
        value = int(text.strip())
        if not low <= value <= high:
            raise ValueError(f"{text!r} must be a whole number from {low} to {high}")
        return value
    return parse


@dataclass(frozen=True)
class Spacing:
    """One wait before the next callback attempt (回访间隔): clock minutes, or the next working day at a time."""

    minutes: int = 0
    next_workday_at: time | None = None


SPACING_RE = re.compile(r"^(?:(\d{1,4})(m|h)|next_workday(?:@(\d{1,2}):(\d{2}))?)$")
MAX_SPACINGS = 10
MAX_SPACING_MINUTES = 72 * 60
DEFAULT_WORKDAY_TIME = time(9, 0)


def parse_spacings(text: str) -> list[Spacing]:
    """Parse a comma list of waits such as '2h,next_workday@09:00' (30m, 2h, next_workday[@HH:MM])."""
    parts = [p.strip() for p in text.replace("，", ",").split(",") if p.strip()]
    if not 1 <= len(parts) <= MAX_SPACINGS:
        raise ValueError(f"{text!r} must list 1 to {MAX_SPACINGS} waits, e.g. 2h,next_workday@09:00")
    out = []
    for part in parts:
        found = SPACING_RE.match(part)
        if found is None:
            raise ValueError(f"{part!r} is not a wait: write 30m, 2h, next_workday or next_workday@09:00")
        amount, unit, hour, minute = found.groups()
        if amount is not None:
            minutes = int(amount) * (60 if unit == "h" else 1)
            if not 1 <= minutes <= MAX_SPACING_MINUTES:
                raise ValueError(f"{part!r} must be from 1 minute to 72 hours")
            out.append(Spacing(minutes=minutes))
        elif hour is None:
            out.append(Spacing(next_workday_at=DEFAULT_WORKDAY_TIME))
        elif int(hour) > 23 or int(minute) > 59:
            raise ValueError(f"{part!r}: the time must be HH:MM from 00:00 to 23:59")
        else:
            out.append(Spacing(next_workday_at=time(int(hour), int(minute))))
    return out


MIN_RETENTION_DAYS = 30  # closed cases stay identifiable for at least a month (reopening, 重办, complaints)


def _retention_days(text: str) -> int:
    """Parse the retention of closed cases' personal data: 0 (keep) or MIN_RETENTION_DAYS to 36500 days."""
    value = int(text.strip())
    if value != 0 and not MIN_RETENTION_DAYS <= value <= 36_500:
        raise ValueError(f"{text!r} must be 0 (keep) or a number of days from {MIN_RETENTION_DAYS} to 36500")
    return value


def _spacings(text: str) -> str:
    """Check a list of callback waits and return it normalised (comma separated, no blanks)."""
    parse_spacings(text)
    return ",".join(p.strip() for p in text.replace("，", ",").split(",") if p.strip())


def _one_of(allowed: tuple[str, ...]) -> Callable[[str], str]:
    """Return a parser for a word from a fixed list."""
    def parse(text: str) -> str:
        word = text.strip().lower()
        if word not in allowed:
            raise ValueError(f"{text!r} must be one of {', '.join(allowed)}")
        return word
    return parse


def clock_time(text: str) -> str:
    """Parse a time of day HH:MM (00:00-23:59) and return it as HH:MM."""
    found = re.match(r"^(\d{1,2}):(\d{2})$", text.strip())
    if found is None or int(found.group(1)) > 23 or int(found.group(2)) > 59:
        raise ValueError(f"{text!r} must be a time of day HH:MM, e.g. 17:30")
    return f"{int(found.group(1)):02d}:{found.group(2)}"


@dataclass(frozen=True)
class SettingSpec:
    """A known setting: how to parse it, its default and what it means."""

    parse: Callable[[str], SettingValue]
    default: str
    note: str


RECOUNT = "；改动在当晚全量重算统计汇总后生效"
SETTINGS: dict[str, SettingSpec] = {
    "yellow_share": SettingSpec(_share, "0.25", "黄灯：剩余时限不超过此比例（0-1）"),
    "yellow_workdays": SettingSpec(_int_between(0, 10), "1", "黄灯：剩余工作日不超过此天数（工作日时限）"),
    "callback_max_attempts": SettingSpec(_int_between(1, 10), "3", "回访最多拨打次数"),
    "callback_retry_spacing": SettingSpec(
        _spacings, "2h,next_workday@09:00",
        "回访未接通再次回访的间隔：依次为第1次、第2次…未接通后的等待，末项沿用（30m、2h、next_workday@09:00）"),
    "emergency_mode": SettingSpec(parse_bool, "false", "应急模式：开启后派给值班人员"),
    "office_closes_at": SettingSpec(clock_time, "17:30", "下班时间：当日下班前的时限（初审、派单）截至此时（HH:MM）"),
    "office_opens_at": SettingSpec(clock_time, "08:30", "上班时间：工作日此前与下班后为夜间，派给夜班（HH:MM）"),
    # 统计口径 of the dashboard and reports (processes/metrics/settings.py); the rollup keeps the reading it was
    # counted under, so a change shows once the nightly rebuild (or `hotline metrics rollup --full`) has run
    metrics.BASIC_SATISFIED: SettingSpec(parse_bool, "true", metrics.NOTES[metrics.BASIC_SATISFIED] + RECOUNT),
    metrics.REPEATS: SettingSpec(_one_of(metrics.REPEAT_READINGS), "once", metrics.NOTES[metrics.REPEATS] + RECOUNT),
    metrics.PERIOD_DATE: SettingSpec(_one_of(metrics.DATE_READINGS), "event",
                                     metrics.NOTES[metrics.PERIOD_DATE] + RECOUNT),
    # PIPL: personal data kept no longer than needed; the office decides how long (processes/cases/retention.py)
    "pii_retention_days": SettingSpec(
        _retention_days, "0", "办结工单诉求人个人信息保存天数：办结满此天数后去标识化（姓名、电话、身份证号、地址删除，"
                              "文字中的号码删除，工单与统计保留）；0 为不自动处理"),
}


def parse_setting(name: str, text: str) -> SettingValue:
    """Return the typed value of a setting, or raise ValueError naming the problem."""
    spec = SETTINGS.get(name)
    if spec is None:
        raise ValueError(f"unknown setting {name!r}; known: {', '.join(sorted(SETTINGS))}")
    try:
        return spec.parse(text)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from exc


def get_setting(session: Session, name: str) -> SettingValue:
    """Return a setting's stored value, or its default when the table has no row for it."""
    stored = stored_settings(session).get(name)
    if stored is None:
        return parse_setting(name, SETTINGS[name].default) if name in SETTINGS else parse_setting(name, "")
    return parse_setting(name, stored)


def get_number(session: Session, name: str) -> float:
    """Return a numeric setting as a float."""
    return float(get_setting(session, name))
