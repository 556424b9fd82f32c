"""Process versions as the analyst sees them (流程版本): lists with instance counts, drafts from uploads, retirement."""

from __future__ import annotations

import re
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.engine.validation.check import Report
from processes.engine.validation.check import validate_bundle
from processes.engine.validation.model import bpmn
from processes.engine.validation.pools import top_process
from processes.engine.validation.problems import Problem
from processes.engine.xmlsafe import BPMN_NS
from processes.engine.xmlsafe import parse_bpmn
from processes.engine.xmlsafe import parse_dmn
from processes.errors import DefinitionInvalid
from processes.errors import InvalidState
from processes.errors import NotFound
from processes.errors import RuntimeErrorBase
from processes.errors import UploadRejected
from processes.runtime import definitions
from processes.runtime.models import ProcessDefinition
from processes.runtime.models import ProcessInstance

KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}\.bpmn")
DMN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}\.dmn")
FORM_NAME = re.compile(r"forms/[A-Za-z0-9_][A-Za-z0-9_.-]{0,80}\.schema\.json")
CHOICE_CODES = ("process.ambiguous", "process.unknown", "process.all_called")  # solved by naming the process
ACTIVE = ("running", "waiting", "suspended", "error")  # instances still on their version
# Refusals never kept as a draft with errors: hostile or oversized files, and scripts the sandbox forbids.
REFUSED_AT_UPLOAD = ("upload.", "bundle.", "form.size", "script.sandbox")


class ProcessChoice(DefinitionInvalid):
    """The upload cannot tell its top process (主流程), or the one chosen is not in it: the analyst picks one."""

    def __init__(self, problem: Problem, candidates: tuple[tuple[str, str], ...]) -> None:
        super().__init__(problem.text(), file=problem.file or None)
        self.problem = problem
        self.candidates = candidates  # (id, name) of each process that could run


class NotAllowed(RuntimeErrorBase):
    """The action is not this person's to take (403)."""

    http_status = 403


@dataclass
class VersionRow:
    """One version with its running and finished instance counts."""

    definition: ProcessDefinition
    active: int = 0
    finished: int = 0


@dataclass
class ProcessSummary:
    """One process key: its versions newest first, the published one, drafts and instances per version."""

    key: str
    name: str
    versions: list[VersionRow] = field(default_factory=list)

    @property
    def published(self) -> VersionRow | None:
        """The version new cases start on, if any."""
        return next((v for v in self.versions if v.definition.status == "published"), None)

    @property
    def drafts(self) -> list[VersionRow]:
        """Versions waiting for a second person to publish them."""
        return [v for v in self.versions if v.definition.status == "draft"]


def _counts(session: Session, ids: Iterable[int]) -> dict[tuple[int, bool], int]:
    """Instances per (definition id, still active)."""
    active = ProcessInstance.status.in_(ACTIVE)
    rows = session.execute(sa.select(ProcessInstance.definition_id, active, sa.func.count()).where(
        ProcessInstance.definition_id.in_(list(ids))).group_by(ProcessInstance.definition_id, active))
    return {(int(d), bool(a)): int(n) for d, a, n in rows}


def summaries(session: Session, key: str | None = None) -> list[ProcessSummary]:
    """Return every process key (or one) with its versions and instance counts."""
    rows = definitions.list_versions(session, key)
    counts = _counts(session, [r.id for r in rows])
    found: dict[str, ProcessSummary] = {}
    for row in rows:
        one = found.setdefault(row.key, ProcessSummary(row.key, row.name))
        one.versions.append(VersionRow(row, counts.get((row.id, True), 0), counts.get((row.id, False), 0)))
        if row.status == "published":
            one.name = row.name
    return list(found.values())


def get_version(session: Session, key: str, version: int, *, lock: bool = False) -> ProcessDefinition:
    """Return one version or raise NotFound."""
    query = sa.select(ProcessDefinition).where(ProcessDefinition.key == key, ProcessDefinition.version == version)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(f"process {key} version {version} not found")
    return row


def latest(session: Session, key: str) -> ProcessDefinition | None:
    """Return the newest version of a key, or None."""
    return session.scalar(sa.select(ProcessDefinition).where(ProcessDefinition.key == key)
                          .order_by(ProcessDefinition.version.desc()).limit(1))


def main_file(row: ProcessDefinition) -> str:
    """Return the name of the file that holds the version's top process."""
    names = sorted(n for n in row.files if n.endswith(".bpmn"))
    for name in names:
        if f'id="{row.process_id}"' in str(row.files[name]):
            root = parse_bpmn(str(row.files[name]), filename=name)
            if root.find(f"{{{BPMN_NS}}}process[@id='{row.process_id}']") is not None:
                return name
    if not names:
        raise DefinitionInvalid("version has no .bpmn file")
    return names[0]


