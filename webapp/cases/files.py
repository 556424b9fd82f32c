"""Attachments on the web (附件上传与下载): uploads from task forms, downloads for users who may see the case.

Uploads are checked (kind by extension and content, size) and written before anything is recorded; the rows and
their audit entries (`attachment.upload`, no file names: they can hold personal data) commit in one transaction,
and when that fails the written files are removed again. A download is answered only for a case the user may
open, as a file to save (`Content-Disposition: attachment`, `nosniff`), and audited (`attachment.download`);
sealed files are decrypted as they are sent, after the whole file was checked (an altered one is refused).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import IO

from flask import Flask
from flask import Response
from flask import current_app
from flask import send_file
from flask_login import current_user
from werkzeug.datastructures import FileStorage

from processes.cases import attachments
from processes.cases.attachments import Stored
from webapp.casework import record
from webapp.context import now
from webapp.context import runtime


def folder(app: Flask | None = None) -> Path:
    """Return the attachment folder (ATTACHMENT_DIR, else instance/attachments)."""
    app = app or current_app
    return Path(app.config.get("ATTACHMENT_DIR") or Path(app.instance_path) / "attachments")


def store_uploads(files: Iterable[FileStorage], *, groups: frozenset[str] | None = None) -> list[Stored]:
    """Check and write uploaded files; on any refusal remove those already written and raise it."""
    written: list[Stored] = []
    limit = int(current_app.config["ATTACHMENT_MAX_BYTES"])
    try:
        for upload in files:
            if upload.filename:
                written.append(attachments.store(upload.stream, upload.filename, folder=folder(),
                                                 max_bytes=limit, groups=groups))
    except BaseException:
        remove(written)
        raise
    return written


def remove(stored: Iterable[Stored]) -> None:
    """Delete written files whose rows were never committed."""
    for item in stored:
        item.path.unlink(missing_ok=True)


def record_uploads(stored: list[Stored], *, case_id: str, task_id: str | None, case_number: str) -> None:
    """Commit the rows of written files with one audit row each; remove the files when the commit fails."""
    if not stored:
        return
    try:
        with runtime().write() as db, db.begin():
            for item in stored:
                attachments.record(db, item, case_id=case_id, task_id=task_id, actor=current_user.username,
                                   now=now())
                record(db, "attachment.upload", object_type="attachment", object_id=item.id, case=case_number,
                       task=task_id, content_type=item.content_type, size=item.size, sha256=item.sha256)
    except BaseException:
        remove(stored)
        raise


def download(file: IO[bytes], size: int, name: str, content_type: str) -> Response:
    """Send an opened attachment's plain bytes to save, never to display in the page (no sniffing, no caching)."""
    response = send_file(file, mimetype=content_type, as_attachment=True, download_name=name, max_age=0,
                         conditional=False, etag=False)
    response.content_length = size  # known from the seal; send_file cannot tell for a decrypting reader
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
