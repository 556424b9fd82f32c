"""Handover export (移交导出, PIPL art. 21, PII-07 / R4.4): everything the office's data is, in one folder.

The folder holds every table as JSON lines (`tables/<name>.jsonl`, rows in primary-key order; personal fields
exactly as stored, i.e. AES-256-GCM ciphertext, never plain text), every process definition version with its
files (`definitions/<key>/v<n>/…`), the audit anchors and archives (`audit/`), the file of every attachment row
(`attachments/<id[:2]>/<id>`, sealed as stored; a clear file from before sealing is sealed under the configured
key on the way, so the package holds no attachment in clear), a README and `manifest.json` naming the schema
revision, the key id of the personal-data key, row counts and the SHA-256 of every file.
`processes.handover.restore` verifies the manifest and restores it into an empty database.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from pathlib import Path
from pathlib import PurePosixPath
from typing import Any
from typing import cast

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from processes.accounts import pii
from processes.accounts.pii_rotation import ENCRYPTED
from processes.audit.record import read_head
from processes.cases import sealing
from processes.cases.attachments import path_of
from processes.cases.models import Attachment
from processes.db.schema import METADATA
from processes.runtime.models import ProcessDefinition

FORMAT = "hotline-handover/1"
MANIFEST = "manifest.json"
PAGE = 2000
README = """Hotline Flow handover package ({format}), exported {created_at}.