def upload_draft(session: Session, key: str, filename: str, text: str, *, actor: str, now: datetime,
                 operators: Iterable[str], base_version: int | None = None,
                 forms: Mapping[str, str] | None = None, process_id: str | None = None,
                 others: Mapping[str, str] | None = None) -> definitions.DeployResult:
    """Store an uploaded diagram as a new draft version: it replaces the file of the same name, else the main one.

    The other files of the base version (the newest unless the modeler names the one it edited: forms, called
    processes) stay, with the `forms/*.schema.json` edited beside it; a new key starts a new process. The top
    process is `process_id` when the analyst names one, else the base version's while the files still hold it.
    """
    if not KEY.fullmatch(key):
        raise DefinitionInvalid("process key: lower-case letters, digits and _ (1-64), starting with a letter")
    if not FILE_NAME.fullmatch(filename):
        raise DefinitionInvalid("file name: letters, digits, _ . - and the .bpmn ending")
    if any(not FORM_NAME.fullmatch(name) for name in forms or {}):
        raise DefinitionInvalid("form file name: forms/<letters, digits, _ . ->.schema.json")
    parse_bpmn(text, filename=filename)  # hostile or malformed XML is refused before anything else
    for name, other in (others or {}).items():
        if FILE_NAME.fullmatch(name):
            parse_bpmn(other, filename=name)
        elif DMN_NAME.fullmatch(name):
            parse_dmn(other, filename=name)
        else:
            raise DefinitionInvalid("file name: letters, digits, _ . - and the .bpmn or .dmn ending", file=name[:100])
    base = latest(session, key) if base_version is None else get_version(session, key, base_version)
    files = {**(base.files if base is not None else {}), **(forms or {}), **(others or {})}
    if base is not None and filename not in files:
        filename = main_file(base)
    files[filename] = text
    top = _top_process(files, process_id, base.process_id if base is not None else None)
    return _deploy_draft(session, key, files, actor=actor, now=now, operators=operators, process_id=top)


def _top_process(files: Mapping[str, str], chosen: str | None, kept: str | None) -> str | None:
    """Return the top process to deploy: the one chosen, else the base version's while the files still run it.

    None leaves it to the deploy (the only candidate); when it cannot be told, or the one chosen is not there,
    ProcessChoice lists the candidates.
    """
    roots = {name: parse_bpmn(text, filename=name) for name, text in files.items() if name.endswith(".bpmn")}
    runnable = [(str(p.get("id")), str(p.get("name") or "")) for root in roots.values()
                for p in bpmn(root, "./bpmn:process") if p.get("isExecutable", "true") == "true"]
    if chosen is None and kept in {pid for pid, _ in runnable}:
        chosen = kept  # every save of the modeler keeps the process the analyst chose for the first version
    top = top_process(roots, chosen)
    problem = next((p for p in top.problems if p.code in CHOICE_CODES), None)
    if problem is not None:
        raise ProcessChoice(problem, top.candidates or tuple(runnable))
    return top.process_id if chosen is not None else None


def _deploy_draft(session: Session, key: str, files: Mapping[str, str], *, actor: str, now: datetime,
                  operators: Iterable[str], process_id: str | None) -> definitions.DeployResult:
    """Deploy a draft; one the engine refuses is kept with its errors unless the refusal is a security one."""
    try:
        return definitions.deploy(session, key, files, actor=actor, now=now, operators=operators,
                                  process_id=process_id, publish=False)
    except UploadRejected:
        raise
    except DefinitionInvalid:
        errors = validate_bundle(files, operators=operators, process_id=process_id).errors
        if not errors or any(p.code.startswith(REFUSED_AT_UPLOAD) for p in errors):
            raise
    top, name = outline(files, process_id)
    return definitions.store_unrunnable_draft(session, key, files, actor=actor, now=now, process_id=top,
                                              name=name or key)


def outline(files: Mapping[str, str], process_id: str | None) -> tuple[str, str]:
    """Return (id, name) of the process a bundle most likely means: the one named, else the first executable one."""
    found: list[tuple[str, str, bool]] = []
    for name in sorted(n for n in files if n.endswith(".bpmn")):
        root = parse_bpmn(files[name], filename=name)
        found += [(str(p.get("id") or ""), str(p.get("name") or ""), p.get("isExecutable", "true") == "true")
                  for p in root.iterfind(f"{{{BPMN_NS}}}process")]
    chosen = next((f for f in found if f[0] == process_id), None) or next((f for f in found if f[2]), None)
    if chosen is None:  # nothing executable: no top process to name, but the first one's name still shows
        return "", next((f[1] or f[0] for f in found), "")
    return chosen[0], chosen[1] or chosen[0]


def retire(session: Session, key: str, version: int, *, may_retire_published: bool) -> str:
    """Retire a version (停用): no new case starts on it, running ones finish; return its status before."""
    row = get_version(session, key, version, lock=True)
    before = row.status
    if before == "retired":
        raise InvalidState(f"process {key} version {version} is already retired")
    if before == "published" and not may_retire_published:
        raise NotAllowed("only a system administrator retires the published version")
    row.status = "retired"
    return before


def check(row: ProcessDefinition, files: Mapping[str, str], operators: Iterable[str]) -> Report:
    """Validate a version's files (or an edit of them) as `hotline validate` does; errors block publishing."""
    main = files.get(main_file(row), "") if row.files else ""
    return validate_bundle(files, operators=operators, process_id=row.process_id if f'id="{row.process_id}"' in main
                           else None)  # the top process while the main file still holds it, else validation finds one
