"""Handover import (移交导入, R4.4): verify a package from `processes.handover.export` and restore it into an empty,
migrated database in one transaction, so a refused or failed import leaves the database as it was. Attachment
files go into the instance's attachment folder as they are (sealed: configure the key the package names), each
beside its place and renamed, before the commit; they are removed again when the import fails."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from collections.abc import Iterator
from datetime import date
from datetime import datetime
from datetime import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from processes.audit.record import record
from processes.cases.attachments import is_attachment_id
from processes.db.schema import METADATA
from processes.handover.export import FORMAT
from processes.handover.export import MANIFEST
from processes.handover.export import HandoverRefused
from processes.handover.export import safe_relative
from processes.handover.export import sha256_of

BATCH = 1000
# Column types whose values travel as ISO 8601 text (checked in this order: DateTime is not a Date).
_PARSE: tuple[tuple[type[sa.types.TypeEngine[Any]], Callable[[str], Any]], ...] = (
    (sa.DateTime, datetime.fromisoformat), (sa.Date, date.fromisoformat), (sa.Time, time.fromisoformat))


def verify_package(source: Path, *, expect_sha256: str | None = None) -> dict[str, Any]:
    """Check a package against its manifest (and the manifest against a SHA-256 kept apart); return the manifest.

    :raises HandoverRefused: a file changed, went missing or was added, a row count differs, or the format is wrong
    """
    path = source / MANIFEST
    if not path.is_file():
        raise HandoverRefused(f"{path} not found")
    if expect_sha256 is not None and sha256_of(path) != expect_sha256.lower():
        raise HandoverRefused("manifest.json differs from the SHA-256 given")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HandoverRefused("manifest.json is not JSON") from exc
    if manifest.get("format") != FORMAT:
        raise HandoverRefused(f"not a {FORMAT} package")
    listed: dict[str, str] = manifest["files"]
    present = {p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()} - {MANIFEST}
    if extra := sorted(present - listed.keys()):
        raise HandoverRefused(f"file not in the manifest: {extra[0]}")
    for name, digest in sorted(listed.items()):
        file = source / safe_relative(name)
        if not file.is_file():
            raise HandoverRefused(f"file missing: {name}")
        if sha256_of(file) != digest:
            raise HandoverRefused(f"file changed since export: {name}")
    for table, count in manifest["tables"].items():
        with (source / "tables" / f"{safe_relative(table)}.jsonl").open(encoding="utf-8") as handle:
            if sum(1 for _ in handle) != count:
                raise HandoverRefused(f"tables/{table}.jsonl does not hold {count} rows")
    return manifest


def _loader(table: sa.Table) -> tuple[sa.Table, Callable[[dict[str, Any]], dict[str, Any]]]:
    """Return an insertable copy of a table (JSON None stays SQL NULL) and a function turning a line into a row."""
    columns, parsers = [], {}
    for column in table.columns:
        if column.computed is not None:  # a generated column (hotline_case.effective_due): the database computes it
            continue
        kind = sa.JSON(none_as_null=True) if isinstance(column.type, sa.JSON) else column.type
        columns.append(sa.Column(column.name, kind, primary_key=column.primary_key, autoincrement=False))
        stored = column.type.impl_instance if isinstance(column.type, sa.TypeDecorator) else column.type
        for base, parser in _PARSE:
            if isinstance(stored, base):
                parsers[column.name] = parser
                break

    names = {c.name for c in columns}

    def parse(data: dict[str, Any]) -> dict[str, Any]:
        return {k: (parsers[k](v) if v is not None and k in parsers else v) for k, v in data.items() if k in names}

    return sa.Table(table.name, sa.MetaData(), *columns), parse


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the rows of a table file."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def _restart_sequences(conn: Connection) -> None:
    """Move PostgreSQL id sequences past the restored ids, so new rows do not collide with them."""
    if conn.dialect.name != "postgresql":
        return  # SQLite continues after the largest id inserted
    for table in METADATA.sorted_tables:
        keys = list(table.primary_key.columns)
        if len(keys) == 1 and isinstance(keys[0].type, sa.Integer) and keys[0].autoincrement is not False:
            following = sa.select(sa.func.coalesce(sa.func.max(keys[0]), 0) + 1).scalar_subquery()
            conn.execute(sa.select(sa.func.setval(sa.func.pg_get_serial_sequence(table.name, keys[0].name),
                                                  following, False)))


def _attachment_files(source: Path, folder: Path | None) -> list[tuple[Path, Path]]:
    """Return (package file, place in the folder) of every attachment file; refuse names that are not ids and
    places already taken (the new instance's folder must not hold them)."""
    root = source / "attachments"
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
    if files and folder is None:
        raise HandoverRefused("the package holds attachments: give the attachment folder to restore them into")
    pairs = []
    for file in files:
        relative = file.relative_to(root)
        if len(relative.parts) != 2 or not is_attachment_id(file.name) or relative.parts[0] != file.name[:2]:
            raise HandoverRefused(f"not an attachment file: attachments/{relative.as_posix()}")
        place = (folder or root) / relative
        if place.exists():
            raise HandoverRefused(f"the attachment folder already holds {relative.as_posix()}")
        pairs.append((file, place))
    return pairs


def _place(pairs: list[tuple[Path, Path]], done: list[Path]) -> None:
    """Copy each file to its place (temporary file, then rename), noting what was placed."""
    for file, place in pairs:
        place.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=place.parent, prefix=".import-")
        try:
            with os.fdopen(fd, "wb") as out, file.open("rb") as source:
                shutil.copyfileobj(source, out, 1 << 20)
            os.replace(temp, place)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        done.append(place)


