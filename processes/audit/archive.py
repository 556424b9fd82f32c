"""Archives of purged audit records (审计归档, AUD-03 / S5.3): written before a purge deletes, verifiable offline.

An archive is a gzip file of JSON lines: a header naming the seq range, the chain value before its first record
(the checkpoint it continues from) and after its last, then one line per record with the columns the chain
covers plus seq and chain value. Beside it `<name>.sha256` holds its SHA-256 in `sha256sum` format. Verifying
checks the checksum, that the seqs run on without gaps and that every chain value follows from the one before
under the HMAC key, so an archive proves on its own that nothing in it changed since it left the database.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from processes.audit.record import HASHED
from processes.audit.record import AuditRefused
from processes.audit.record import chain_value

FORMAT = "hotline-audit-archive/1"
CHUNK = 1 << 20


@dataclass(frozen=True)
class ArchiveFile:
    """A written archive: where, its SHA-256 and how many records it holds."""

    path: Path
    sha256: str
    rows: int


@dataclass(frozen=True)
class ArchiveReport:
    """What verifying an archive found: its range, record count and the first problem (None when intact)."""

    first_seq: int
    through_seq: int
    rows: int
    problem: str | None

    @property
    def intact(self) -> bool:
        """Return True when the checksum matches and every record chains."""
        return self.problem is None


def _line(row: Mapping[str, Any]) -> str:
    """Render one record: its chained columns with the time as canonical ISO UTC, then seq and chain value."""
    data = {name: row[name] for name in HASHED}
    data["at"] = row["at"].astimezone(UTC).isoformat(timespec="milliseconds")[:23] + "Z"
    data["seq"], data["chain_hash"] = row["seq"], row["chain_hash"]
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def file_sha256(path: Path) -> str:
    """Return the SHA-256 (hex) of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _durable_write(path: Path, write: Any) -> None:
    """Write a file through a temporary name, fsync it and rename it into place (no half-written archive)."""
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("wb") as raw:
        write(raw)
        raw.flush()
        os.fsync(raw.fileno())
    temporary.chmod(0o640)
    os.replace(temporary, path)


def write_archive(directory: Path, rows: Iterable[Mapping[str, Any]], *, first_seq: int, through_seq: int,
                  previous_hash: str, last_hash: str, now: datetime) -> ArchiveFile:
    """Write records first_seq..through_seq (in seq order) to a new archive and its checksum file.

    :raises AuditRefused: the archive cannot be written (then nothing may be purged)
    """
    name = f"audit-seq{first_seq}-{through_seq}-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}.jsonl.gz"
    path = directory / name
    header = {"format": FORMAT, "first_seq": first_seq, "through_seq": through_seq, "previous_hash": previous_hash,
              "last_hash": last_hash, "created_at": now.astimezone(UTC).isoformat(),
              "note": "chain values are HMAC-SHA256 under AUDIT_HMAC_KEY; check with hotline audit verify-archive"}
    count = 0

    def write(raw: Any) -> None:
        nonlocal count
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as archive:
            archive.write((json.dumps(header, sort_keys=True) + "\n").encode())
            for row in rows:
                archive.write((_line(row) + "\n").encode())
                count += 1

    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o750)
        _durable_write(path, write)
        if count != through_seq - first_seq + 1:
            path.unlink()
            raise AuditRefused(f"archive holds {count} records, expected {through_seq - first_seq + 1}")
        digest = file_sha256(path)
        _durable_write(path.with_name(name + ".sha256"), lambda raw: raw.write(f"{digest}  {name}\n".encode()))
        _sync_directory(directory)
    except OSError as exc:
        raise AuditRefused(f"cannot write the audit archive in {directory}: {exc.strerror or exc}") from exc
    return ArchiveFile(path, digest, count)


def _sync_directory(directory: Path) -> None:
    """Make the renames durable (the directory entry), where the platform allows it."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _records(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the header and then every record of an archive, parsed."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def verify_archive(path: Path, key: bytes) -> ArchiveReport:
    """Check an archive's checksum file and the chain inside it; report the first problem found."""
    checksum = path.with_name(path.name + ".sha256")
    try:
        expected = checksum.read_text(encoding="ascii").split()[0]
    except (OSError, IndexError, UnicodeDecodeError):
        return ArchiveReport(0, 0, 0, f"no readable checksum file {checksum.name}")
    if file_sha256(path) != expected:
        return ArchiveReport(0, 0, 0, "SHA-256 differs from the checksum file: the archive was changed")
    try:
        records = _records(path)
        header = next(records)
        if header.get("format") != FORMAT:
            return ArchiveReport(0, 0, 0, f"not a {FORMAT} file")
        first, through = int(header["first_seq"]), int(header["through_seq"])
        value, expected_seq, count = str(header["previous_hash"]), first, 0
        for record in records:
            if record["seq"] != expected_seq:
                return ArchiveReport(first, through, count, f"seq {expected_seq} missing (found {record['seq']})")
            record["at"] = datetime.fromisoformat(record["at"])
            if chain_value(key, value, record) != record["chain_hash"]:
                return ArchiveReport(first, through, count, f"seq {expected_seq}: chain value does not match")
            value, expected_seq, count = record["chain_hash"], expected_seq + 1, count + 1
    except (OSError, EOFError, ValueError, KeyError, TypeError, StopIteration) as exc:
        return ArchiveReport(0, 0, 0, f"unreadable archive: {type(exc).__name__}")
    if expected_seq - 1 != through:
        return ArchiveReport(first, through, count, f"ends at seq {expected_seq - 1}, header says {through}")
    if value != header["last_hash"]:
        return ArchiveReport(first, through, count, "last chain value differs from the header")
    return ArchiveReport(first, through, count, None)
