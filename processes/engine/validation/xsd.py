"""BPMN 2.0 schema (XSD) errors in words: the tag without its namespace, the line, what is allowed there."""

from __future__ import annotations

import re
from collections import Counter

from lxml import etree
from SpiffWorkflow.spiff.parser import VALIDATOR

from processes.engine.validation.problems import N_
from processes.engine.validation.problems import Problem
from processes.engine.validation.problems import at
from processes.engine.validation.problems import local_name

MAX_SCHEMA_PROBLEMS = 20  # a file exported by a foreign tool can break the schema hundreds of times
_ENTRY = re.compile(r"^Element '(?P<tag>[^']+)'(?:, attribute '(?P<attr>[^']+)')?: (?P<rest>.*)$", re.S)
_NOT_EXPECTED = re.compile(r"This element is not expected\.(?: Expected is(?: one of)? \((?P<allowed>[^)]*)\))?")
_NOT_ALLOWED = re.compile(r"The attribute '(?P<attr>[^']+)' is not allowed")
_REQUIRED = re.compile(r"The attribute '(?P<attr>[^']+)' is required but missing")
_BAD_VALUE = re.compile(r"'(?P<value>[^']*)' is not a valid value of the (?:atomic|list|union) type '(?P<type>[^']+)'")
_MISSING_CHILD = re.compile(r"Missing child element\(s\)\. Expected is(?: one of)? \((?P<allowed>[^)]*)\)")
_TEXT = re.compile(r"Character content other than whitespace is not allowed")
_XSI_TYPE = re.compile(r"The QName value '(?P<value>[^']*)' of the xsi:type attribute does not resolve")
_TYPES = {
    "xs:ID": N_("以字母或下划线开头、不含空格、在文件中唯一的标识"),
    "xs:IDREF": N_("文件中已有元素的 id"),
    "xs:QName": N_("元素 id（可带命名空间前缀）"),
    "xs:boolean": N_("true 或 false"),
    "xs:integer": N_("整数"),
    "xs:anyURI": N_("网址或标识（URI）"),
}


def schema_problems(root: etree._Element, *, file: str) -> list[Problem]:
    """Check a BPMN document against the BPMN 2.0 XSD; return each violation as a readable error."""
    VALIDATOR.preprocess(root)  # as the parser does: bpmn-js writes correlation expressions the XSD refuses
    schema = VALIDATOR.validator
    if schema.validate(root):
        return []
    ids = Counter(str(el.get("id")) for el in root.iter() if isinstance(el.tag, str) and el.get("id"))
    problems = []
    for entry in list(schema.error_log)[:MAX_SCHEMA_PROBLEMS]:
        problems.append(_problem(root, entry.line, entry.message, ids, file))
    return problems


def _problem(root: etree._Element, line: int, message: str, ids: Counter[str], file: str) -> Problem:
    match = _ENTRY.match(message.strip())
    tag = _plain(match["tag"]) if match else ""
    rest = match["rest"] if match else ""
    element = _element_at(root, line, tag)
    tag = tag or "?"
    if (found := _NOT_EXPECTED.search(rest)) is not None:
        allowed = _names(found["allowed"] or "")
        if allowed:
            return at(element, "error", "xsd.unexpected", N_("元素 <%(tag)s> 不能出现在这里；这里允许：%(allowed)s"),
                      N_("删除它，或把工具自己的扩展内容移到 extensionElements 里"), allowed=allowed, file=file,
                      tag=tag)
        return at(element, "error", "xsd.unexpected", N_("元素 <%(tag)s> 不能出现在这里"),
                  N_("删除它，或把工具自己的扩展内容移到 extensionElements 里"), file=file, tag=tag)
    if (found := _NOT_ALLOWED.search(rest)) is not None:
        return at(element, "error", "xsd.attribute", N_("<%(tag)s> 不能有属性 %(attr)s"),
                  N_("删除该属性；工具自己的属性要带命名空间前缀（如 camunda:、zeebe:）"), attr=found["attr"],
                  file=file, tag=tag)
    if (found := _REQUIRED.search(rest)) is not None:
        return at(element, "error", "xsd.required", N_("<%(tag)s> 缺少必需的属性 %(attr)s"),
                  N_("在建模工具中补上该属性后重新导出"), attr=found["attr"], file=file, tag=tag)
    if (found := _BAD_VALUE.search(rest)) is not None:
        return _bad_value(element, match["attr"] if match else "", found, ids, tag, file)
    if (found := _MISSING_CHILD.search(rest)) is not None:
        return at(element, "error", "xsd.missing_child", N_("<%(tag)s> 缺少子元素：%(allowed)s"),
                  N_("在建模工具中补全该元素后重新导出"), allowed=_names(found["allowed"]), file=file, tag=tag)
    if (found := _XSI_TYPE.search(rest)) is not None:
        return at(element, "error", "xsd.xsi_type", N_("<%(tag)s> 的类型声明 xsi:type=“%(value)s” 找不到对应的类型"),
                  N_("改成带前缀的写法（如 bpmn:tFormalExpression），或删除 xsi:type"), value=found["value"], file=file,
                  tag=tag)
    if _TEXT.search(rest):
        return at(element, "error", "xsd.text", N_("<%(tag)s> 里不能直接写文字"),
                  N_("把文字移到 documentation 或 name 中"), file=file, tag=tag)
    return at(element, "error", "xsd.other", N_("<%(tag)s> 不符合 BPMN 2.0 标准格式"),
              N_("用建模工具重新导出，或对照 BPMN 2.0 规范修正该元素"), file=file, tag=tag)


def _bad_value(element: etree._Element | None, attr: str, found: re.Match[str], ids: Counter[str], tag: str,
               file: str) -> Problem:
    value, kind = found["value"], found["type"]
    if kind == "xs:ID" and ids[value] > 1:
        return at(element, "error", "xsd.duplicate_id", N_("id %(value)s 在文件中出现了 %(count)s 次"),
                  N_("每个元素的 id 必须唯一：改掉重复的 id"), value=value, count=ids[value], file=file, tag=tag)
    return at(element, "error", "xsd.value", N_("<%(tag)s> 的属性 %(attr)s 的值 “%(value)s” 不合法，应为：%(kind)s"),
              N_("改正该值后重新导出"), attr=attr or "?", value=value, kind=_TYPES.get(kind, kind), terms=("kind",),
              file=file, tag=tag)


def _plain(tag: str) -> str:
    """Return a tag without its `{namespace}`."""
    return tag.rsplit("}", 1)[-1]


def _names(allowed: str, limit: int = 10) -> str:
    names = list(dict.fromkeys(_plain(n.strip()) for n in allowed.split(",") if n.strip()))
    shown = "、".join(names[:limit])
    return shown + (" …" if len(names) > limit else "")


def _element_at(root: etree._Element, line: int, tag: str) -> etree._Element | None:
    """Return the element the schema complained about: the one with this tag on this line."""
    candidates = [el for el in root.iter() if isinstance(el.tag, str) and getattr(el, "sourceline", None) == line]
    return next((el for el in candidates if local_name(el) == tag), candidates[0] if candidates else None)
