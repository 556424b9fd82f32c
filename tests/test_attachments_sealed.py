"""Attachments sealed at rest (附件加密存储): the file on disk is not the uploaded bytes, downloads give them back,
an altered file is refused with 409 (never a 500), clear files from before still read, key rotation seals and
re-seals them, retention deletes them, and the handover package carries them sealed (SQLite, PostgreSQL)."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from processes.accounts import pii
from processes.accounts.pii_rotation import reencrypt
from processes.cases import attachments
from processes.cases import sealing
from processes.cases.models import Attachment
from processes.cases.sealing import AttachmentUnreadable
from processes.runtime import commands
from tests.lifecycle_support import Office
from tests.test_hardening_retention import close
from tests.test_hardening_retention import set_days
from tests.test_task_attachments_web import docx
from tests.test_task_attachments_web import upload
from tests.web_support import audit_rows
from tests.workspace_support import Workspace
from tests.workspace_support import text
from webapp.cli import cli
from webapp.retention import run_retention

KEY_A, KEY_B = "a1" * 32, "b2" * 32
PNG = b"\x89PNG\r\n\x1a\n" + b"13812345678 " * 30


def big(size: int) -> bytes:
    """A PNG-headed body of `size` bytes (random after the header, so no chunk repeats)."""
    return PNG[:8] + os.urandom(size - 8)


def opened(folder: Path, attachment_id: str) -> bytes:
    """The plain bytes of a stored attachment, read in small pieces."""
    file, size = attachments.open_stored(folder, attachment_id)
    with file:
        data = b"".join(iter(lambda: file.read(5000), b""))
    assert len(data) == size
    return data


@pytest.mark.parametrize("size", [100, sealing.CHUNK, sealing.CHUNK + 1, 3 * sealing.CHUNK + 17])
def test_a_stored_file_is_sealed_on_disk_and_opens_to_the_uploaded_bytes(tmp_path: Path, size: int) -> None:
    body = big(size)
    kept = attachments.store(io.BytesIO(body), "照片.png", folder=tmp_path, max_bytes=10 << 20)
    on_disk = kept.path.read_bytes()
    assert on_disk.startswith(sealing.MAGIC) and body[8:40] not in on_disk and len(on_disk) > size
    assert kept.sha256 == hashlib.sha256(body).hexdigest() and kept.size == size
    assert sealing.key_id_of(kept.path) == pii.cipher().key_id()
    assert opened(tmp_path, kept.id) == body
    file, _size = attachments.open_stored(tmp_path, kept.id)
    with file:  # seeking reads any position (the .docx check reads a zip directory at the end)
        file.seek(size - 10)
        assert file.read() == body[-10:]
    assert sorted(p.name for p in tmp_path.rglob(".*")) == []  # no temporary file left


def test_office_files_are_checked_through_the_seal(tmp_path: Path) -> None:
    kept = attachments.store(io.BytesIO(docx()), "说明.docx", folder=tmp_path, max_bytes=10_000)
    assert opened(tmp_path, kept.id) == docx()
    with pytest.raises(attachments.AttachmentRejected):
        attachments.store(io.BytesIO(b"PK\x03\x04" + b"\x00" * 40), "假.docx", folder=tmp_path, max_bytes=10_000)
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 1


def tamper(path: Path, change: str) -> None:
    """Alter a sealed file: flip a body byte, cut the last chunk, append a chunk, or break the key's token."""
    data = bytearray(path.read_bytes())
    if change == "flip":
        data[-100] ^= 1
    elif change == "cut":
        data = data[:len(data) - (len(data) - 200) % (sealing.CHUNK + sealing.TAG) - 1]
    elif change == "extend":
        data += data[-(sealing.CHUNK + sealing.TAG):]
    elif change == "token":
        data[len(sealing.MAGIC) + 30] ^= 1
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("change", ["flip", "cut", "extend", "token"])
def test_an_altered_file_is_refused(tmp_path: Path, change: str) -> None:
    kept = attachments.store(io.BytesIO(big(2 * sealing.CHUNK + 500)), "a.png", folder=tmp_path, max_bytes=1 << 20)
    tamper(kept.path, change)
    with pytest.raises(AttachmentUnreadable):
        attachments.open_stored(tmp_path, kept.id)


