"""Write published versions back to bundle folders (导出), for review in git: the layout `hotline deploy` reads.

Each key goes to `<dir>/<key>/`. When that folder's `bundle.toml` includes library folders (`_shared`), a file the
library already holds is written there, so deploying the folder again reads exactly the exported files: the same
sha256, a no-op. Bundle files the folder holds but the version does not are removed; two keys that disagree on a
shared library file are reported, not silently overwritten twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.errors import DefinitionInvalid
from processes.errors import NotFound
from processes.runtime import definitions
from processes.runtime.models import ProcessDefinition


@dataclass
class Exported:
    """What exporting one key did."""

    key: str
    version: int
    sha256: str
    written: list[str] = field(default_factory=list)  # paths relative to the export folder
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    round_trip: bool = False  # reading the folder back gives the version's sha256


def published(session: Session, key: str | None = None) -> list[ProcessDefinition]:
    """Return the published versions (of one key, or all), by key."""
    query = sa.select(ProcessDefinition).where(ProcessDefinition.status == "published").order_by(ProcessDefinition.key)
    rows = list(session.scalars(query.where(ProcessDefinition.key == key) if key else query))
    if key and not rows:
        raise NotFound(f"process {key!r} has no published version")
    return rows


def _safe(root: Path, name: str) -> Path:
    """Return root/name, refusing names that would leave the folder."""
    target = (root / name).resolve()
    if root.resolve() not in target.parents:
        raise DefinitionInvalid("file name leaves the bundle folder", file=name)
    return target


def _library_of(folder: Path, name: str) -> Path | None:
    """Return the included library folder that already holds this file, if any."""
    if not (folder / "bundle.toml").is_file():
        return None
    for library in definitions.included_libraries(folder):
        if (library / name).is_file():
            return library
    return None


def export_version(row: ProcessDefinition, root: Path, shared: dict[Path, str]) -> Exported:
    """Write one version's files under root/<key>/ (and into its libraries); `shared` tracks library writes."""
    folder = root / row.key
    folder.mkdir(parents=True, exist_ok=True)
    done = Exported(row.key, row.version, row.sha256)
    own: set[Path] = set()
    for name in sorted(row.files):
        text = str(row.files[name])
        library = _library_of(folder, name)
        path = _safe(library or folder, name)
        label = str(path.relative_to(root.resolve()))
        if library is None:
            own.add(path)
        elif shared.get(path, text) != text:
            done.conflicts.append(label)
            continue
        else:
            shared[path] = text
        if path.is_file() and path.read_bytes() == text.encode("utf-8"):  # a file in another encoding is rewritten
            done.unchanged.append(label)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        done.written.append(label)
    for stale in sorted(folder.rglob("*")):
        if stale.is_file() and stale.suffix in definitions.BUNDLE_SUFFIXES and stale.resolve() not in own:
            stale.unlink()
            done.removed.append(str(stale.resolve().relative_to(root.resolve())))
    done.round_trip = definitions.bundle_sha256(definitions.read_bundle_dir(folder)) == row.sha256
    return done


def export_published(session: Session, root: Path, key: str | None = None) -> list[Exported]:
    """Export the published version of one key, or of every key, into root."""
    shared: dict[Path, str] = {}
    return [export_version(row, root, shared) for row in published(session, key)]
