"""Attachments (附件) on task forms: kinds checked by extension and content, size limits, stored by id with a
SHA-256 outside the static folder, downloads only for users who may see the case."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from processes.cases import attachments
from processes.cases.attachments import AttachmentRejected
from processes.cases.attachments import AttachmentTooLarge
from processes.cases.models import Attachment
from processes.db.base import new_id
from processes.runtime.models import HumanTask
from tests.web_support import audit_rows
from tests.workspace_support import Workspace
from tests.workspace_support import post_form
from tests.workspace_support import text

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
JPG = b"\xff\xd8\xff\xe0" + b"\x00" * 100
EXE = b"MZ\x90\x00\x03" + b"\x00" * 200


def docx() -> bytes:
    """A minimal .docx: a zip with the Word document part."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def upload(ws: Workspace, path: str, files: list[tuple[bytes, str]], field: str = "attachments",
           **data: str) -> tuple[int, str]:
    """Submit the task form with files (as a draft unless told otherwise); return status and page text."""
    client = ws.clients["h1"]
    form: dict[str, object] = {"action": "draft", **data,
                               field: [(io.BytesIO(content), name) for content, name in files]}
    response = post_form(client, path, form, content_type="multipart/form-data", page=path)
    return response.status_code, text(response)


def stored(ws: Workspace) -> list[Attachment]:
    """Every attachment row, oldest first."""
    with ws.office.rt.read() as db:
        return list(db.scalars(sa.select(Attachment).order_by(Attachment.uploaded_at, Attachment.id)))


def test_a_good_file_is_stored_by_id_with_its_sha256_and_downloads_as_a_file(ws: Workspace, tmp_path: Path) -> None:
    case = ws.dispatched("sthj")
    ws.user("h1", "handler", department="sthj")
    sign = ws.office.task(case, "sign_for")
    status, _ = upload(ws, f"/tasks/{sign.id}", [(PNG, "../现场/照片 1.png"), (docx(), "说明.docx")])
    assert status == 303
    rows = sorted(stored(ws), key=lambda r: r.content_type, reverse=True)
    assert [(r.original_name, r.content_type, r.size) for r in rows] == [
        ("照片 1.png", "image/png", len(PNG)),
        ("说明.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", len(docx()))]
    png = rows[0]
    on_disk = tmp_path / "attachments" / png.id[:2] / png.id
    assert on_disk.read_bytes() != PNG and png.sha256 == hashlib.sha256(PNG).hexdigest()  # sealed at rest
    assert png.case_id == case.case_id and png.task_id == sign.id and png.uploaded_by == "h1"
    with ws.clients["h1"].get(f"/cases/{case.case_id}/attachments/{png.id}") as response:
        assert response.status_code == 200 and response.get_data() == PNG
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
    assert "照片 1.png" in text(ws.clients["h1"].get(f"/tasks/{sign.id}"))
    uploads = audit_rows(ws.app, "attachment.upload")
    assert len(uploads) == 2 and uploads[0]["detail"]["sha256"] == png.sha256
    assert "照片" not in str(uploads)  # file names can hold personal data: never in the audit trail
    downloads = audit_rows(ws.app, "attachment.download")
    assert [(r["object_id"], r["result"]) for r in downloads] == [(png.id, "success")]


def test_a_renamed_executable_and_unknown_kinds_are_refused_with_400(ws: Workspace, tmp_path: Path) -> None:
    case = ws.dispatched("sthj")
    ws.user("h1", "handler", department="sthj")
    path = f"/tasks/{ws.office.task(case, 'sign_for').id}"
    for content, name in ((EXE, "报告.pdf"), (EXE, "setup.exe"), (PNG, "photo.jpg"), (b"<html>", "a.png"),
                          (b"PK\x03\x04junk", "假.docx"), (b"", "empty.pdf")):
        status, html = upload(ws, path, [(PNG, "ok.png"), (content, name)], return_reason="保留这段文字")
        assert status == 400, name
        assert "不支持此类文件" in html and "保留这段文字" in html
    assert stored(ws) == []
    leftovers = [p for p in (tmp_path / "attachments").rglob("*") if p.is_file()]
    assert leftovers == []  # the good file of a refused batch is removed too


def test_a_file_over_the_limit_is_413(ws: Workspace) -> None:
    ws.app.config["ATTACHMENT_MAX_BYTES"] = 1024
    case = ws.dispatched("sthj")
    ws.user("h1", "handler", department="sthj")
    path = f"/tasks/{ws.office.task(case, 'sign_for').id}"
    status, html = upload(ws, path, [(PNG + b"\x00" * 2000, "big.png")])
    assert status == 413 and "文件过大" in html
    ws.app.config["MAX_CONTENT_LENGTH"] = 4096  # the whole request: refused before it is read
    status, _ = upload(ws, path, [(PNG + b"\x00" * 8000, "bigger.png")])
    assert status == 413
    assert stored(ws) == []


def test_photos_of_an_inspection_are_image_attachments_of_that_task(ws: Workspace) -> None:
    case = ws.dispatched("sthj")
    ws.user("h1", "inspector", real_name="巡查员甲")
    with ws.office.rt.write() as db, db.begin():  # a site inspection waits for the inspector
        task_id = new_id()
        db.add(HumanTask(id=task_id, instance_id=case.instance_id, case_id=case.case_id, bpmn_id="probe",
                         name="现场巡查", role="inspector", form="inspection.schema.json", status="open",
                         created_at=ws.office.clock()))
    path = f"/tasks/{task_id}"
    status, html = upload(ws, path, [(docx(), "不是照片.docx")], field="photos__files")
    assert status == 400 and "不支持此类文件" in html
    status, _ = upload(ws, path, [(JPG, "现场.jpg")], field="photos__files")
    assert status == 303
    photo = stored(ws)[0]
    page = text(ws.clients["h1"].get(path))
    assert f'value="{photo.id}" checked' in page  # kept in the draft, ticked
    foreign = "0b0b0b0b-0000-4000-8000-000000000000"
    status, html = upload(ws, path, [], field="photos__files", action="complete", photos=foreign,
                          inspection_findings="属实", inspected_at="2026-11-25T10:00")
    assert status == 400 and "附件不属于此任务" in html


def test_the_store_checks_content_and_cleans_names(tmp_path: Path) -> None:
    kept = attachments.store(io.BytesIO(PNG), "../../etc/passwd\u202e.png", folder=tmp_path, max_bytes=10_000)
    assert kept.original_name == "passwd_.png" and kept.path.parent.parent == tmp_path
    with pytest.raises(AttachmentTooLarge):
        attachments.store(io.BytesIO(PNG), "a.png", folder=tmp_path, max_bytes=10)
    with pytest.raises(AttachmentRejected):
        attachments.store(io.BytesIO(PNG), "a.png", folder=tmp_path, max_bytes=10_000, groups=frozenset({"audio"}))
    for content, name in ((b"#!AMR\n\x00", "v.amr"), (b"RIFF\x00\x00\x00\x00WAVEfmt ", "v.wav"),
                          (b"ID3\x04\x00", "v.mp3"), (b"%PDF-1.7\n", "d.pdf"),
                          (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 8, "t.xls")):
        assert attachments.store(io.BytesIO(content), name, folder=tmp_path, max_bytes=10_000).size == len(content)
    with pytest.raises(AttachmentRejected):
        attachments.path_of(tmp_path, "../../x")
    assert sorted(p.name for p in tmp_path.rglob(".upload-*")) == []
