"""Parse, lint and serialize a BPMN bundle (.bpmn, .dmn, form schemas) into a reusable spec."""

from __future__ import annotations

import json
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser import VALIDATOR
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG

from processes.engine.script_compiler import compile_checked
from processes.engine.script_engine import MAX_CARDINALITY
from processes.engine.script_environment import constant_value
from processes.engine.timer_values import TimerValueError
from processes.engine.timer_values import check as check_timer
from processes.engine.timer_values import timer_definitions
from processes.engine.timer_values import timer_kind
from processes.engine.validation import references
from processes.engine.xmlsafe import BPMN_NS
from processes.engine.xmlsafe import parse_bpmn
from processes.engine.xmlsafe import parse_dmn
from processes.errors import DefinitionInvalid
from processes.errors import ScriptRejected

MAX_BUNDLE_BYTES = 20 * 1024 * 1024
MAX_FORM_BYTES = 512 * 1024
NS = {"bpmn": BPMN_NS}
SPEC_REGISTRY = BpmnWorkflowSerializer.configure(DEFAULT_CONFIG)


@dataclass
class ParsedBundle:
    """The result of a successful parse: the top process and everything it calls."""

    process_id: str
    name: str
    spec: Any
    subprocess_specs: dict[str, Any]


def parse_bundle(files: Mapping[str, str], *, process_id: str | None, operators: Iterable[str]) -> ParsedBundle:
    """Parse and check a bundle; raise DefinitionInvalid naming the file, element and problem."""
    if sum(_utf8_size(text) for text in files.values()) > MAX_BUNDLE_BYTES:
        raise DefinitionInvalid(f"bundle larger than {MAX_BUNDLE_BYTES // (1024 * 1024)} MB")
    forms = _check_forms(files)
    parser = SpiffBpmnParser(validator=VALIDATOR)
    roots: list[tuple[str, etree._Element]] = []
    for name in sorted(files):
        if name.endswith(".bpmn"):
            roots.append((name, _add_bpmn(parser, name, files[name])))
        elif name.endswith(".dmn"):
            _add_dmn(parser, name, files[name])
    if not roots:
        raise DefinitionInvalid("bundle contains no .bpmn file")
    top = process_id or _top_process(parser, roots)
    try:
        spec = parser.get_spec(top)
        subprocess_specs = parser.get_subprocess_specs(top)
    except ValidationException as exc:
        raise _invalid(exc) from exc
    except SpiffWorkflowException as exc:
        raise DefinitionInvalid(str(exc)) from exc
    for one in [spec, *subprocess_specs.values()]:
        if one is None:
            raise DefinitionInvalid(f"process {top}: a called process is missing from the bundle")
        _check_specs(one, set(operators), forms)
    return ParsedBundle(top, spec.description or top, spec, subprocess_specs)


def _add_bpmn(parser: SpiffBpmnParser, name: str, text: str) -> etree._Element:
    root = parse_bpmn(text, filename=name)
    references.tolerate(root)  # `tns:Message_1` for `Message_1`; data stores dropped (the validator warns)
    for element, kind, ref in references.unresolved(root):
        # before the parser: SpiffWorkflow fails with a TypeError of its own on these
        parent = element.getparent()
        element_id = element.get("id") or (parent.get("id") if parent is not None else None)
        raise DefinitionInvalid(f"{kind} reference {ref!r} names no {kind} in the file" if ref
                                else "message event without a message", file=name, element=element_id)
    try:
        parser.add_bpmn_xml(root, filename=name)
    except ValidationException as exc:
        raise _invalid(exc, name) from exc
    except (SpiffWorkflowException, etree.LxmlError, ValueError, KeyError, AttributeError, TypeError) as exc:
        raise DefinitionInvalid(f"cannot parse: {exc}", file=name) from exc
    return root


def _add_dmn(parser: SpiffBpmnParser, name: str, text: str) -> None:
    root = parse_dmn(text, filename=name)
    try:
        parser.add_dmn_xml(root, filename=name)
    except (SpiffWorkflowException, ValueError, KeyError, AttributeError) as exc:
        raise DefinitionInvalid(f"cannot parse decision table: {exc}", file=name) from exc


def _invalid(exc: ValidationException, file: str | None = None) -> DefinitionInvalid:
    element = " ".join(p for p in (getattr(exc, "tag", ""), getattr(exc, "id", "")) if p) or None
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return DefinitionInvalid(message, file=getattr(exc, "file_name", "") or file, element=element)


def _check_forms(files: Mapping[str, str]) -> set[str]:
    forms: set[str] = set()
    for name, text in files.items():
        if not name.endswith(".json"):
            continue
        if _utf8_size(text) > MAX_FORM_BYTES:
            raise DefinitionInvalid("form schema too large", file=name)
        try:
            schema = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DefinitionInvalid(f"form schema is not valid JSON: {exc.msg} at line {exc.lineno}",
                                    file=name) from exc
        if not isinstance(schema, dict):
            raise DefinitionInvalid("form schema must be a JSON object", file=name)
        forms.add(name.rsplit("/", 1)[-1])
    return forms


