"""Validate a bundle as a colleague would (校验): every problem at once, errors apart from warnings.

Used by `hotline validate`, `hotline deploy` and the web modeler. The order: the upload guard per file, the BPMN
schema, the rules (references, flows, elements, roles, pools), and only when nothing so far stops the diagram from
running, the engine's own parse and sandbox checks (`parse_bundle`), whose refusals are said again in words.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field

from lxml import etree

from processes.engine.bundle import MAX_BUNDLE_BYTES
from processes.engine.bundle import ParsedBundle
from processes.engine.bundle import parse_bundle
from processes.engine.validation.elements import call_problems
from processes.engine.validation.elements import element_problems
from processes.engine.validation.engine_errors import from_exception
from processes.engine.validation.flows import flow_problems
from processes.engine.validation.pools import pool_problems
from processes.engine.validation.pools import top_process
from processes.engine.validation.problems import N_
from processes.engine.validation.problems import Problem
from processes.engine.validation.problems import at
from processes.engine.validation.references import reference_problems
from processes.engine.validation.roles import role_problems
from processes.engine.validation.xsd import schema_problems
from processes.engine.xmlsafe import parse_bpmn
from processes.engine.xmlsafe import parse_dmn
from processes.errors import DefinitionInvalid


@dataclass
class Report:
    """What validation found, and the parsed bundle when it can run."""

    problems: list[Problem] = field(default_factory=list)
    parsed: ParsedBundle | None = None
    candidates: tuple[tuple[str, str], ...] = ()  # (id, name) of the processes that could be the top one

    @property
    def errors(self) -> list[Problem]:
        """Problems that stop the diagram from running."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """Problems it can run with, but the analyst should know about."""
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when the bundle can be deployed (warnings allowed)."""
        return self.parsed is not None and not self.errors


def validate_bundle(files: Mapping[str, str], *, operators: Iterable[str], process_id: str | None = None) -> Report:
    """Check a bundle (file name → text) and return every problem; never raises for a bad diagram."""
    operators = sorted(operators)
    report = Report()
    if sum(len(text.encode("utf-8", "surrogatepass")) for text in files.values()) > MAX_BUNDLE_BYTES:
        report.problems.append(at(None, "error", "upload.size", N_("整个包超过 %(mb)s MB"),
                                  N_("把包拆小，或删掉不需要的文件"), file="", mb=MAX_BUNDLE_BYTES // (1024 * 1024)))
        return report
    roots = _documents(files, report)
    if not roots and not report.problems:
        report.problems.append(at(None, "error", "bundle.empty", N_("包里没有 .bpmn 文件"),
                                  N_("把流程图（.bpmn）放进这个文件夹"), file=""))
    for name, root in roots.items():
        report.problems += schema_problems(root, file=name)
        report.problems += reference_problems(root, file=name)
        report.problems += flow_problems(root, file=name)
        report.problems += element_problems(root, file=name, operators=operators)
        report.problems += role_problems(root, file=name)
    report.problems += call_problems(roots)
    if not roots:
        return report
    top = top_process(roots, process_id)
    report.candidates = top.candidates
    report.problems += [*top.problems, *pool_problems(roots, top.process_id)]
    if top.process_id is not None and not report.errors:
        report.parsed = _parse(files, top.process_id, operators, roots, report)
    report.problems.sort(key=lambda p: (p.file, p.line or 0, p.severity != "error"))
    return report


def _documents(files: Mapping[str, str], report: Report) -> dict[str, etree._Element]:
    """Parse each .bpmn file with the hardened parser; refusals become problems. DMN files are checked too."""
    roots: dict[str, etree._Element] = {}
    for name in sorted(files):
        if not name.endswith((".bpmn", ".dmn")):
            continue
        try:
            if name.endswith(".bpmn"):
                roots[name] = parse_bpmn(files[name], filename=name)
            else:
                parse_dmn(files[name], filename=name)
        except DefinitionInvalid as exc:
            report.problems.append(from_exception(exc, {}, name))
    return roots


def _parse(files: Mapping[str, str], top: str, operators: list[str], roots: Mapping[str, etree._Element],
           report: Report) -> ParsedBundle | None:
    """Run the engine's parse and sandbox checks; a refusal becomes a problem, never an exception."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # old spiff message payloads still parse
            return parse_bundle(files, process_id=top, operators=operators)
    except Exception as exc:
        report.problems.append(from_exception(exc, roots))
        return None
