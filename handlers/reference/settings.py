"""Office settings (系统参数): names, defaults, typed parsing and validation of the `setting` table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.reference.models import Setting

SettingValue = bool | int | float
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
class SettingSpec:
    """A known setting: how to parse it, its default and what it means."""

    parse: Callable[[str], SettingValue]
    default: str
    note: str


SETTINGS: dict[str, SettingSpec] = {
    "yellow_share": SettingSpec(_share, "0.25", "黄灯：剩余时限不超过此比例（0-1）"),
    "yellow_workdays": SettingSpec(_int_between(0, 10), "1", "黄灯：剩余工作日不超过此天数（工作日时限）"),
    "callback_max_attempts": SettingSpec(_int_between(1, 10), "3", "回访最多拨打次数"),
    "emergency_mode": SettingSpec(parse_bool, "false", "应急模式：开启后派给值班人员"),
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
    stored = session.scalar(sa.select(Setting.value).where(Setting.name == name))
    if stored is None:
        return parse_setting(name, SETTINGS[name].default) if name in SETTINGS else parse_setting(name, "")
    return parse_setting(name, stored)


def get_number(session: Session, name: str) -> float:
    """Return a numeric setting as a float."""
    return float(get_setting(session, name))