def import_all(engine: Engine, source: Path, *, now: datetime, actor: str, revision: str | None,
               expect_sha256: str | None = None, attachments: Path | None = None) -> dict[str, int]:
    """Verify the package, then restore every table into this empty database at the same schema revision.

    :raises HandoverRefused: the package fails verification, the schema revision differs, or a table holds rows
    """
    manifest = verify_package(source, expect_sha256=expect_sha256)
    if manifest["schema_revision"] != revision:
        raise HandoverRefused(f"package has schema {manifest['schema_revision']}, database {revision}: "
                              "migrate the database to the package's revision first")
    pairs = _attachment_files(source, attachments)
    writer = engine.execution_options(sqlite_immediate=True) if engine.dialect.name == "sqlite" else engine
    counts: dict[str, int] = {}
    placed: list[Path] = []
    try:
        _restore(writer, source, manifest, counts, pairs, placed, now=now, actor=actor)
    except BaseException:
        for place in placed:
            place.unlink(missing_ok=True)
        raise
    return counts


def _restore(writer: Engine, source: Path, manifest: dict[str, Any], counts: dict[str, int],
             pairs: list[tuple[Path, Path]], placed: list[Path], *, now: datetime, actor: str) -> None:
    """Insert every table and place the attachment files in one transaction (files placed before it commits)."""
    with writer.begin() as conn:
        for table in METADATA.sorted_tables:
            if conn.scalar(sa.select(sa.func.count()).select_from(table)):
                raise HandoverRefused(f"the database is not empty (table {table.name}); import needs a new one")
        for table in METADATA.sorted_tables:
            if table.name not in manifest["tables"]:
                raise HandoverRefused(f"package lacks table {table.name}")
            insertable, parse = _loader(table)
            batch: list[dict[str, Any]] = []
            for data in _lines(source / "tables" / f"{table.name}.jsonl"):
                batch.append(parse(data))
                if len(batch) >= BATCH:
                    conn.execute(insertable.insert(), batch)
                    batch = []
            if batch:
                conn.execute(insertable.insert(), batch)
            counts[table.name] = int(manifest["tables"][table.name])
        _restart_sequences(conn)
        _place(pairs, placed)
        record(conn, action="handover.import", actor=actor, at=now, object_type="database",
               detail={"format": FORMAT, "exported_at": manifest["created_at"], "rows": sum(counts.values()),
                       "tables": len(counts), "attachment_files": len(placed)})
