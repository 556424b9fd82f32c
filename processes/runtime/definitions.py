"""Process definitions and versions (流程定义): deploy bundles by sha256, publish, and cache parsed specs."""

from __future__ import annotations

import hashlib
import json
import threading
import tomllib
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from processes import engine
from processes.engine.xmltext import MAX_XML_BYTES
from processes.engine.xmltext import decode_diagram
from processes.errors import DefinitionInvalid
from processes.errors import InvalidState
from processes.errors import NotFound
from processes.runtime.models import ProcessDefinition

BUNDLE_SUFFIXES = (".bpmn", ".dmn", ".json")
UNRUNNABLE = ""  # spec_json of a draft kept with errors (ProcessDefinition.runnable is false)


@dataclass(frozen=True)
class DeployResult:
    """What a deploy did: the version it points at and whether it was new."""

    key: str
    version: int
    definition_id: int
    created: bool
    status: str


def bundle_sha256(files: Mapping[str, str]) -> str:
    """Hash a bundle's file names and contents in a stable order."""
    digest = hashlib.sha256()
    for name in sorted(files):
        try:
            digest.update(name.encode("utf-8") + b"\0" + files[name].encode("utf-8") + b"\0")
        except UnicodeEncodeError as exc:
            raise DefinitionInvalid("not valid Unicode text (unpaired surrogate)", file=name[:200]) from exc
    return digest.hexdigest()


def read_bundle_dir(path: Path) -> dict[str, str]:
    """Read a bundle folder: *.bpmn, *.dmn and form schemas (forms/*.json), by relative path.

    A `bundle.toml` with `include = ["../_shared"]` adds the files of library folders beside it (shared called
    processes such as the case lifecycle); includes must stay inside the parent folder and names must not clash.
    """
    files = _read_files(path)
    for library in included_libraries(path):
        for name, text in _read_files(library).items():
            if name in files:
                raise DefinitionInvalid(f"included file clashes with the bundle's own {name}", file=name)
            files[name] = text
    return files


def _read_files(path: Path) -> dict[str, str]:
    files: dict[str, str] = {}
    for file in sorted(path.rglob("*")):
        if file.is_file() and file.suffix in BUNDLE_SUFFIXES:
            files[file.relative_to(path).as_posix()] = _read_text(file)
    return files


def _read_text(file: Path) -> str:
    """Return a bundle file's text: diagrams in their declared encoding (as uploads), form schemas in UTF-8."""
    with file.open("rb") as handle:
        raw = handle.read(MAX_XML_BYTES + 1)  # no more than the limit: a huge file is refused, not read whole
    if file.suffix in (".bpmn", ".dmn"):
        return decode_diagram(raw, file.name)
    if len(raw) > MAX_XML_BYTES:
        raise DefinitionInvalid("form schema too large", file=file.name)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DefinitionInvalid("not UTF-8 text", file=file.name) from exc


def included_libraries(path: Path) -> list[Path]:
    """Return the shared library folders a bundle folder's bundle.toml includes (none without one)."""
    manifest = path / "bundle.toml"
    if not manifest.is_file():
        return []
    try:
        include = tomllib.loads(manifest.read_text(encoding="utf-8")).get("include", [])
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DefinitionInvalid(f"bundle.toml is not valid TOML: {exc}", file="bundle.toml") from exc
    if not isinstance(include, list) or not all(isinstance(i, str) for i in include):
        raise DefinitionInvalid("bundle.toml: include must be a list of folder names", file="bundle.toml")
    root = path.resolve().parent
    folders = [(path / i).resolve() for i in include]
    for folder in folders:
        # a bundle may share a sibling library, never reach elsewhere on the disk
        if folder.parent != root or not folder.is_dir():
            raise DefinitionInvalid(f"bundle.toml: {folder.name} is not a folder beside the bundle", file="bundle.toml")
    return folders


