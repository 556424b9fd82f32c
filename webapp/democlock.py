"""The demo clock (演示时钟): training and demos at a chosen time that moves on at real speed; never in production.

The setting CLOCK (`HOTLINE_CLOCK`) is an offset (`+3d`, `-2h`, `+1w`, `+1d12h`, `+90m`) or a start time
(`2027-01-29T22:00+08:00`; without a zone, Beijing time). It is kept as an offset from real time in the instance
folder (`instance/clock.json`), because the web server, every command and every scheduler of an instance are
separate processes that must see the same time: each reads the file whenever it looks at the clock (one `stat`, the
content only when it changed), so `hotline clock set|advance|reset` moves all of them at once, without a restart.

A process that starts with a CLOCK the file was not last recorded from writes it there; an unchanged CLOCK leaves
the file alone, so restarting the demo (or a scheduler started with the same environment) keeps the moves made
since. With ENV=production a CLOCK setting or the file stops every command and the web server (`refusal`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask import current_app
from flask_babel import gettext

from processes.clock import Clock
from processes.clock import MovedClock
from processes.clock import system_clock
from webapp.config import ConfigError
from webapp.timefmt import LOCAL
from webapp.timefmt import local_time

FILE_NAME = "clock.json"
EXTENSION = "hotline.democlock"
_DURATION = re.compile(r"^([+-]?)((?:\d{1,6}[wdhm])+)$")
_PART = re.compile(r"(\d+)([wdhm])")
_UNIT = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}


class ClockSettingError(ValueError):
    """A clock setting that is neither an offset nor a start time."""


def parse_duration(text: str) -> timedelta:
    """Return an offset such as '+3d', '-2h', '1w', '+1d12h' or '90m' (w, d, h, m) as a timedelta."""
    found = _DURATION.match(text.strip().lower())
    if found is None:
        raise ClockSettingError(f"not an offset: {text!r} (e.g. +3d, -2h, +1w, +1d12h, +90m)")
    total = sum((int(n) * _UNIT[unit] for n, unit in _PART.findall(found.group(2))), timedelta())
    return -total if found.group(1) == "-" else total


def parse_setting(text: str, now: datetime) -> timedelta:
    """Return the offset from real time `now` that a setting asks for: an offset, or a start time (from now on)."""
    text = str(text).strip()
    if _DURATION.match(text.lower()):
        return parse_duration(text)
    try:
        start = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ClockSettingError(f"not an offset nor a start time: {text!r} "
                                "(e.g. +3d, -2h, +1w or 2027-01-29T22:00+08:00)") from exc
    if start.tzinfo is None:  # the office's own wall-clock time
        start = start.replace(tzinfo=LOCAL)
    return start - now


@dataclass(frozen=True)
class ClockState:
    """What the instance's clock file holds: the offset, the CLOCK it was last recorded from, who moved it when."""

    offset: timedelta
    from_setting: str | None
    set_at: datetime
    set_by: str

    def to_json(self) -> dict[str, Any]:
        """Return the file's content."""
        return {"offset_seconds": self.offset.total_seconds(), "from_setting": self.from_setting,
                "set_at": self.set_at.isoformat(), "set_by": self.set_by}


class ClockFile:
    """The demo clock of one instance folder, re-read only when the file changed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int, int] | None = None
        self._state: ClockState | None = None

    def state(self) -> ClockState | None:
        """Return the recorded clock, None when the instance runs on real time."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._seen = self._state = None
            return None
        signature = (st.st_ino, st.st_mtime_ns, st.st_size)
        if signature != self._seen:
            # Read after the stat: what is kept is never older than the signature it is kept under.
            self._state, self._seen = self._read(), signature
        return self._state

    def offset(self) -> timedelta:
        """Return how far the clock is moved from real time (zero without a file)."""
        state = self.state()
        return state.offset if state is not None else timedelta()

    def _read(self) -> ClockState:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return ClockState(timedelta(seconds=float(raw["offset_seconds"])), raw.get("from_setting"),
                              datetime.fromisoformat(raw["set_at"]), str(raw.get("set_by") or ""))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{self.path} is not a demo clock file ({type(exc).__name__}); "
                              "run `hotline clock reset` or `hotline clock set …`") from exc

    def write(self, state: ClockState) -> None:
        """Replace the file in one step (readers see the old content or the new, never half of it)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        temporary.write_text(json.dumps(state.to_json(), ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(temporary, self.path)

    def remove(self) -> bool:
        """Go back to real time; return whether the clock was moved."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True

    def record(self, setting: str, *, by: str) -> None:
        """Record a CLOCK setting unless the file was last recorded from the same one (then keep its moves)."""
        current = self.state()
        if current is not None and current.from_setting == setting:
            return
        now = system_clock()
        self.write(ClockState(parse_setting(setting, now), setting, now, by))

    def move(self, offset: timedelta, *, by: str) -> ClockState:
        """Set a new offset from real time, keeping the CLOCK setting it was recorded from; return the new state."""
        current = self.state()
        state = ClockState(offset, current.from_setting if current else None, system_clock(), by)
        self.write(state)
        return state


