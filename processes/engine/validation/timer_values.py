"""Timer value rules (定时器的值): a literal ISO 8601 value must be valid, an expression must pass the sandbox."""

from __future__ import annotations

from lxml import etree

from processes.engine import timer_values
from processes.engine.timer_values import Kind
from processes.engine.timer_values import TimerValueError
from processes.engine.validation.model import bpmn
from processes.engine.validation.problems import N_
from processes.engine.validation.problems import Problem
from processes.engine.validation.problems import at
from processes.engine.validation.problems import local_name

KINDS: dict[str, Kind] = {"timeDuration": "duration", "timeDate": "date", "timeCycle": "cycle"}
KIND_TERMS: dict[Kind, str] = {"duration": N_("期限"), "date": N_("日期时间"), "cycle": N_("周期")}
EXPRESSION_HINT = N_("写 ISO 8601 值（如 %(examples)s），或只用流程变量和允许函数的表达式，如 handle_deadline['due']")


def timer_value_problems(root: etree._Element, *, file: str) -> list[Problem]:
    """Check every timer value of a document: ISO 8601 as written, or a sandbox-safe expression giving one."""
    problems = []
    for value in bpmn(root, ".//bpmn:timerEventDefinition/*[self::bpmn:timeDuration or self::bpmn:timeDate"
                            " or self::bpmn:timeCycle]"):
        text = (value.text or "").strip()
        if not text:
            continue  # an empty timer is the element rule's `timer.empty`
        kind = KINDS[local_name(value)]
        try:
            timer_values.check(kind, text)
        except TimerValueError as exc:
            owner = value.getparent()
            event = owner.getparent() if owner is not None else None
            problems.append(_problem(event if event is not None else value, exc, file))
    return problems


def _problem(element: etree._Element, exc: TimerValueError, file: str) -> Problem:
    kind, examples = KIND_TERMS[exc.kind], timer_values.EXAMPLES[exc.kind]
    if exc.reason == "iso":
        return at(element, "error", "timer.iso", N_("定时器的%(kind)s “%(value)s” 不是有效的 ISO 8601 写法"),
                  N_("照这样写：%(examples)s"), file=file, terms=("kind",), kind=kind, value=exc.value,
                  examples=examples)
    if exc.reason == "result":
        return at(element, "error", "timer.result",
                  N_("定时器表达式 “%(value)s” 的结果 %(result)s 不是 ISO 8601 %(kind)s"),
                  N_("照这样写：%(examples)s"), file=file, terms=("kind",), kind=kind, value=exc.value,
                  result=exc.result, examples=examples)
    return at(element, "error", "timer.expression", N_("定时器的值 “%(value)s” 既不是 ISO 8601 值，也不是允许的表达式"),
              EXPRESSION_HINT, file=file, value=exc.value, examples=examples)