tables/*.jsonl      every table, one JSON object per row, in primary-key order; times in ISO 8601 UTC.
                    Personal fields are AES-256-GCM ciphertext as stored ("v1:..."), under the key named by
                    manifest.json "pii.key_id"; the key itself is handed over separately, never in this folder.
definitions/        every process definition version: its BPMN, DMN and form files (SHA-256 in the manifest).
audit/              anchors (chain heads kept outside the database) and archives of purged audit records.
attachments/        attachment files by id, sealed (chunked AES-256-GCM under a per-file key, that key sealed under
                    the personal-data key named in the file and in manifest.json "attachments.key_id").
manifest.json       schema revision, row counts and the SHA-256 of every file; keep its own SHA-256 apart.

Restore:  hotline db upgrade && hotline import-all --from THIS_FOLDER [--expect-sha256 SHA]
Verify:   hotline audit verify --anchors audit/anchors.jsonl ; hotline audit verify-archive audit/archives/FILE
"""


class HandoverRefused(ValueError):
    """The package cannot be written or read: target not empty, tampered file, wrong schema, non-empty database."""


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: the folder, row counts per table and the manifest's own SHA-256."""

    folder: Path
    tables: dict[str, int]
    files: int
    manifest_sha256: str


def encode(value: Any) -> Any:
    """Return a JSON-ready value: times as ISO 8601 (aware UTC times keep their offset)."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    raise TypeError(f"cannot export a {type(value).__name__}")


def sha256_of(path: Path) -> str:
    """Return the SHA-256 (hex) of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def safe_relative(name: str) -> PurePosixPath:
    """Return a file name from the data as a relative path that stays inside its folder."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts or "\\" in name:
        raise HandoverRefused(f"unsafe file name {name!r}")
    return path


def _rows(conn: Connection, table: sa.Table) -> Iterator[dict[str, Any]]:
    """Yield a table's rows in primary-key order (byte order for text keys, so every backend agrees)."""
    keys = [c.collate("C") if conn.dialect.name == "postgresql" and isinstance(c.type, sa.String) else c
            for c in table.primary_key.columns]
    result = conn.execution_options(yield_per=PAGE).execute(sa.select(table).order_by(*keys))
    for row in result.mappings():
        yield dict(row)


def _write_table(conn: Connection, table: sa.Table, path: Path) -> int:
    """Write one table as JSON lines; return the row count."""
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for row in _rows(conn, table):
            handle.write(json.dumps(row, default=encode, ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
    return count


def _write_definitions(conn: Connection, folder: Path) -> list[dict[str, Any]]:
    """Write every definition version's files; return their index (key, version, status, SHA-256s)."""
    index = []
    table = cast(sa.Table, ProcessDefinition.__table__)
    query = sa.select(table.c.key, table.c.version, table.c.status, table.c.sha256, table.c.files)
    for row in conn.execute(query.order_by(table.c.key, table.c.version)):
        base = folder / safe_relative(row.key) / f"v{row.version}"
        files = {}
        for name, text in sorted((row.files or {}).items()):
            target = base / safe_relative(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(str(text), encoding="utf-8")
            files[name] = sha256_of(target)
        index.append({"key": row.key, "version": row.version, "status": row.status, "sha256": row.sha256,
                      "files": files})
    return index


def _copy_tree(source: Path | None, target: Path) -> None:
    """Copy a file or folder into the package when it exists (anchors, archives)."""
    if source is None or not source.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copy2(source, target)


def _write_attachments(ids: list[str], source: Path | None, target: Path, key_id: str) -> dict[str, int]:
    """Copy each attachment's file into the package sealed (a clear one sealed on the way); return the counts."""
    counts = {"files": 0, "sealed_on_export": 0, "other_key": 0, "missing": 0}
    cipher = pii.cipher()
    for attachment_id in ids:
        origin = path_of(source, attachment_id) if source is not None else None
        if origin is None or not origin.is_file():
            counts["missing"] += 1
            continue
        copy = path_of(target, attachment_id)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(origin, copy)
        sealed_by = sealing.key_id_of(copy)
        if sealed_by is None:
            sealing.seal_clear(copy, attachment_id, cipher)
            counts["sealed_on_export"] += 1
        elif sealed_by != key_id:
            counts["other_key"] += 1  # exported as stored, like a column under an old key: rotate first
        counts["files"] += 1
    return counts


def export_all(engine: Engine, target: Path, *, now: datetime, revision: str | None, key_id: str,
               anchors: Path | None = None, archives: Path | None = None,
               attachments: Path | None = None) -> ExportResult:
    """Write the complete handover package into `target` (absent or empty), from one consistent snapshot."""
    if target.exists() and any(target.iterdir()):
        raise HandoverRefused(f"{target} is not empty")
    target.mkdir(parents=True, exist_ok=True, mode=0o700)  # personal data, even if encrypted: owner only
    (target / "tables").mkdir()
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(**options) as conn, conn.begin():  # one snapshot for every table
        tables = {t.name: _write_table(conn, t, target / "tables" / f"{t.name}.jsonl")
                  for t in METADATA.sorted_tables}
        definitions = _write_definitions(conn, target / "definitions")
        head = read_head(conn)
        attachment = cast(sa.Table, Attachment.__table__)
        ids = list(conn.scalars(sa.select(attachment.c.id).order_by(attachment.c.id)))
    _copy_tree(anchors, target / "audit" / "anchors.jsonl")
    _copy_tree(archives, target / "audit" / "archives")
    files_of = _write_attachments(ids, attachments, target / "attachments", key_id)
    (target / "README.txt").write_text(README.format(format=FORMAT, created_at=now.isoformat()), encoding="utf-8")
    files = {p.relative_to(target).as_posix(): sha256_of(p) for p in sorted(target.rglob("*")) if p.is_file()}
    manifest = {
        "format": FORMAT, "created_at": now.isoformat(), "schema_revision": revision, "tables": tables,
        "table_order": [t.name for t in METADATA.sorted_tables], "definitions": definitions,
        "audit": {"head_seq": head.seq if head else 0, "head_hash": head.hash if head else None,
                  "checkpoint_seq": head.checkpoint_seq if head else 0},
        "pii": {"cipher": "AES-256-GCM", "format": "v1:<base64(nonce|ciphertext)>, field name as associated data",
                "key_id": key_id, "columns": [f"{t.name}.{c}" for t, cols in ENCRYPTED for c in cols],
                "note": "personal fields are exported as stored (ciphertext); hand the key over separately"},
        "attachments": {"format": "processes.cases.sealing (HFSEAL1)", "key_id": key_id, **files_of},
        "files": files,
    }
    path = target / MANIFEST
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    for written in target.rglob("*"):
        written.chmod(0o700 if written.is_dir() else 0o600)
    return ExportResult(target, tables, len(files), sha256_of(path))
