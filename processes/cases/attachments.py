"""Attachments of cases (附件): the allowed kinds, checked by extension and by content, stored by a random name.

A file is accepted only when its extension is on the list and its first bytes are what that extension promises
(a renamed .exe is refused). The bytes go to `<folder>/<id[:2]>/<id>` (the id is a random UUID, never anything the
user typed), sealed under the personal-data key as they stream (processes.cases.sealing: a per-file random key,
chunked AES-GCM), written to a temporary file first and renamed, with the size limited while it streams and the
SHA-256 of the plain bytes computed on the way. The metadata row is written by the caller in its own transaction.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.accounts import pii
from processes.accounts.pii import PiiCipher
from processes.cases import sealing
from processes.cases.models import Attachment
from processes.errors import RuntimeErrorBase

CHUNK = 64 * 1024
HEAD = 16
MAX_NAME = 120
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*\u202a-\u202e\u2066-\u2069]')
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class AttachmentRejected(RuntimeErrorBase):
    """The file is not an allowed kind, or its content does not match its extension (400)."""


class AttachmentTooLarge(AttachmentRejected):
    """The file is larger than the configured limit (413)."""

    http_status = 413


def _ole(head: bytes, _file: IO[bytes]) -> bool:
    return head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")  # the compound file of .doc / .xls


def _office_zip(member: str) -> Callable[[bytes, IO[bytes]], bool]:
    """Return a check that the file is a zip holding the part that makes it a .docx or .xlsx."""
    def check(head: bytes, file: IO[bytes]) -> bool:
        if not head.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(file) as archive:  # reads the directory only; nothing is decompressed
                return member in archive.namelist()
        except (zipfile.BadZipFile, OSError):
            return False
    return check


def _mp3(head: bytes, _file: IO[bytes]) -> bool:
    return head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _starts(*prefixes: bytes) -> Callable[[bytes, IO[bytes]], bool]:
    return lambda head, _file: head.startswith(prefixes)


@dataclass(frozen=True)
class Kind:
    """An allowed kind of file: its content type, what it is (image / document / audio) and its content check."""

    content_type: str
    group: str
    matches: Callable[[bytes, IO[bytes]], bool]


KINDS: dict[str, Kind] = {
    "jpg": Kind("image/jpeg", "image", _starts(b"\xff\xd8\xff")),
    "jpeg": Kind("image/jpeg", "image", _starts(b"\xff\xd8\xff")),
    "png": Kind("image/png", "image", _starts(b"\x89PNG\r\n\x1a\n")),
    "pdf": Kind("application/pdf", "document", _starts(b"%PDF-")),
    "doc": Kind("application/msword", "document", _ole),
    "docx": Kind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "document",
                 _office_zip("word/document.xml")),
    "xls": Kind("application/vnd.ms-excel", "document", _ole),
    "xlsx": Kind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "document",
                 _office_zip("xl/workbook.xml")),
    "mp3": Kind("audio/mpeg", "audio", _mp3),
    "amr": Kind("audio/amr", "audio", _starts(b"#!AMR\n", b"#!AMR-WB\n")),
    "wav": Kind("audio/wav", "audio", lambda head, _file: head[:4] == b"RIFF" and head[8:12] == b"WAVE"),
}
ACCEPT = ",".join(f".{ext}" for ext in KINDS)  # for <input type="file" accept=…>
IMAGE_ACCEPT = ",".join(f".{ext}" for ext, kind in KINDS.items() if kind.group == "image")


def clean_name(name: str | None, extension: str) -> str:
    """Return a safe display name: no path, no control or bidi characters, at most MAX_NAME characters."""
    text = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    text = _UNSAFE.sub("_", text).strip(" .")
    if not text:
        return f"附件.{extension}"
    stem, dot, ext = text.rpartition(".")
    if dot and len(text) > MAX_NAME:
        return stem[:MAX_NAME - len(ext) - 1] + "." + ext
    return text[:MAX_NAME]


def extension_of(name: str | None) -> str:
    """Return the lower-case extension of a file name ('' when it has none)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return base.rpartition(".")[2].lower() if "." in base else ""