def test_a_file_moved_to_another_id_or_read_under_another_key_is_refused(tmp_path: Path) -> None:
    one = attachments.store(io.BytesIO(PNG), "a.png", folder=tmp_path, max_bytes=10_000)
    two = attachments.store(io.BytesIO(PNG), "b.png", folder=tmp_path, max_bytes=10_000)
    two.path.write_bytes(one.path.read_bytes())
    with pytest.raises(AttachmentUnreadable):
        attachments.open_stored(tmp_path, two.id)
    with pytest.raises(AttachmentUnreadable, match="another key"):
        attachments.open_stored(tmp_path, one.id, pii.PiiCipher.from_hex(KEY_B))


def uploaded(ws: Workspace, body: bytes, name: str = "现场.png") -> tuple[commands.Started, Attachment]:
    """Upload a file on a dispatched case's sign-for task as handler h1; return the case and the row."""
    case = ws.dispatched("sthj")
    ws.user("h1", "handler", department="sthj")
    sign = ws.office.task(case, "sign_for")
    status, _page = upload(ws, f"/tasks/{sign.id}", [(body, name)])
    assert status == 303
    with ws.office.rt.read() as db:
        row = db.scalars(sa.select(Attachment).where(Attachment.case_id == case.case_id)).one()
    return case, row


def test_download_decrypts_with_the_same_headers_and_an_altered_file_is_409(ws: Workspace, tmp_path: Path) -> None:
    body = big(sealing.CHUNK * 2 + 3)
    case, row = uploaded(ws, body)
    case_id = str(case.case_id)
    path = attachments.path_of(tmp_path / "attachments", row.id)
    assert path.read_bytes()[:8] == sealing.MAGIC and body[8:64] not in path.read_bytes()
    with ws.clients["h1"].get(f"/cases/{case_id}/attachments/{row.id}") as response:
        assert response.status_code == 200 and response.get_data() == body
        assert response.headers["Content-Length"] == str(len(body))
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
    tamper(path, "flip")
    refused = ws.clients["h1"].get(f"/cases/{case_id}/attachments/{row.id}")
    assert refused.status_code == 409 and "附件文件校验未通过" in text(refused)
    assert body[8:64] not in refused.get_data()
    rows = audit_rows(ws.app, "attachment.download")
    assert [(r["object_id"], r["result"]) for r in rows] == [(row.id, "success"), (row.id, "failure")]


