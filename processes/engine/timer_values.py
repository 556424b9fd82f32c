"""Timer values (定时器): a literal ISO 8601 value is used as written, anything else is a sandboxed expression.

SpiffWorkflow evaluates every `timeDuration`, `timeDate` and `timeCycle` as Python, so `P7D` or `R6/P1D` written
the way every other BPMN engine reads them failed at the first step (`NameError: name 'R6' is not defined`).
Here a value that is a whole ISO 8601 duration, date-time or repeating interval is taken literally; anything else
(`handle_deadline['due']`, `"P%dD" % days`) is evaluated by the restricted script engine and its
result must be such a value. A date-time without an offset is office time (Asia/Shanghai), never the server's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import Literal

from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import DurationTimerEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimeDateEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from processes.clock import OFFICE_TZ
from processes.engine.script_environment import constant_value
from processes.errors import ScriptRejected

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # months and years are counted from a fixed start
Kind = Literal["duration", "date", "cycle"]
KIND_WORDS: dict[Kind, str] = {"duration": "期限", "date": "日期时间", "cycle": "周期"}
EXAMPLES: dict[Kind, str] = {"duration": "P7D、PT4H、P1DT2H", "date": "2026-12-24T09:00:00+08:00",
                             "cycle": "R6/P1D、R/PT1H、R3/2026-12-24T09:00:00+08:00/P1D"}

_NUM = r"\d+(?:[.,]\d+)?"
_DURATION = re.compile(rf"P(?=\d|T\d)(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}W)?(?:{_NUM}D)?"
                       rf"(?:T(?=\d)(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?", re.IGNORECASE)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?", re.IGNORECASE)
_FRACTION = re.compile(r"[.,]\d+[A-Z]", re.IGNORECASE)
_REPEAT = re.compile(r"R(\d*)", re.IGNORECASE)
# What an analyst meant as an ISO value (and so must be one), rather than an expression over task data.
_LOOKS_ISO = re.compile(r"(?:R\d*(?:/|$)|P(?:T?\d|T?$)|\d{4}-\d{2}-\d{2}(?:T|$))", re.IGNORECASE)


class TimerValueError(ValueError):
    """A timer value that is neither valid ISO 8601 nor an expression giving one (message in Chinese).

    `reason` says which: `iso` (meant as ISO 8601, but not valid), `expression` (refused by the sandbox) or
    `result` (the expression gave something that is no ISO 8601 value, shown in `result`).
    """

    def __init__(self, message: str, *, reason: str, kind: Kind, value: str, result: str = "") -> None:
        super().__init__(message)
        self.reason, self.kind, self.value, self.result = reason, kind, value, result


def timer_kind(definition: Any) -> Kind | None:
    """Return which kind of timer a SpiffWorkflow event definition is, or None when it is no timer."""
    if isinstance(definition, CycleTimerEventDefinition):
        return "cycle"
    if isinstance(definition, TimeDateEventDefinition):
        return "date"
    if isinstance(definition, (DurationTimerEventDefinition, TimerEventDefinition)):
        return "duration"
    return None


def timer_definitions(task_spec: Any) -> list[Any]:
    """Return the timer definitions of a task spec (an event-based gateway holds several event definitions)."""
    event = getattr(task_spec, "event_definition", None)
    found = getattr(event, "event_definitions", None) or [event]
    return [d for d in found if timer_kind(d) is not None]


def kind_of_expression(task_spec: Any, expression: str) -> Kind | None:
    """Return the kind of the timer whose value this expression is, or None (a condition, a payload …)."""
    for definition in timer_definitions(task_spec):
        if definition.expression == expression:
            return timer_kind(definition)
    return None


def literal(kind: Kind, text: str) -> str | None:
    """Return the value as the engine reads it when `text` is a valid ISO 8601 value of this kind, else None."""
    value = text.strip()
    if kind == "duration":
        return _duration(value)
    if kind == "date":
        return _date(value)
    return _cycle(value)


def check(kind: Kind, text: str) -> None:
    """Raise TimerValueError (Chinese) unless `text` is a literal ISO value or a sandbox-safe expression."""
    value = text.strip()
    if literal(kind, value) is not None:
        return
    if _LOOKS_ISO.match(value):
        raise TimerValueError(f"定时器{KIND_WORDS[kind]} {_short(value)} 不是有效的 ISO 8601 {KIND_WORDS[kind]}"
                              f"（如 {EXAMPLES[kind]}）", reason="iso", kind=kind, value=value)
    try:
        constant = constant_value(value)  # sandbox rules; evaluated now when it names no task data
    except ScriptRejected as exc:
        raise TimerValueError(f"定时器{KIND_WORDS[kind]} {_short(value)} 既不是 ISO 8601 值，"
                              f"也不是允许的表达式：{exc}", reason="expression", kind=kind, value=value) from exc
    if constant is not None:
        result(kind, constant, value)


def resolve(kind: Kind, expression: str, evaluate: Callable[[], Any]) -> str:
    """Return the timer value the engine should use: the literal as written, or the checked expression result."""
    found = literal(kind, expression)
    if found is not None:
        return found
    return result(kind, evaluate(), expression)


def result(kind: Kind, value: Any, expression: str) -> str:
    """Check what an expression gave and return it as the engine reads it; raise TimerValueError when unusable."""
    if kind == "date" and isinstance(value, datetime):
        value = value.isoformat()
    found = literal(kind, value) if isinstance(value, str) else None
    if found is None:
        shown = _short(value if isinstance(value, str) else repr(value))
        raise TimerValueError(f"定时器表达式 {_short(expression)} 的结果 {shown} 不是 ISO 8601 "
                              f"{KIND_WORDS[kind]}（如 {EXAMPLES[kind]}）", reason="result", kind=kind,
                              value=expression, result=shown)
    return found


def _duration(value: str) -> str | None:
    if not _DURATION.fullmatch(value) or any(f.end() != len(value) for f in _FRACTION.finditer(value)):
        return None  # ISO 8601 allows a fraction on the last part only (the engine would drop the others)
    try:  # the engine's own reading also refuses weeks mixed with days and fractions before the last part
        TimerEventDefinition.parse_iso_duration(value.upper())
    except Exception:
        return None
    return value.upper()


def _date(value: str) -> str | None:
    if not _DATE.fullmatch(value):
        return None
    try:
        moment = datetime.fromisoformat(value.upper().replace(",", "."))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=OFFICE_TZ)).isoformat()


def _cycle(value: str) -> str | None:
    parts = value.split("/")
    repeat = _REPEAT.fullmatch(parts[0])
    if repeat is None or len(parts) not in (2, 3) or repeat.group(1) in ("0", "00"):
        return None
    rest = [_duration(p) or _date(p) for p in parts[1:]]
    durations = [p for p in rest if p is not None and p.startswith("P")]
    if None in rest or len(durations) != 1 or _interval_seconds(durations[0]) <= 0:
        return None  # one interval, at most one start or end; a zero interval would fire without end
    return "/".join([parts[0].upper(), *(p for p in rest if p is not None)])


def _interval_seconds(duration: str) -> float:
    parsed = TimerEventDefinition.parse_iso_duration(duration)
    return float(TimerEventDefinition.get_timedelta_from_start(parsed, _EPOCH).total_seconds())


def _short(value: str, limit: int = 80) -> str:
    text = " ".join(value.split())
    return f"“{text}”" if len(text) <= limit else f"“{text[: limit - 1]}…”"
