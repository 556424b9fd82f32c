"""The engine's and the upload guard's English refusals, said again as problems in words an analyst uses.

Rules before parsing catch most of these first; this table covers what only the parser sees. Anything it does not
know becomes a general problem whose detail is cleaned of class names, object addresses and namespaces.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from lxml import etree

from processes.engine.validation.problems import N_
from processes.engine.validation.problems import Problem
from processes.engine.validation.problems import at
from processes.engine.xmltext import EncodingRefused
from processes.errors import DefinitionInvalid

REEXPORT = N_("用建模工具重新导出")
# (pattern of the English message, code, message, what to do); named groups become parameters
KNOWN: list[tuple[re.Pattern[str], str, str, str]] = [(re.compile(p, re.S), c, m, h) for p, c, m, h in (
    (r"file is larger than (?P<mb>\d+) MB", "upload.size",
     N_("文件超过 %(mb)s MB"), N_("拆分图，或删掉图中嵌入的大段内容")),
    (r"bundle larger than (?P<mb>\d+) MB", "upload.size",
     N_("整个包超过 %(mb)s MB"), N_("把包拆小，或删掉不需要的文件")),
    (r"DOCTYPE|entity declarations", "upload.doctype", N_("文件含有 DOCTYPE 或实体声明，出于安全原因拒绝"),
     N_("删除 <!DOCTYPE …> 和 <!ENTITY …> 声明；建模工具导出的 BPMN 不需要它们")),
    (r"XInclude", "upload.xinclude", N_("文件含有 XInclude，出于安全原因拒绝"), N_("删除 xi:include 元素")),
    (r"more than (?P<count>\d+) XML elements", "upload.elements", N_("文件的 XML 元素超过 %(count)s 个"),
     N_("拆分图；正常的图只有几百个元素")),
    (r"has (?P<count>\d+) attributes; the limit is (?P<limit>\d+)", "upload.attributes",
     N_("一个元素有 %(count)s 个属性，上限是 %(limit)s"), REEXPORT),
    (r"unpaired surrogate|not UTF-8|not valid Unicode", "upload.encoding", N_("文件不是 UTF-8 文本"),
     N_("以 UTF-8 编码保存后重新上传")),
    (r"malformed XML.*?line (?P<line>\d+)", "upload.malformed",
     N_("XML 格式错误（第 %(line)s 行附近），文件可能已损坏或不是 XML"),
     N_("用建模工具重新导出；不要手工编辑")),
    (r"malformed XML", "upload.malformed",
     N_("XML 格式错误，文件可能已损坏、为空或不是 XML"), N_("用建模工具重新导出；不要手工编辑")),
    (r"not a BPMN 2\.0 document", "upload.not_bpmn", N_("这不是 BPMN 2.0 文件"),
     N_("从建模工具导出为 BPMN 2.0 XML（.bpmn）")),
    (r"not a DMN document", "upload.not_dmn", N_("这不是 DMN 决策表文件"), N_("从建模工具导出为 DMN 1.x XML（.dmn）")),
    (r"contains no \.bpmn file", "bundle.empty", N_("包里没有 .bpmn 文件"), N_("把流程图（.bpmn）放进这个文件夹")),
    (r"form schema too large", "form.size", N_("表单定义太大"), N_("精简表单字段")),
    (r"form schema is not valid JSON: (?P<detail>.*) at line (?P<line>\d+)", "form.json",
     N_("表单定义不是合法的 JSON（第 %(line)s 行）"), N_("修正 JSON 语法，如缺少逗号或引号")),
    (r"form schema must be a JSON object", "form.object", N_("表单定义必须是一个 JSON 对象"),
     N_("用 { … } 包住表单定义")),
    (r"form schema '(?P<form>[^']*)' is not in the bundle", "form.missing", N_("表单 %(form)s 不在这个包里"),
     N_("把表单文件放进 forms/ 文件夹，或改正 formJsonSchemaFilename")),
    (r"unknown service operator '(?P<operator>[^']*)'", "service.unknown_operator",
     N_("处理程序 “%(operator)s” 不存在"),
     N_("改成已有的处理程序之一")),
    (r"cardinality (?P<count>\d+) is over the limit of (?P<limit>\d+)", "loop.cardinality",
     N_("多实例次数 %(count)s 超过上限 %(limit)s"), N_("减少次数，或改用子流程分批处理")),
    (r"(script or expression|completion condition) rejected: .*syntax", "script.syntax",
     N_("脚本或条件不是合法的 Python 表达式"), N_("检查括号、引号和运算符；条件写成如 verdict == 'approve'")),
    (r"(script or expression|completion condition) rejected", "script.sandbox",
     N_("脚本或条件用了安全沙箱禁止的写法"),
     N_("只使用流程变量、常用运算和允许的函数；不能 import，不能访问以 _ 开头的名字")),
    (r"called process is missing|The process '(?P<called>[^']*)' was not found", "call.missing",
     N_("被调用的流程不在这个包里"), N_("把定义它的 .bpmn 文件放进同一个文件夹，或改正 calledElement")),
    (r"Multiple outgoing flows", "flow.implicit_split", N_("这个元素有多条流出的顺序流，本系统只在网关处分支"),
     N_("在它后面加一个并行网关或排他网关")),
    (r"no support implemented for this task type|Unsupported Catch Event", "element.unsupported",
     N_("本系统不支持这种元素"), N_("改用用户任务、脚本任务、服务任务或受支持的事件")),
    (r"Time Specification|Unknown Time", "timer.empty", N_("定时器的时间设定无法读取"),
     N_("填写期限（如 PT2H、P3D）、日期（2030-01-01T09:00:00+08:00）或周期（R3/PT1H）")),
    (r"Service Task must have an operator", "service.no_operator", N_("服务任务没有指定处理程序"),
     N_("在 extensionElements 里加 spiffworkflow:serviceTaskOperator")),
    (r"without condition", "flow.no_condition", N_("网关的流出顺序流既没有条件也不是默认流"),
     N_("给它写一个条件，或把它设为网关的默认流")),
    (r"we found two items|Could not find a task", "flow.dangling", N_("顺序流连到了不存在的元素"),
     N_("在建模工具中把这条顺序流重新连到元素上")),
    (r"Cannot resolve data(Input|Output)Association", "data.unknown", N_("数据关联指向无法识别的数据对象或数据存储"),
     N_("删除这条数据关联，或把它连到同一流程里的数据对象上")),
    (r"No DMN Diagram available", "element.business_rule", N_("业务规则任务引用的 DMN 决策表不在包里"),
     N_("把 .dmn 文件放进同一个包，并核对 calledDecisionId")),
    (r"multiinstance task must specify", "loop.multi_instance", N_("多实例任务必须恰好指定“次数”或“输入集合”之一"),
     N_("设置 loopCardinality 或 loopDataInputRef")),
    (r"loopMaximum or loopCondition", "loop.unbounded", N_("循环任务既没有最大次数也没有循环条件"),
     N_("设置 loopMaximum 或 loopCondition")),
    (r"No start event found", "process.no_start", N_("流程没有开始事件"), N_("在流程开头加一个开始事件")),
    (r"is not executable", "process.not_executable", N_("流程没有标记为可执行"),
     N_("在建模工具中勾选“可执行”（Executable）")),
    (r"Duplicate process ID: (?P<id>\S+)", "process.duplicate", N_("流程 id %(id)s 在包里出现了两次"),
     N_("给其中一个流程换一个 id")),
    (r"SubWorkflow", "subprocess.shape", N_("子流程需要恰好一个开始事件和至少一个结束事件"),
     N_("在子流程里补上开始事件和结束事件")),
    (r"Cancel Events may only be used with transactions", "element.cancel", N_("取消事件只能用在事务子流程上"),
     N_("把子流程改成事务（transaction），或改用错误事件")),
    (r"Ad hoc subprocesses may not contain start or end", "element.adhoc", N_("自由子流程里不能有开始或结束事件"),
     N_("删除自由子流程里的开始和结束事件")),
    (r"unexpected keyword argument 'node'|Expected an? (Message|Signal|Error|Escalation)", "ref.unknown",
     N_("引用的消息、信号、错误或升级事件在文件中没有定义"), N_("在建模工具中为它选择一个已定义的项")),
    (r"[Cc]orrelation", "message.correlation", N_("消息关联（correlation）定义不完整"),
     N_("为每个关联属性写上取值表达式并指定消息")),
    (r"bundle\.toml", "bundle.manifest", N_("bundle.toml 无效"), N_("include 只能列出与本包并列的文件夹")),
)]
_CLASS = re.compile(r"\b[A-Za-z_]+(?:Error|Exception|Warning)\b:?\s*|<[^>]*\bat 0x[0-9a-f]+>|\{https?://[^}]*\}|0x[0-9a-f]+")


def from_exception(exc: Exception, roots: Mapping[str, etree._Element], default_file: str = "") -> Problem:
    """Turn a refusal of the parser, the sandbox checks or the upload guard into one problem."""
    file = getattr(exc, "file", None) or getattr(exc, "file_name", None) or default_file
    if isinstance(exc, EncodingRefused):  # it knows its own problem, with the line and the encoding named
        return exc.problem(file)
    element_id = _element_id(exc)
    if not file and element_id:  # the sandbox checks name the element only: find its file
        file = next((name for name, root in roots.items() if _find(root, element_id) is not None), "")
    element = _find(roots.get(file), element_id) if element_id else None
    raw = _message(exc)
    for pattern, code, message, hint in KNOWN:
        found = pattern.search(raw)
        if found:
            params = {k: clean(v) for k, v in found.groupdict().items() if v is not None}
            problem = replace(at(element, "error", code, message, hint, file=file), params=params)
            return _with_id(problem, element_id)
    detail = clean(raw)
    problem = at(element, "error", "engine.other", N_("流程引擎无法读取这个元素：%(detail)s"),
                 N_("用建模工具重新导出；如仍不行，把文件和这条消息交给系统管理员"), file=file, detail=detail or "-")
    return _with_id(problem, element_id)


def clean(text: str) -> str:
    """Remove class names, object addresses and XML namespaces from an engine message."""
    return " ".join(_CLASS.sub("", text).replace("()", "").split()).strip(" .:")


def _message(exc: Exception) -> str:
    text = str(exc)
    if isinstance(exc, DefinitionInvalid):  # drop the "file x, element y: " prefix the error adds
        where = ", ".join(p for p in (f"file {exc.file}" if exc.file else "",
                                      f"element {exc.element}" if exc.element else "") if p)
        if where and text.startswith(where + ": "):
            text = text[len(where) + 2:]
    return text


def _element_id(exc: Exception) -> str:
    element = getattr(exc, "element", None) or getattr(exc, "id", None) or ""
    return str(element).split()[-1] if str(element).strip() else ""


def _find(root: etree._Element | None, element_id: str) -> etree._Element | None:
    if root is None:
        return None
    return next((el for el in root.iter() if isinstance(el.tag, str) and el.get("id") == element_id), None)


def _with_id(problem: Problem, element_id: str) -> Problem:
    if problem.element_id or not element_id:
        return problem
    return replace(problem, element_id=element_id)
