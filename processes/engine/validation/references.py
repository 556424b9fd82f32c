"""References between elements (引用): messages, signals, errors, escalations and data stores.

SpiffWorkflow looks a `messageRef` up by exact id in the same file and fails with a TypeError of its own when it is
missing (its `raise_validation_exception` takes no `node`), so these are checked before it parses. `tolerate`
repairs what real modelers write and the engine would trip on: `tns:Message_1` for `Message_1`, and data stores,
which this runtime does not keep (they are dropped with a warning).
"""

from __future__ import annotations

import re

from lxml import etree

from processes.engine.validation.model import CONTAINERS
from processes.engine.validation.model import bpmn
from processes.engine.validation.model import spiff_property
from processes.engine.validation.problems import N_
from processes.engine.validation.problems import Problem
from processes.engine.validation.problems import at
from processes.engine.validation.problems import local_name

# event definition → (attribute, referenced element)
REFERENCES = {
    "messageEventDefinition": ("messageRef", "message"),
    "receiveTask": ("messageRef", "message"),
    "sendTask": ("messageRef", "message"),
    "signalEventDefinition": ("signalRef", "signal"),
    "errorEventDefinition": ("errorRef", "error"),
    "escalationEventDefinition": ("escalationRef", "escalation"),
}
KIND_WORDS = {
    "message": N_("消息定义"), "signal": N_("信号定义"), "error": N_("错误定义"), "escalation": N_("升级定义"),
}


def _referrers(root: etree._Element) -> list[tuple[etree._Element, str, str]]:
    found = []
    for tag, (attribute, kind) in REFERENCES.items():
        for element in bpmn(root, f".//bpmn:{tag}"):
            found.append((element, attribute, kind))
    return found


def _defined(root: etree._Element, kind: str) -> set[str]:
    return {str(e.get("id")) for e in bpmn(root, f".//bpmn:{kind}") if e.get("id")}


def tolerate(root: etree._Element) -> None:
    """Repair prefixed references and drop data stores, in place, before the engine parses the document."""
    for element, attribute, kind in _referrers(root):
        ref = element.get(attribute)
        if ref and ":" in ref and ref not in _defined(root, kind) and ref.split(":", 1)[1] in _defined(root, kind):
            element.set(attribute, ref.split(":", 1)[1])
    stores = {str(e.get("id")) for e in bpmn(root, ".//bpmn:dataStoreReference | .//bpmn:dataStore")}
    for association in bpmn(root, ".//bpmn:dataInputAssociation | .//bpmn:dataOutputAssociation"):
        ends = {(e.text or "").strip() for e in bpmn(association, "./bpmn:sourceRef | ./bpmn:targetRef")}
        if ends & stores:
            _remove(association)
    for store in bpmn(root, ".//bpmn:dataStoreReference | .//bpmn:dataStore"):
        _remove(store)


def _remove(element: etree._Element) -> None:
    parent = element.getparent()
    if parent is not None:
        parent.remove(element)


def unresolved(root: etree._Element) -> list[tuple[etree._Element, str, str]]:
    """Return (element, kind, ref) for each message, signal, error or escalation reference that names nothing."""
    missing = []
    for element, attribute, kind in _referrers(root):
        ref = element.get(attribute)
        if ref is None:
            if kind == "message":  # a message event without a message can never be matched
                missing.append((element, kind, ""))
        elif ref not in _defined(root, kind) and ref.split(":", 1)[-1] not in _defined(root, kind):
            missing.append((element, kind, ref))
    return missing


def reference_problems(root: etree._Element, *, file: str) -> list[Problem]:
    """Errors for references to nothing, warnings for data stores."""
    problems = []
    for element, kind, ref in unresolved(root):
        owner = _owner(element)
        if ref:
            problems.append(at(owner, "error", "ref.unknown", N_("引用的%(kind)s “%(ref)s” 在文件中不存在"),
                               N_("在建模工具中为它选择一个已有的%(kind)s，或在文件中添加它"), file=file,
                               kind=KIND_WORDS[kind], ref=ref, terms=("kind",)))
        else:
            problems.append(at(owner, "error", "ref.no_message", N_("这个消息事件没有指定消息，永远收不到也发不出"),
                               N_("在建模工具中为它选择或新建一个消息（messageRef）"), file=file))
    problems += _data_problems(root, file)
    return problems