@dataclass(frozen=True)
class Stored:
    """A file written to the attachment folder, not yet recorded."""

    id: str
    original_name: str
    content_type: str
    group: str
    size: int
    sha256: str
    path: Path


def path_of(folder: Path, attachment_id: str) -> Path:
    """Return where an attachment's bytes live; refuse anything but a UUID (no path games)."""
    if not _UUID.match(attachment_id):
        raise AttachmentRejected("not an attachment id")
    return folder / attachment_id[:2] / attachment_id


def is_attachment_id(text: str) -> bool:
    """Return whether a text has the shape of an attachment id (a lower-case UUID)."""
    return bool(_UUID.match(text))


def store(stream: IO[bytes], name: str | None, *, folder: Path, max_bytes: int,
          groups: frozenset[str] | None = None, cipher: PiiCipher | None = None) -> Stored:
    """Check, seal and write one uploaded file; raise AttachmentRejected or AttachmentTooLarge, leave nothing behind."""
    extension = extension_of(name)
    kind = KINDS.get(extension)
    if kind is None or (groups is not None and kind.group not in groups):
        raise AttachmentRejected(f"file type .{extension} is not allowed")
    key = cipher or pii.cipher()
    attachment_id = str(uuid.uuid4())
    target = path_of(folder, attachment_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        digest, size, head = _copy(stream, fd, max_bytes, key, attachment_id)
        with Path(temp).open("rb") as sealed, sealing.SealedReader(sealed, key, attachment_id) as plain:
            if not kind.matches(head, cast(IO[bytes], plain)):  # a seekable reader of the plain bytes
                raise AttachmentRejected(f"the content is not a .{extension} file")
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return Stored(attachment_id, clean_name(name, extension), kind.content_type, kind.group, size,
                  digest, target)


def _copy(stream: IO[bytes], fd: int, max_bytes: int, cipher: PiiCipher,
          attachment_id: str) -> tuple[str, int, bytes]:
    """Seal the stream into the open file, hashing and counting; refuse it once it passes the limit."""
    digest, size, head = hashlib.sha256(), 0, b""
    with os.fdopen(fd, "wb") as out:
        sealer = sealing.Sealer(out, cipher, attachment_id)
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise AttachmentTooLarge(f"file larger than {max_bytes} bytes")
            if len(head) < HEAD:
                head += chunk[:HEAD - len(head)]
            digest.update(chunk)
            sealer.write(chunk)
        sealer.close()
        out.flush()
        os.fsync(out.fileno())
    if size == 0:
        raise AttachmentRejected("the file is empty")
    return digest.hexdigest(), size, head


def open_stored(folder: Path, attachment_id: str, cipher: PiiCipher | None = None) -> tuple[IO[bytes], int]:
    """Open a stored attachment's plain bytes, checked whole first (sealed or from before sealing); return it and
    its size. Raises FileNotFoundError, or sealing.AttachmentUnreadable for an altered file or an unknown key."""
    return sealing.open_plain(path_of(folder, attachment_id), attachment_id, cipher or pii.cipher())


def record(session: Session, stored: Stored, *, case_id: str, task_id: str | None, actor: str,
           now: datetime) -> Attachment:
    """Add the metadata row of a stored file in the caller's transaction."""
    row = Attachment(id=stored.id, case_id=case_id, task_id=task_id, original_name=stored.original_name,
                     content_type=stored.content_type, size=stored.size, sha256=stored.sha256,
                     uploaded_by=actor, uploaded_at=now)
    session.add(row)
    return row


def of_case(session: Session, case_id: str, task_id: str | None = None) -> list[Attachment]:
    """Return a case's attachments (of one task, if given), oldest first."""
    query = sa.select(Attachment).where(Attachment.case_id == case_id)
    if task_id is not None:
        query = query.where(Attachment.task_id == task_id)
    return list(session.scalars(query.order_by(Attachment.uploaded_at, Attachment.id)))


def group_of(content_type: str) -> str:
    """Return image / document / audio for a stored content type."""
    return next((kind.group for kind in KINDS.values() if kind.content_type == content_type), "document")