def legacy(ws: Workspace, folder: Path, case_id: str, body: bytes, *, sha256: str | None = None) -> str:
    """Write an attachment as it was stored before sealing (clear bytes) with its row; return its id."""
    with ws.office.rt.write() as db, db.begin():
        row = Attachment(case_id=case_id, task_id=None, original_name="旧.png", content_type="image/png",
                         size=len(body), sha256=sha256 or hashlib.sha256(body).hexdigest(), uploaded_by="op1",
                         uploaded_at=ws.office.clock())
        db.add(row)
        db.flush()
        attachment_id = row.id
    path = attachments.path_of(folder, attachment_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return attachment_id


def test_old_clear_files_read_then_reencrypt_seals_them_and_rotation_drops_the_old_key(
        ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "attachments"
    pii.configure(KEY_A, production=False)
    body = big(sealing.CHUNK + 99)
    case, sealed_row = uploaded(ws, body)
    case_id = str(case.case_id)
    clear = legacy(ws, folder, case_id, PNG)
    altered = legacy(ws, folder, case_id, PNG, sha256="0" * 64)  # a clear file changed after upload
    with ws.clients["h1"].get(f"/cases/{case_id}/attachments/{clear}") as response:
        assert response.status_code == 200 and response.get_data() == PNG

    pii.configure(KEY_B, production=False)
    assert ws.clients["h1"].get(f"/cases/{case_id}/attachments/{sealed_row.id}").status_code == 409
    new, old = pii.PiiCipher.from_hex(KEY_B), pii.PiiCipher.from_hex(KEY_A)
    report = reencrypt(ws.office.rt.db, new, old, batch=1, attachments=folder)
    assert report.kinds["attachment_file"] == {"current": 0, "reencrypted": 1, "encrypted_plain": 1,
                                               "unreadable": 1}
    assert report.files_missing == 0
    assert attachments.path_of(folder, altered).read_bytes() == PNG  # left as it was, and reported
    for attachment_id, expected in ((sealed_row.id, body), (clear, PNG)):  # only key B is configured now
        assert sealing.key_id_of(attachments.path_of(folder, attachment_id)) == new.key_id()
        assert opened(folder, attachment_id) == expected
        with ws.clients["h1"].get(f"/cases/{case_id}/attachments/{attachment_id}") as response:
            assert response.status_code == 200 and response.get_data() == expected
    with pytest.raises(AttachmentUnreadable):
        attachments.open_stored(folder, sealed_row.id, old)
    again = reencrypt(ws.office.rt.db, new, attachments=folder)  # repeatable, without the old key
    assert again.kinds["attachment_file"]["current"] == 2 and again.kinds["attachment_file"]["unreadable"] == 1
    assert sorted(p.name for p in folder.rglob(".*")) == []


def test_retention_deletes_the_attachments_of_deidentified_cases_only(ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "attachments"
    old_case, old_row = uploaded(ws, PNG)
    recent_case = ws.dispatched("sthj")
    recent = legacy(ws, folder, str(recent_case.case_id), PNG)
    clear_old = legacy(ws, folder, str(old_case.case_id), PNG)
    close(ws, old_case, 400)
    close(ws, recent_case, 10)
    set_days(ws, 365)
    assert run_retention(ws.app, actor="test", dry_run=True).attachments == 2
    assert attachments.path_of(folder, old_row.id).is_file()  # a dry run deletes nothing
    done = run_retention(ws.app, actor="test")
    assert done.attachments == 2
    for gone in (old_row.id, clear_old):
        assert not attachments.path_of(folder, gone).exists()
    with ws.office.rt.read() as db:
        assert list(db.scalars(sa.select(Attachment.id))) == [recent]
    assert attachments.path_of(folder, recent).read_bytes() == PNG
    [row] = audit_rows(ws.app, "pii.retention")
    assert row["detail"]["attachments"] == 2


def test_the_handover_package_carries_attachments_sealed_and_import_puts_them_back(
        office: Office, db_url: str, tmp_path: Path) -> None:
    source, target = tmp_path / "source-files", tmp_path / "target-files"
    started = office.open("case_phone", "phone")
    stored = attachments.store(io.BytesIO(PNG), "a.png", folder=source, max_bytes=10_000)
    with office.rt.write() as db, db.begin():
        attachments.record(db, stored, case_id=str(started.case_id), task_id=None, actor="op1", now=office.clock())
        clear = Attachment(case_id=started.case_id, task_id=None, original_name="旧.png", content_type="image/png",
                           size=len(PNG), sha256=hashlib.sha256(PNG).hexdigest(), uploaded_by="op1",
                           uploaded_at=office.clock())
        db.add(clear)
        db.flush()
        clear_id = clear.id
    attachments.path_of(source, clear_id).parent.mkdir(exist_ok=True)
    attachments.path_of(source, clear_id).write_bytes(PNG)  # from before sealing
    (source / ".upload-stray").write_bytes(PNG)  # not an attachment: never exported
    url = office.rt.db.url.render_as_string(hide_password=False)
    exported = CliRunner(env={"HOTLINE_DATABASE_URL": url, "HOTLINE_ATTACHMENT_DIR": str(source),
                              "HOTLINE_AUDIT_ANCHOR_PATH": str(tmp_path / "anchors.jsonl")}).invoke(
        cli, ["export-all", "--to", str(tmp_path / "package")])
    assert exported.exit_code == 0, exported.output
    package = tmp_path / "package"
    manifest = json.loads((package / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["attachments"] == {"format": "processes.cases.sealing (HFSEAL1)", "key_id": pii.cipher().key_id(),
                                       "files": 2, "sealed_on_export": 1, "other_key": 0, "missing": 0}
    files = sorted(p for p in (package / "attachments").rglob("*") if p.is_file())
    assert [p.name for p in files] == sorted([stored.id, clear_id])
    assert all(p.read_bytes().startswith(sealing.MAGIC) and PNG[8:40] not in p.read_bytes() for p in files)
    assert attachments.path_of(source, clear_id).read_bytes() == PNG  # the office's own copy is not touched

    taken = attachments.path_of(target, clear_id)
    taken.parent.mkdir(parents=True)
    taken.write_bytes(b"x")
    importer = CliRunner(env={"HOTLINE_DATABASE_URL": db_url, "HOTLINE_ATTACHMENT_DIR": str(target)})
    refused = importer.invoke(cli, ["import-all", "--from", str(package)])
    assert refused.exit_code == 1 and "already holds" in refused.output
    taken.unlink()
    imported = importer.invoke(cli, ["import-all", "--from", str(package)])
    assert imported.exit_code == 0, imported.output
    assert opened(target, stored.id) == PNG and opened(target, clear_id) == PNG
    assert sorted(p.name for p in target.rglob(".*")) == []
