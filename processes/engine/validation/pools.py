"""Pools and the top process (泳池与主流程): which process of a bundle runs, and what is left out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lxml import etree

from processes.engine.validation.model import bpmn
from processes.engine.validation.model import process_label
from processes.engine.validation.problems import N_
from processes.engine.validation.problems import Problem
from processes.engine.validation.problems import at

NAME_ONE = N_("用 --process 指定要运行的流程，例如 hotline validate --process %(first)s 或 hotline deploy --process "
              "%(first)s；候选：%(candidates)s")


@dataclass(frozen=True)
class TopProcess:
    """The process a bundle starts (None when it cannot be told) and the processes it could have been."""

    process_id: str | None
    candidates: tuple[tuple[str, str], ...]  # (id, name) of each executable process no call activity calls
    problems: tuple[Problem, ...]


def top_process(roots: Mapping[str, etree._Element], process_id: str | None) -> TopProcess:
    """Tell the top process: the one named, else the only executable process that nothing calls."""
    processes = [(file, p) for file, root in roots.items() for p in bpmn(root, "./bpmn:process")]
    called = {c.get("calledElement") for root in roots.values() for c in bpmn(root, ".//bpmn:callActivity")}
    runnable = [(f, p) for f, p in processes if p.get("isExecutable", "true") == "true"]
    candidates = [(f, p) for f, p in runnable if p.get("id") not in called]
    pairs = tuple((str(p.get("id")), str(p.get("name") or "")) for _, p in candidates)
    listed = "、".join(process_label(p) for _, p in candidates) or "-"
    if process_id is not None:
        if process_id in {p.get("id") for _, p in runnable}:
            return TopProcess(process_id, pairs, ())
        file = next(iter(roots), "")
        return TopProcess(None, pairs, (at(None, "error", "process.unknown", N_("文件中没有可执行的流程 %(id)s"),
                                           N_("候选：%(candidates)s"), file=file, id=process_id,
                                           candidates=listed),))
    if len(candidates) == 1:
        return TopProcess(str(candidates[0][1].get("id")), pairs, ())
    if not candidates:
        return TopProcess(None, pairs, tuple(_none_executable(processes, roots)))
    file, first = candidates[0]
    problem = at(None, "error", "process.ambiguous",
                 N_("无法确定要运行哪个流程：有 %(count)s 个可执行的流程"), NAME_ONE,
                 file=file, count=len(candidates), first=first.get("id") or "", candidates=listed)
    return TopProcess(None, pairs, (problem,))


def _none_executable(processes: list[tuple[str, etree._Element]],
                     roots: Mapping[str, etree._Element]) -> list[Problem]:
    if not processes:
        file = next(iter(roots), "")
        return [at(None, "error", "process.none", N_("文件中没有流程（process），只有图形或协作"),
                   N_("在建模工具中画一个流程（池）后重新导出"), file=file)]
    if all(p.get("isExecutable", "true") == "true" for _, p in processes):
        file, first = processes[0]
        return [at(first, "error", "process.all_called",
                   N_("每个流程都被别的流程调用，找不到主流程"), NAME_ONE, file=file,
                   first=first.get("id") or "", candidates="、".join(process_label(p) for _, p in processes))]
    return [at(p, "error", "process.not_executable", N_("流程没有标记为可执行（isExecutable=\"false\"）"),
               N_("在流程设计的属性面板（点画布或池）勾选“可执行”，或在建模工具中勾选 Executable"
                  "（isExecutable=\"true\"）"), file=file)
            for file, p in processes if p.get("isExecutable", "true") != "true"]


def pool_problems(roots: Mapping[str, etree._Element], top: str | None) -> list[Problem]:
    """Warn when a collaboration has several pools: only the top process runs, the others are ignored."""
    problems = []
    for file, root in roots.items():
        for collaboration in bpmn(root, "./bpmn:collaboration"):
            pools = bpmn(collaboration, "./bpmn:participant")
            if len(pools) < 2:
                continue
            runs = next((p for p in pools if top and p.get("processRef") == top), None)
            others = "、".join(process_label(p) for p in pools if p is not runs)
            if runs is None:
                continue  # the top process is elsewhere (another file); this file only contributes called ones
            problems.append(at(runs, "warning", "pool.several",
                               N_("协作图有 %(count)s 个池：只运行池 %(runs)s，其他池（%(others)s）会被忽略"),
                               N_("确认运行的是这个池；其他池里的步骤不会执行，它们之间的消息流也不会自动传递"),
                               file=file,
                               count=len(pools), runs=process_label(runs), others=others))
    return problems