def _data_problems(root: etree._Element, file: str) -> list[Problem]:
    problems = []
    for store in bpmn(root, ".//bpmn:dataStoreReference"):
        problems.append(at(store, "warning", "data.store", N_("数据存储不会被本系统保存，流程运行时会忽略它"),
                           N_("需要保留的数据请放进表单字段或流程变量"), file=file))
    known = {str(e.get("id")) for e in root.iter() if isinstance(e.tag, str) and e.get("id")}
    for ref in bpmn(root, ".//bpmn:dataInputAssociation/bpmn:sourceRef | .//bpmn:dataOutputAssociation/bpmn:targetRef"):
        if (ref.text or "").strip() not in known:
            association = ref.getparent()
            problems.append(at(_owner(association) if association is not None else None, "error", "data.unknown",
                               N_("数据关联指向不存在的数据对象 “%(ref)s”"),
                               N_("删除这条数据关联，或把它连到一个数据对象上"),
                               file=file, ref=(ref.text or "").strip()))
    problems += _outputs_written(root, file)
    objects = {str(e.get("id")): e for e in bpmn(root, ".//bpmn:dataObject")}
    for reference in bpmn(root, ".//bpmn:dataObjectReference"):
        target = objects.get(str(reference.get("dataObjectRef")))
        # SpiffWorkflow looks a data object up in the reference's own process and its parent only (and loops
        # for ever when it is further away)
        if target is None or target.getparent() not in _containers_of(reference)[:2]:
            problems.append(at(reference, "error", "data.object", N_("数据对象引用没有指向任何数据对象"),
                               N_("在建模工具中重新放置这个数据对象"), file=file))
    return problems


def _outputs_written(root: etree._Element, file: str) -> list[Problem]:
    """A data output association copies the task's variable named like the data object's id into it.

    SpiffWorkflow stops the case with an error when the task did not write that variable, so a task must
    visibly write it: a form (which must have the field), a script assigning it, or a service result.
    """
    objects = {str(r.get("id")): str(r.get("dataObjectRef")) for r in bpmn(root, ".//bpmn:dataObjectReference")}
    problems = []
    for target in bpmn(root, ".//bpmn:dataOutputAssociation/bpmn:targetRef"):
        variable = objects.get((target.text or "").strip())
        association = target.getparent()
        task = association.getparent() if association is not None else None
        if variable is None or task is None or _writes(task, variable):
            continue
        problems.append(at(task, "error", "data.output",
                           N_("这一步完成时要把变量 %(variable)s 写入数据对象，但它不会产生这个变量，流程会出错"),
                           N_("在表单里加字段 %(variable)s 或用脚本给它赋值；不需要时删掉这条数据关联"), file=file,
                           variable=variable))
    return problems


def _writes(task: etree._Element, variable: str) -> bool:
    if spiff_property(task, "formJsonSchemaFilename"):
        return True  # the form decides; a missing field is the form's problem
    scripts = " ".join(e.text or "" for e in bpmn(task, "./bpmn:script | .//spiffworkflow:postScript"))
    if re.search(rf"(?<![\w.]){re.escape(variable)}\s*=(?!=)", scripts):
        return True
    return any(op.get("resultVariable") == variable for op in bpmn(task, ".//spiffworkflow:serviceTaskOperator"))


def _containers_of(element: etree._Element) -> list[etree._Element]:
    return [a for a in element.iterancestors() if local_name(a) in CONTAINERS]


def _owner(element: etree._Element) -> etree._Element:
    """Return the flow element an event definition or association belongs to (its id, name and line)."""
    parent = element.getparent()
    if local_name(element).endswith(("EventDefinition", "Association")) and parent is not None:
        return parent
    return element

