"""Sequence-flow rules (顺序流): dangling references, branches without a gateway, conditions and defaults."""

from __future__ import annotations

from lxml import etree

from processes.engine.validation.model import GATEWAYS
from processes.engine.validation.model import bpmn
from processes.engine.validation.model import by_id
from processes.engine.validation.model import containers
from processes.engine.validation.model import flow_nodes
from processes.engine.validation.problems import N_
from processes.engine.validation.problems import Problem
from processes.engine.validation.problems import at
from processes.engine.validation.problems import local_name

BRANCHING = frozenset({*GATEWAYS, "startEvent"})  # SpiffWorkflow follows several outgoing flows only from these
CONDITIONAL = frozenset({"exclusiveGateway", "inclusiveGateway"})


def flow_problems(root: etree._Element, *, file: str) -> list[Problem]:
    """Check every process and subprocess's sequence flows."""
    ids = by_id(root)
    problems: list[Problem] = []
    for container in containers(root):
        flows = bpmn(container, "./bpmn:sequenceFlow")
        problems += _dangling(flows, ids, file)
        outgoing: dict[str, list[etree._Element]] = {}
        for flow in flows:
            outgoing.setdefault(str(flow.get("sourceRef") or ""), []).append(flow)
        for node in flow_nodes(container):
            mine = outgoing.get(str(node.get("id")), [])
            problems += _branches(node, mine, file)
    return problems


def _dangling(flows: list[etree._Element], ids: dict[str, etree._Element], file: str) -> list[Problem]:
    problems = []
    for flow in flows:
        for end, word in (("sourceRef", N_("起点")), ("targetRef", N_("终点"))):
            ref = flow.get(end)
            if ref and ref not in ids:
                problems.append(at(flow, "error", "flow.dangling", N_("顺序流的%(end)s “%(ref)s” 在文件中不存在"),
                                   N_("在建模工具中把这条顺序流重新连到元素上"), file=file, end=word, ref=ref,
                                   terms=("end",)))
    return problems


def _branches(node: etree._Element, outgoing: list[etree._Element], file: str) -> list[Problem]:
    kind = local_name(node)
    if len(outgoing) > 1 and kind not in BRANCHING:
        return [at(node, "error", "flow.implicit_split",
                   N_("这个元素有 %(count)s 条流出的顺序流，本系统不会同时或按条件走它们"),
                   N_("在它后面加一个网关：并行网关（同时走各条）或排他网关（按条件走一条）"), file=file,
                   count=len(outgoing))]
    problems = []
    default = node.get("default")
    for flow in outgoing:
        has_condition = bool(bpmn(flow, "./bpmn:conditionExpression"))
        if flow.get("id") == default and has_condition:
            problems.append(at(flow, "warning", "flow.default_condition",
                               N_("默认流上的条件不会被计算：其他条件都不成立时才走默认流"),
                               N_("删除这条默认流上的条件，或取消它的默认流标记"), file=file))
        elif kind in CONDITIONAL and len(outgoing) > 1 and not has_condition and flow.get("id") != default:
            problems.append(at(flow, "error", "flow.no_condition",
                               N_("网关 %(gateway)s 的这条流出顺序流既没有条件也不是默认流"),
                               N_("给它写一个条件（如 verdict == 'approve'），或把它设为网关的默认流"), file=file,
                               gateway=node.get("name") or node.get("id") or "?"))
    if default and default not in {f.get("id") for f in outgoing}:
        problems.append(at(node, "error", "flow.default_missing", N_("默认流 %(flow)s 不是这个元素流出的顺序流"),
                           N_("在建模工具中重新选择默认流"), file=file, flow=default))
    return problems