def deploy(session: Session, key: str, files: Mapping[str, str], *, actor: str, now: datetime,
           operators: Iterable[str], process_id: str | None = None, publish: bool = False) -> DeployResult:
    """Deploy a bundle: identical content is a no-op, changed content becomes version n+1."""
    if not key or len(key) > 64:
        raise DefinitionInvalid("process key must be 1-64 characters")
    sha = bundle_sha256(files)
    existing = session.scalar(sa.select(ProcessDefinition).where(
        ProcessDefinition.key == key, ProcessDefinition.sha256 == sha))
    if existing is not None:
        if publish and existing.status == "draft":
            publish_version(session, key, existing.version, actor=actor, now=now)
        return DeployResult(key, existing.version, existing.id, False, existing.status)
    parsed = engine.parse_bundle(files, process_id=process_id, operators=operators)
    latest = session.scalar(sa.select(sa.func.max(ProcessDefinition.version)).where(ProcessDefinition.key == key))
    row = ProcessDefinition(
        key=key, version=(latest or 0) + 1, sha256=sha, status="draft", process_id=parsed.process_id,
        name=parsed.name, files=dict(files), spec_json=engine.specs_to_json(parsed), created_by=actor,
        created_at=now)
    session.add(row)
    session.flush()
    if publish:
        publish_version(session, key, row.version, actor=actor, now=now)
    return DeployResult(key, row.version, row.id, True, row.status)


def store_unrunnable_draft(session: Session, key: str, files: Mapping[str, str], *, actor: str, now: datetime,
                           process_id: str, name: str) -> DeployResult:
    """Keep a draft the engine cannot run yet (草稿，有错误) so its author can open and fix it; it has no spec.

    An analyst's unfinished diagram or an imported file with problems is work worth saving; publishing refuses it
    (`publish_version`) and nothing can start on it, so no code path ever needs its spec.
    """
    sha = bundle_sha256(files)
    latest = session.scalar(sa.select(sa.func.max(ProcessDefinition.version)).where(ProcessDefinition.key == key))
    row = ProcessDefinition(key=key, version=(latest or 0) + 1, sha256=sha, status="draft", process_id=process_id[:128],
                            name=name[:200], files=dict(files), spec_json=UNRUNNABLE, created_by=actor, created_at=now)
    session.add(row)
    session.flush()
    return DeployResult(key, row.version, row.id, True, row.status)


def publish_version(session: Session, key: str, version: int, *, actor: str, now: datetime) -> None:
    """Publish a version for new cases; the previous published one retires (running cases keep it)."""
    row = session.scalar(sa.select(ProcessDefinition).where(
        ProcessDefinition.key == key, ProcessDefinition.version == version).with_for_update())
    if row is None:
        raise NotFound(f"process {key} version {version} not found")
    if row.status == "published":
        return
    if row.status == "retired":
        raise InvalidState(f"process {key} version {version} is retired")
    if not row.runnable:
        raise InvalidState(f"process {key} version {version} has validation errors: fix them in a new version")
    session.execute(sa.update(ProcessDefinition).where(
        ProcessDefinition.key == key, ProcessDefinition.status == "published").values(status="retired"))
    row.status, row.published_by, row.published_at = "published", actor, now


def published_definition(session: Session, key: str) -> ProcessDefinition:
    """Return the published version of a process key."""
    row = session.scalar(sa.select(ProcessDefinition).where(
        ProcessDefinition.key == key, ProcessDefinition.status == "published"))
    if row is None:
        raise NotFound(f"process {key!r} has no published version")
    return row


def list_versions(session: Session, key: str | None = None) -> list[ProcessDefinition]:
    """Return definition versions, newest first."""
    query = sa.select(ProcessDefinition).order_by(ProcessDefinition.key, ProcessDefinition.version.desc())
    if key:
        query = query.where(ProcessDefinition.key == key)
    return list(session.scalars(query))


def form_schema(session: Session, definition_id: int, form_name: str) -> dict[str, Any] | None:
    """Return a form schema of a definition version by file name."""
    files = session.scalar(sa.select(ProcessDefinition.files).where(ProcessDefinition.id == definition_id)) or {}
    for name, text in files.items():
        if name.rsplit("/", 1)[-1] == form_name:
            schema: dict[str, Any] = json.loads(text)
            return schema
    return None


class SpecCache:
    """Parsed specs per definition id, restored from stored JSON once per process."""

    def __init__(self) -> None:
        self._specs: dict[int, tuple[Any, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, session: Session | Connection, definition_id: int) -> tuple[Any, dict[str, Any]]:
        """Return (spec, subprocess_specs) of a definition version."""
        found = self._specs.get(definition_id)
        if found is not None:
            return found
        text = session.scalar(sa.select(ProcessDefinition.spec_json).where(ProcessDefinition.id == definition_id))
        if text is None:
            raise NotFound(f"definition {definition_id} not found")
        if text == UNRUNNABLE:
            raise InvalidState(f"definition {definition_id} is a draft with validation errors")
        specs = engine.specs_from_json(text)
        with self._lock:
            self._specs[definition_id] = specs
        return specs
