"""Element rules (元素): kinds this runtime cannot run, and tasks missing what they need to run."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping

from lxml import etree

from processes.engine.validation.model import bpmn
from processes.engine.validation.problems import N_
from processes.engine.validation.problems import Problem
from processes.engine.validation.problems import at
from processes.engine.validation.timer_values import timer_value_problems

PYTHON = {"", "python", "text/python", "text/x-python", "application/x-python", "py", "python3"}
MAX_LISTED = 8


def element_problems(root: etree._Element, *, file: str, operators: Iterable[str]) -> list[Problem]:
    """Check element kinds, service and script tasks, timers, loops and subprocess shapes."""
    problems = [at(el, "error", "element.unsupported", N_("本系统不支持复杂网关（complexGateway）"),
                   N_("改用排他网关、包容网关或并行网关"), file=file) for el in bpmn(root, ".//bpmn:complexGateway")]
    problems += _services(root, file, sorted(operators))
    problems += _scripts(root, file)
    problems += _timers(root, file)
    problems += timer_value_problems(root, file=file)
    problems += _loops(root, file)
    problems += _subprocesses(root, file)
    problems += [at(el, "error", "element.business_rule", N_("业务规则任务没有指定 DMN 决策表"),
                    N_("加 spiffworkflow:calledDecisionId 并把 .dmn 文件放进同一个包"), file=file)
                 for el in bpmn(root, ".//bpmn:businessRuleTask")
                 if not bpmn(el, "./bpmn:extensionElements/spiffworkflow:calledDecisionId")]
    return problems


def _services(root: etree._Element, file: str, operators: list[str]) -> list[Problem]:
    known = "、".join(operators[:MAX_LISTED]) + (" …" if len(operators) > MAX_LISTED else "")
    problems = []
    for task in bpmn(root, ".//bpmn:serviceTask"):
        operator = bpmn(task, "./bpmn:extensionElements/spiffworkflow:serviceTaskOperator")
        if not operator:
            problems.append(at(task, "error", "service.no_operator",
                               N_("服务任务没有指定处理程序，本系统不知道它该做什么"),
                               N_("在 extensionElements 里加 spiffworkflow:serviceTaskOperator，"
                                  "选一个处理程序：%(known)s"),
                               file=file, known=known or "-"))
        elif operator[0].get("id") not in operators:
            problems.append(at(task, "error", "service.unknown_operator", N_("处理程序 “%(operator)s” 不存在"),
                               N_("改成已有的处理程序之一：%(known)s"), file=file, operator=operator[0].get("id") or "",
                               known=known or "-"))
    return problems


def _scripts(root: etree._Element, file: str) -> list[Problem]:
    problems = []
    for task in bpmn(root, ".//bpmn:scriptTask"):
        language = (task.get("scriptFormat") or "").strip().casefold()
        script = bpmn(task, "./bpmn:script")
        if language not in PYTHON:
            problems.append(at(task, "error", "script.language",
                               N_("脚本语言 %(language)s 不受支持：本系统只运行受限的 Python"),
                               N_("把脚本改写成 Python（如 status = 'closed'），scriptFormat 设为 python 或删除"),
                               file=file, language=task.get("scriptFormat") or ""))
        elif not script or not (script[0].text or "").strip():
            problems.append(at(task, "warning", "script.empty", N_("脚本任务没有脚本，运行时什么也不做"),
                               N_("写上脚本，或把它改成普通的任务"), file=file))
    return problems


def _timers(root: etree._Element, file: str) -> list[Problem]:
    problems = []
    for timer in bpmn(root, ".//bpmn:timerEventDefinition"):
        values = bpmn(timer, "./bpmn:timeDuration | ./bpmn:timeDate | ./bpmn:timeCycle")
        if not values or not (values[0].text or "").strip():
            owner = timer.getparent()
            problems.append(at(owner if owner is not None else timer, "error", "timer.empty", N_("定时器没有设定时间"),
                               N_("填写期限（如 PT2H、P3D）、日期（2030-01-01T09:00:00+08:00）或周期（R3/PT1H）"),
                               file=file))
    return problems


def _loops(root: etree._Element, file: str) -> list[Problem]:
    problems = []
    for loop in bpmn(root, ".//bpmn:standardLoopCharacteristics"):
        if loop.get("loopMaximum") is None and not bpmn(loop, "./bpmn:loopCondition"):
            problems.append(at(loop.getparent(), "error", "loop.unbounded", N_("循环任务既没有最大次数也没有循环条件"),
                               N_("设置 loopMaximum 或 loopCondition（条件成立时继续循环）"), file=file))
    for loop in bpmn(root, ".//bpmn:multiInstanceLoopCharacteristics"):
        count = len(bpmn(loop, "./bpmn:loopCardinality")) + len(bpmn(loop, "./bpmn:loopDataInputRef"))
        if count != 1:
            problems.append(at(loop.getparent(), "error", "loop.multi_instance",
                               N_("多实例任务必须恰好指定“次数”或“输入集合”之一"),
                               N_("设置 loopCardinality（如 3）或 loopDataInputRef（如 inspectors），不要两个都设"),
                               file=file))
    return problems


def _subprocesses(root: etree._Element, file: str) -> list[Problem]:
    problems = []
    for process in bpmn(root, "./bpmn:process[not(@isExecutable='false')]"):
        if not bpmn(process, "./bpmn:startEvent"):
            problems.append(at(process, "error", "process.no_start", N_("流程没有开始事件"),
                               N_("在流程开头加一个开始事件"), file=file))
    for sub in bpmn(root, ".//bpmn:subProcess | .//bpmn:transaction"):
        starts, ends = bpmn(sub, "./bpmn:startEvent"), bpmn(sub, "./bpmn:endEvent")
        if len(starts) != 1 or not ends:
            problems.append(at(sub, "error", "subprocess.shape",
                               N_("子流程需要恰好一个开始事件和至少一个结束事件"
                                  "（现有 %(starts)s 个开始、%(ends)s 个结束）"),
                               N_("在子流程里补上开始事件和结束事件"), file=file, starts=len(starts), ends=len(ends)))
    return problems


def call_problems(roots: Mapping[str, etree._Element]) -> list[Problem]:
    """Every call activity must call a process of the bundle."""
    processes = {str(p.get("id")) for root in roots.values() for p in bpmn(root, "./bpmn:process")}
    problems = []
    for file, root in roots.items():
        for call in bpmn(root, ".//bpmn:callActivity"):
            called = call.get("calledElement")
            if not called:
                problems.append(at(call, "error", "call.none", N_("调用活动没有指定被调用的流程"),
                                   N_("设置 calledElement 为包内某个流程的 id"), file=file))
            elif called not in processes:
                problems.append(at(call, "error", "call.missing", N_("被调用的流程 %(called)s 不在这个包里"),
                                   N_("把定义它的 .bpmn 文件放进同一个文件夹，或改正 calledElement"), file=file,
                                   called=called))
    return problems
