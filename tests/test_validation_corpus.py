"""Validation over tests/corpus/bpmn (diagrams in the export styles of 11 modelers): no crash, clean messages, and
every diagram it accepts deploys, starts a case and runs its first step, on SQLite and PostgreSQL.

The corpus files were written for this project in the shapes bpmn.io, Camunda Modeler 7 and 8, Signavio, Bizagi,
Visual Paradigm, Enterprise Architect, Trisotech, Flowable, Activiti and Yaoqiang export: pools and lanes, data
objects and stores, message flows, event subprocesses, boundary events, multi-instance, annotations, groups,
vendor extension elements, DI with and without labels, no DI. Their names say what each one holds.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from processes.engine.validation.check import Report
from processes.engine.validation.check import validate_bundle
from processes.runtime import commands
from processes.runtime import definitions
from processes.runtime.core import Runtime
from processes.runtime.models import HumanTask
from tests.instance_support import instance
from tests.upload_support import OPERATORS

CORPUS = Path(__file__).parent / "corpus" / "bpmn"
FILES = sorted(CORPUS.glob("*.bpmn"))
# a Python class name, an object address, a namespace, a traceback, an lxml element or a task spec's repr
RAW = re.compile(r"\b\w*(Error|Exception)\b|\b0x[0-9a-fA-F]{6,}|\{https?:|Traceback|<Element "
                 r"|[A-Z][a-z]+[A-Z]\w*Task\(")
# What each file must come to; a change here is a change of behaviour, made on purpose.
EXPECTED_REFUSED = {
    "activiti_groovy_and_class", "bizagi_two_pools", "bpmnio_message_no_ref", "bpmnio_message_unknown_ref",
    "bpmnio_not_executable", "bpmnio_two_processes", "bpmnio_xor_no_conditions", "bpmnio_xsi_type_unprefixed",
    "camunda7_script_javascript", "camunda7_service_java_class", "camunda8_zeebe_service", "ea_complex_gateway",
    "ea_duplicate_id", "ea_vendor_element", "flowable_juel_condition", "spiff_business_rule_no_dmn",
    "bizagi_data_object_unwritten",
    "spiff_call_missing", "spiff_dangling_flow", "spiff_loop_unbounded", "spiff_timer_empty",
    "trisotech_subprocess_no_start", "vp_implicit_split",
}
# The variables the corpus's conditions read, given at start as an intake form would.
START_DATA = {"decision": "accept", "needs_building": True, "reached": False, "verdict": "ok"}


def validate(path: Path) -> Report:
    """Validate one corpus file as a bundle of its own."""
    return validate_bundle({path.name: path.read_text(encoding="utf-8")}, operators=OPERATORS)


def test_the_corpus_is_large_and_varied() -> None:
    assert len(FILES) >= 40
    tools = Counter(p.stem.split("_")[0] for p in FILES)
    assert len(tools) >= 10, tools


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_validation_answers_in_words_and_never_crashes(path: Path) -> None:
    report = validate(path)
    for problem in report.problems:
        for text in (problem.one_line(), problem.text(), problem.hint_text()):
            assert not RAW.search(text), text
            assert "%(" not in text and text.strip() == text
        assert problem.file == path.name
        assert problem.severity in {"error", "warning"} and problem.message and problem.hint
    assert report.ok is (path.stem not in EXPECTED_REFUSED), [p.one_line() for p in report.errors]
    if not report.ok:
        assert report.errors  # a refusal always says why


def test_every_accepted_file_deploys_starts_and_runs_its_first_step(runtime: Runtime) -> None:
    accepted = [p for p in FILES if validate(p).ok]
    assert len(accepted) >= 20
    for path in accepted:
        key = path.stem[:64]
        with runtime.write() as session, session.begin():
            definitions.deploy(session, key, {path.name: path.read_text(encoding="utf-8")}, actor="analyst",
                               now=runtime.clock(), operators=runtime.handlers, publish=True)
        started = commands.start(runtime, key, START_DATA, actor="operator")
        assert started.status in {"running", "waiting", "completed"}, (path.stem, started.status)
        first = _first_open_task(runtime, started.instance_id)
        if first is not None:
            status = commands.complete_task(runtime, started.instance_id, first, {}, actor="operator", force=True)
            assert status in {"running", "waiting", "completed"}, (path.stem, status)
        assert instance(runtime, started.instance_id).status != "error", path.stem


def _first_open_task(rt: Runtime, instance_id: str) -> str | None:
    with rt.read() as session:
        return session.scalar(sa.select(HumanTask.id).where(
            HumanTask.instance_id == instance_id, HumanTask.status == "open").order_by(HumanTask.id).limit(1))
