"""Key rotation covers everything sealed with the personal-data key, not only requesters (SQLite, PostgreSQL): task
drafts (暂存), webhook signing secrets, order uploads waiting for import and a queued export's sealed phone read back
under the new key with the old one gone; counts per kind; a second run changes nothing."""

from __future__ import annotations

import base64

import pytest
import sqlalchemy as sa

from processes.accounts import pii
from processes.accounts.pii_rotation import EXPORT_SEAL
from processes.accounts.pii_rotation import IMPORT_SEAL
from processes.accounts.pii_rotation import reencrypt
from processes.cases import drafts
from processes.exchange import webhooks
from processes.exchange.models import PlatformImport
from processes.exchange.models import WebhookSubscription
from processes.reports.models import ExportJob
from processes.runtime.core import Runtime

KEY_A, KEY_B = "a1" * 32, "b2" * 32
PHONE = "13812345678"
UPLOAD = "订单号,姓名,电话\nMH-1,王五,13812345678\n".encode()
HOOK_SECRET, LEGACY_SECRET = "s" * 40, "p" * 40


def seed(rt: Runtime) -> None:
    """Write one value of every kind under key A (two drafts of one task: a two-column key), one plain secret."""
    pii.configure(KEY_A, production=False)
    cipher, now = pii.cipher(), rt.clock()
    with rt.write() as db, db.begin():
        for user in ("op1", "op2"):
            drafts.save(db, "task-1", user, {"content": f"{user} 王五 {PHONE}", "tags": ["a", "b"]}, now=now)
        webhooks.subscribe(db, webhooks.NewSubscription("oa", "https://oa.example.gov.cn/h", HOOK_SECRET,
                                                        ("started",)), actor="t", now=now)
        db.add(WebhookSubscription(name="legacy", url="https://old.example.gov.cn/h", secret=LEGACY_SECRET,
                                   events=["started"], created_by="t", created_at=now))  # from before encryption
        db.add(PlatformImport(requested_by="tr1", file_name="orders.csv", file_format="csv", created_at=now,
                              sealed=cipher.encrypt(IMPORT_SEAL, base64.b64encode(UPLOAD).decode())))
        db.add(ExportJob(requested_by="sv1", file_format="csv", created_at=now,
                         criteria={"text": "噪音", "phone": "", EXPORT_SEAL: cipher.encrypt(EXPORT_SEAL, PHONE)}))
        db.add(ExportJob(requested_by="sv1", file_format="csv", created_at=now, criteria={"text": "无电话"}))


def read_all(rt: Runtime) -> dict[str, object]:
    """Decrypt every value of every kind with the configured key."""
    cipher = pii.cipher()
    with rt.read() as db:
        loaded = [drafts.load(db, "task-1", user) for user in ("op1", "op2")]
        secrets = {s.name: cipher.decrypt(webhooks.SECRET_FIELD, s.secret)
                   for s in db.scalars(sa.select(WebhookSubscription))}
        upload = base64.b64decode(cipher.decrypt(IMPORT_SEAL, db.scalars(sa.select(PlatformImport.sealed)).one())
                                  or "")
        phones = [cipher.decrypt(EXPORT_SEAL, c.get(EXPORT_SEAL)) for c in db.scalars(sa.select(ExportJob.criteria))]
    return {"drafts": [d[0]["content"] if d else None for d in loaded], "secrets": secrets, "upload": upload,
            "phones": sorted(p or "" for p in phones)}


EXPECTED = {"drafts": [f"op1 王五 {PHONE}", f"op2 王五 {PHONE}"], "upload": UPLOAD, "phones": ["", PHONE],
            "secrets": {"oa": HOOK_SECRET, "legacy": LEGACY_SECRET}}


def test_every_kind_reads_back_under_the_new_key_with_the_old_one_gone(runtime: Runtime) -> None:
    seed(runtime)
    assert read_all(runtime) == EXPECTED
    pii.configure(KEY_B, production=False)
    with pytest.raises(pii.PiiKeyError):  # before the rotation the new key reads none of it
        read_all(runtime)

    report = reencrypt(runtime.db, pii.PiiCipher.from_hex(KEY_B), pii.PiiCipher.from_hex(KEY_A), batch=1)
    assert report.unreadable == 0
    assert {kind: (c["reencrypted"], c["encrypted_plain"]) for kind, c in report.kinds.items()} == {
        "task_draft": (2, 0), "webhook_subscription": (1, 1), "platform_import": (1, 0), "export_job": (1, 0)}
    assert read_all(runtime) == EXPECTED  # only key B is configured now
    with runtime.read() as db:
        assert all(pii.is_encrypted(s) for s in db.scalars(sa.select(WebhookSubscription.secret)))

    again = reencrypt(runtime.db, pii.PiiCipher.from_hex(KEY_B), batch=1)  # repeatable, without the old key
    assert (again.rows_written, again.reencrypted, again.encrypted_plain, again.unreadable) == (0, 0, 0, 0)
    assert {kind: c["current"] for kind, c in again.kinds.items()} == {
        "task_draft": 2, "webhook_subscription": 2, "platform_import": 1, "export_job": 1}


def test_without_the_old_key_values_stay_as_they_were_and_are_counted(runtime: Runtime) -> None:
    seed(runtime)
    pii.configure(KEY_B, production=False)
    report = reencrypt(runtime.db, pii.PiiCipher.from_hex(KEY_B))
    assert report.kinds["task_draft"]["unreadable"] == 2 and report.kinds["export_job"]["unreadable"] == 1
    assert report.kinds["webhook_subscription"] == {"current": 0, "reencrypted": 0, "encrypted_plain": 1,
                                                    "unreadable": 1}
    pii.configure(KEY_A, production=False)  # nothing was lost: the old key still reads what it sealed
    with runtime.read() as db:
        loaded = drafts.load(db, "task-1", "op1")
    assert loaded is not None and loaded[0]["content"] == f"op1 王五 {PHONE}"