def _utf8_size(text: str) -> int:
    """Size in bytes as uploaded; unpaired surrogates are counted here and refused by the XML parser."""
    return len(text.encode("utf-8", "surrogatepass"))


def _top_process(parser: SpiffBpmnParser, roots: list[tuple[str, etree._Element]]) -> str:
    called = {el.get("calledElement") for _, root in roots for el in root.iterfind(".//bpmn:callActivity", NS)}
    candidates = [pid for pid in parser.get_process_ids() if pid not in called]
    if not candidates:
        raise DefinitionInvalid('no executable process in the bundle (a process needs isExecutable="true")')
    if len(candidates) != 1:
        raise DefinitionInvalid(
            f"cannot tell the top process: candidates {', '.join(candidates) or 'none'}; name one with "
            f"--process ID (hotline validate --process {candidates[0]} or hotline deploy --process {candidates[0]})")
    return str(candidates[0])


def _check_specs(spec: Any, operators: set[str], forms: set[str]) -> None:
    condition = getattr(spec, "completion_condition", None)  # ad hoc subprocesses
    if isinstance(condition, str) and condition:
        try:
            compile_checked(condition, "eval")
        except ScriptRejected as exc:
            raise DefinitionInvalid(f"completion condition rejected: {exc}", element=spec.name) from exc
    for task_spec in spec.task_specs.values():
        element = getattr(task_spec, "bpmn_id", None) or task_spec.name
        cardinality = getattr(task_spec, "cardinality", None)
        try:
            for source, mode in _sources(task_spec):
                compile_checked(source, mode)
            value = constant_value(cardinality) if isinstance(cardinality, str) and cardinality else None
        except ScriptRejected as exc:
            raise DefinitionInvalid(f"script or expression rejected: {exc}", element=element) from exc
        if isinstance(value, int) and value > MAX_CARDINALITY:
            raise DefinitionInvalid(f"multi-instance cardinality {value} is over the limit of {MAX_CARDINALITY}",
                                    element=element)
        for definition in timer_definitions(task_spec):
            try:
                check_timer(timer_kind(definition) or "duration", definition.expression)
            except TimerValueError as exc:
                raise DefinitionInvalid(str(exc), element=element) from exc
        operator = getattr(task_spec, "operation_name", None)
        if operator is not None and operator not in operators:
            raise DefinitionInvalid(f"unknown service operator {operator!r}", element=element)
        form = (getattr(task_spec, "extensions", None) or {}).get("properties", {}).get("formJsonSchemaFilename")
        if form and form not in forms:
            raise DefinitionInvalid(f"form schema {form!r} is not in the bundle", element=element)


def _sources(task_spec: Any) -> Iterable[tuple[str, str]]:
    """Yield every script ('exec') and expression ('eval') a task spec will run."""
    for attr in ("script", "prescript", "postscript"):
        if getattr(task_spec, attr, None):
            yield getattr(task_spec, attr), "exec"
    for condition, _ in getattr(task_spec, "cond_task_specs", None) or []:
        # Gateway conditions are wrapped in an Operator (_BpmnCondition) whose first argument is the expression.
        expression = getattr(condition, "args", (condition,))[0] if condition is not None else None
        if isinstance(expression, str) and expression:
            yield expression, "eval"
    for attr in ("condition", "cardinality"):
        value = getattr(task_spec, attr, None)
        if isinstance(value, str) and value:
            yield value, "eval"
    event = getattr(task_spec, "event_definition", None)
    for definition in getattr(event, "event_definitions", None) or [event]:
        expression = getattr(definition, "expression", None)
        if isinstance(expression, str) and expression and timer_kind(definition) is None:  # timers: check_timer
            yield expression, "eval"
        for prop in getattr(definition, "correlation_properties", None) or []:
            if isinstance(prop.retrieval_expression, str) and prop.retrieval_expression:
                yield prop.retrieval_expression, "eval"
    for param in (getattr(task_spec, "operation_params", None) or {}).values():
        yield str(param.get("value", "")), "eval"


def specs_to_json(bundle: ParsedBundle) -> str:
    """Serialize the parsed specs once per version; instances reference them and never re-parse."""
    return json.dumps({
        "spec": SPEC_REGISTRY.convert(bundle.spec),
        "subprocess_specs": {k: SPEC_REGISTRY.convert(v) for k, v in bundle.subprocess_specs.items()},
    })


def specs_from_json(text: str) -> tuple[Any, dict[str, Any]]:
    """Restore (spec, subprocess_specs) from their stored JSON."""
    data = json.loads(text)
    spec = SPEC_REGISTRY.restore(data["spec"])
    subs = {k: SPEC_REGISTRY.restore(v) for k, v in data["subprocess_specs"].items()}
    return spec, subs