def clock_path(instance_path: str) -> Path:
    """Return the demo clock file of an instance folder."""
    return Path(instance_path) / FILE_NAME


def configured(config: Mapping[str, Any]) -> str:
    """Return the CLOCK setting ('' when none)."""
    value = config.get("CLOCK")
    return "" if value is None else str(value).strip()


def refusal(config: Mapping[str, Any], instance_path: str) -> str | None:
    """Return why this configuration may not run (a demo clock in production), else None."""
    if config.get("ENV") != "production":
        return None
    if configured(config):
        return ("HOTLINE_CLOCK / CLOCK (the demo clock) is set, and HOTLINE_ENV=production runs on real time only: "
                "remove the setting")
    path = clock_path(instance_path)
    if path.exists():
        return (f"{path} (the demo clock) exists, and HOTLINE_ENV=production runs on real time only: "
                "delete the file")
    return None


def install(app: Flask) -> Clock:
    """Return the runtime's clock: real time in production, else the instance's demo clock (CLOCK recorded)."""
    problem = refusal(app.config, app.instance_path)
    if problem is not None:
        raise ConfigError(problem)
    if app.config.get("ENV") == "production":
        return system_clock
    store = ClockFile(clock_path(app.instance_path))
    setting = configured(app.config)
    if setting:
        try:
            store.record(setting, by="HOTLINE_CLOCK")
        except ClockSettingError as exc:
            raise ConfigError(f"HOTLINE_CLOCK: {exc}") from exc
    app.extensions[EXTENSION] = store
    return MovedClock(store.offset)


def store_of(app: Flask) -> ClockFile:
    """Return the clock file an app reads (a production app has none)."""
    found = app.extensions.get(EXTENSION)
    return found if isinstance(found, ClockFile) else ClockFile(clock_path(app.instance_path))


def spoken(offset: timedelta) -> str:
    """Return an offset in words: '3天', '65天3小时', '2小时5分' (seconds dropped)."""
    minutes = int(abs(offset).total_seconds()) // 60
    days, rest = divmod(minutes, 24 * 60)
    parts = [(days, gettext("天")), (rest // 60, gettext("小时")), (rest % 60, gettext("分"))]
    return "".join(f"{n}{unit}" for n, unit in parts if n).strip() or f"0{gettext('分')}".strip()


def describe(state: ClockState, now: datetime) -> str:
    """Return the banner line: 演示时钟：2027-01-29 22:00（已调快 3天）."""
    if abs(state.offset) < timedelta(minutes=1):
        return str(gettext("演示时钟：%(time)s（与实际时间相同）", time=local_time(now)))
    if state.offset > timedelta():
        return str(gettext("演示时钟：%(time)s（已调快 %(offset)s）", time=local_time(now),
                           offset=spoken(state.offset)))
    return str(gettext("演示时钟：%(time)s（已调慢 %(offset)s）", time=local_time(now), offset=spoken(state.offset)))


def banner() -> dict[str, Any]:
    """Template context: the demo clock's line on every page while the clock is moved, else nothing."""
    state = store_of(current_app).state() if current_app.config.get("ENV") != "production" else None
    if state is None:
        return {"demo_clock": None}
    now = current_app.extensions["hotline.runtime"].clock()
    return {"demo_clock": describe(state, now)}
