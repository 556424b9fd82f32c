"""What `hotline validate` and `hotline deploy` read and print: bundles from files or folders, problem lines."""

from __future__ import annotations

import functools
from collections.abc import Callable
from collections.abc import Iterable
from pathlib import Path

import click
from babel.messages.pofile import read_po

from processes.engine.validation.check import Report
from processes.engine.validation.engine_errors import from_exception
from processes.engine.validation.problems import Problem
from processes.engine.xmltext import MAX_XML_BYTES
from processes.engine.xmltext import EncodingRefused
from processes.engine.xmltext import decode_diagram
from processes.errors import DefinitionInvalid
from processes.runtime import definitions
from webapp.i18n import SOURCE

DIAGRAM_SUFFIXES = (".bpmn", ".xml")  # some tools export BPMN 2.0 XML as .xml


@functools.cache
def _english() -> dict[str, str]:
    with (SOURCE / "en" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return {str(m.id): str(m.string) for m in read_po(handle) if m.id and m.string}


def translator(lang: str) -> Callable[[str], str]:
    """Return the function that puts a marked Chinese text into the language asked for."""
    if lang == "en":
        english = _english()
        return lambda text: english.get(text, text)
    return lambda text: text


def read_input(path: Path) -> tuple[dict[str, str], list[Problem]]:
    """Read one bundle: a folder (its .bpmn, .dmn and forms), or one diagram file on its own."""
    if path.is_dir():
        try:
            return definitions.read_bundle_dir(path), []
        except DefinitionInvalid as exc:
            return {}, [_problem(exc)]
    if path.suffix not in DIAGRAM_SUFFIXES:
        raise click.UsageError(f"{path}: give a .bpmn file or a bundle folder")
    name = path.with_suffix(".bpmn").name
    with path.open("rb") as handle:
        raw = handle.read(MAX_XML_BYTES + 1)  # a huge file is refused by its size, not read whole
    try:
        return {name: decode_diagram(raw, name)}, []
    except DefinitionInvalid as exc:
        return {}, [_problem(exc)]


def _problem(exc: DefinitionInvalid) -> Problem:
    """Say a refused read as a problem: an encoding refusal in its own words, the rest as the engine's."""
    return exc.problem() if isinstance(exc, EncodingRefused) else from_exception(exc, {})


def report_lines(base: Path, report: Report, translate: Callable[[str], str]) -> Iterable[str]:
    """Yield one line per problem, `file:line: 错误 [id 名称] message — what to do`, with the path as given."""
    for problem in report.problems:
        shown = base if base.is_file() else base / problem.file if problem.file else base
        yield problem.one_line(translate).replace(problem.where(), _where(shown, problem), 1)


def _where(path: Path, problem: Problem) -> str:
    return f"{path}:{problem.line}" if problem.line else str(path)


def summary(base: Path, report: Report) -> str:
    """Return the closing line of one bundle (English, as every `hotline` status line): ok, or the counts."""
    warnings = len(report.warnings)
    if report.ok and report.parsed is not None:
        called = len(report.parsed.subprocess_specs)
        return f"{base}: ok (process {report.parsed.process_id}, {called} called, {warnings} warnings)"
    return f"{base}: refused ({len(report.errors)} errors, {warnings} warnings)"
