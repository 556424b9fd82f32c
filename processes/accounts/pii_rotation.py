"""Key rotation and late encryption of everything stored under the personal-data key (个人信息密钥轮换, PII-04 / S6.3).

What the key seals at rest: requesters' personal fields, TOTP secrets, Open311 contacts, task-form drafts (暂存),
webhook signing secrets, uploaded order files waiting for import, the sealed phone of a queued case-list export
(a value inside its JSON criteria), and attachment files (processes.cases.sealing: given the attachment folder, a
file under the old key gets a new seal of its data key, a clear file from before sealing is sealed if its SHA-256 is
still the uploaded one; each file rewritten beside itself and renamed, with its row locked so retention cannot
delete it meanwhile). `reencrypt` walks every encrypted column in batches (one short transaction each, rows locked on
PostgreSQL) and leaves each value under the configured key: ciphertext the configured key already reads stays as
it is, ciphertext of the old key is decrypted and encrypted again, and plain text from before encryption existed
(no `v1:` prefix) is encrypted. The phone blind index and last four digits are recomputed from the plain number,
so they follow the key too. Running it again changes nothing: it is safe to repeat after an interruption.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from dataclasses import fields
from functools import partial
from pathlib import Path
from typing import Any
from typing import cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from processes.accounts import pii
from processes.accounts.models import AppUser
from processes.accounts.pii import PiiCipher
from processes.accounts.pii import PiiKeyError
from processes.cases import sealing
from processes.cases.attachments import path_of
from processes.cases.drafts import FIELD as DRAFT_FIELD
from processes.cases.models import Attachment
from processes.cases.models import Requester
from processes.cases.models import TaskDraft
from processes.exchange.models import PlatformImport
from processes.exchange.models import WebhookSubscription
from processes.exchange.webhooks import SECRET_FIELD as WEBHOOK_FIELD
from processes.open311.models import Open311Request
from processes.reports.models import ExportJob

_REQUESTER = cast(sa.Table, Requester.__table__)
_USER = cast(sa.Table, AppUser.__table__)
_OPEN311 = cast(sa.Table, Open311Request.__table__)
_EXPORT = cast(sa.Table, ExportJob.__table__)
IMPORT_SEAL = "platform_import"  # processes.exchange.import_jobs.SEAL: the purpose label of a sealed upload
EXPORT_SEAL = "phone_sealed"  # webapp.search.views.SEALED: a queued export's searched phone, inside its criteria
# Every encrypted column: table, {column: field name bound as associated data} (the handover manifest lists them).
ENCRYPTED: tuple[tuple[sa.Table, dict[str, str]], ...] = (
    (_REQUESTER, {"name": "name", "phone": "phone", "id_number": "id_number", "address": "address"}),
    (_USER, {"totp_secret": "totp"}),
    (_OPEN311, {"contact": "open311_contact"}),  # e-mail, device and account ids of an Open311 submission
    (cast(sa.Table, TaskDraft.__table__), {"data": DRAFT_FIELD}),  # what a user typed and saved (暂存)
    (cast(sa.Table, WebhookSubscription.__table__), {"secret": WEBHOOK_FIELD}),  # HMAC keys of 事件订阅
    (cast(sa.Table, PlatformImport.__table__), {"sealed": IMPORT_SEAL}),  # an order file waiting for import
)
# Encrypted values inside a JSON column: table, column, key (also its field name).
IN_JSON: tuple[tuple[sa.Table, str, str], ...] = ((_EXPORT, "criteria", EXPORT_SEAL),)
COUNTERS = ("current", "reencrypted", "encrypted_plain", "unreadable")


@dataclass
class RotationReport:
    """Counts of one run (never values): rows looked at and written, and what happened to each value."""

    rows: int = 0
    rows_written: int = 0
    current: int = 0  # already under the configured key
    reencrypted: int = 0  # moved from the old key
    encrypted_plain: int = 0  # plain text from before encryption, now encrypted
    indexes: int = 0  # phone blind indexes (and last four digits) recomputed
    unreadable: int = 0  # neither key decrypts it: left as it is, and reported
    files_missing: int = 0  # attachment rows whose file is not in the folder
    kinds: dict[str, dict[str, int]] = field(default_factory=dict)  # the value counts per table (kind of data)

    def count(self, kind: str, counter: str) -> None:
        """Count one value of a kind (table) under a counter, in the totals and by kind."""
        setattr(self, counter, getattr(self, counter) + 1)
        by_kind = self.kinds.setdefault(kind, dict.fromkeys(COUNTERS, 0))
        by_kind[counter] += 1

    def counts(self) -> dict[str, int]:
        """Return the totals as a dict (for the audit row and the command's first line)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "kinds"}


def _value(new: PiiCipher, old: PiiCipher | None, field: str, stored: str | None,
           report: RotationReport, kind: str) -> tuple[str | None, str | None]:
    """Return (value to store, plain text) for one stored value; the plain text is None when unreadable."""
    if stored is None:
        return None, None
    if not pii.is_encrypted(stored):
        report.count(kind, "encrypted_plain")
        return new.encrypt(field, stored), stored
    for cipher, counter in ((new, "current"), (old, "reencrypted")):
        if cipher is None:
            continue
        try:
            plain = cipher.decrypt(field, stored)
        except (PiiKeyError, ValueError):  # wrong key, altered, or not base64
            continue
        report.count(kind, counter)
        return (stored if cipher is new else new.encrypt(field, plain)), plain
    report.count(kind, "unreadable")
    return stored, None


def _changes(new: PiiCipher, old: PiiCipher | None, row: Any, columns: dict[str, str],
             report: RotationReport, kind: str) -> dict[str, Any]:
    """Return the column values of one row that must change (none when all is under the configured key)."""
    changes: dict[str, Any] = {}
    plain: dict[str, str | None] = {}
    for column, field_name in columns.items():
        stored = getattr(row, column)
        value, plain[column] = _value(new, old, field_name, stored, report, kind)
        if value != stored:
            changes[column] = value
    if "phone" in columns and plain.get("phone") is not None:
        index, last = new.phone_index(plain["phone"]), pii.last4(plain["phone"])
        if (index, last) != (row.phone_index, row.phone_last4):
            changes.update(phone_index=index, phone_last4=last)
            report.indexes += 1
    return changes


def _json_changes(new: PiiCipher, old: PiiCipher | None, row: Any, column: str, key: str,
                  report: RotationReport, kind: str) -> dict[str, Any]:
    """Return the JSON column's new value when the encrypted value under `key` must change."""
    document = getattr(row, column)
    if not isinstance(document, dict) or not isinstance(document.get(key), str) or not document[key]:
        return {}
    value, _plain = _value(new, old, key, document[key], report, kind)
    return {column: {**document, key: value}} if value != document[key] else {}


def _walk(engine: Engine, table: sa.Table, wanted: list[sa.Column[Any]],
          change: Callable[[Any], dict[str, Any]], batch: int) -> tuple[int, int]:
    """Page through a table by its primary key, one transaction per batch; return (rows, rows written)."""
    writer = engine.execution_options(sqlite_immediate=True) if engine.dialect.name == "sqlite" else engine
    keys = list(table.primary_key.columns)
    after: list[sa.BindParameter[Any]] = [sa.bindparam(f"after_{i}") for i in range(len(keys))]
    beyond = keys[0] > after[0] if len(keys) == 1 else sa.tuple_(*keys) > sa.tuple_(*after)
    query = sa.select(*keys, *wanted).where(beyond).order_by(*keys).limit(batch)
    if engine.dialect.name == "postgresql":
        query = query.with_for_update()
    position: dict[str, Any] = {f"after_{i}": "" for i in range(len(keys))}
    seen = written = 0
    while True:
        with writer.begin() as conn:
            rows = conn.execute(query, position).all()
            for row in rows:
                changes = change(row)
                if changes:
                    conn.execute(table.update().where(*(k == row._mapping[k] for k in keys)).values(**changes))
                    written += 1
        seen += len(rows)
        if len(rows) < batch:
            return seen, written
        position = {f"after_{i}": rows[-1]._mapping[k] for i, k in enumerate(keys)}


def _seal_file(folder: Path, row: Any, new: PiiCipher, old: PiiCipher | None, report: RotationReport) -> bool:
    """Leave one attachment file under `new`; return whether it was rewritten."""
    kind, path = "attachment_file", path_of(folder, row.id)
    if not path.is_file():
        report.files_missing += 1
        return False
    sealed_by = sealing.key_id_of(path)
    try:
        if sealed_by is None:
            sealing.seal_clear(path, row.id, new, sha256=row.sha256)
            report.count(kind, "encrypted_plain")
            return True
        if sealed_by == new.key_id():
            with path.open("rb") as handle:
                sealing.SealedReader(handle, new, row.id)  # the seal opens (the chunks are checked on download)
            report.count(kind, "current")
            return False
        if old is not None and sealed_by == old.key_id():
            sealing.rewrap(path, row.id, new, old)
            report.count(kind, "reencrypted")
            return True
    except sealing.AttachmentUnreadable:
        pass
    report.count(kind, "unreadable")
    return False


def _files(engine: Engine, folder: Path, new: PiiCipher, old: PiiCipher | None, report: RotationReport,
           batch: int) -> None:
    """Leave every attachment file under `new`, one short transaction per file holding its row's lock."""
    table = cast(sa.Table, Attachment.__table__)
    writer = engine.execution_options(sqlite_immediate=True) if engine.dialect.name == "sqlite" else engine
    lock = sa.select(table.c.id, table.c.sha256).where(table.c.id == sa.bindparam("id"))
    if engine.dialect.name == "postgresql":
        lock = lock.with_for_update()
    after = ""
    while True:
        with engine.connect() as conn:
            ids = list(conn.scalars(sa.select(table.c.id).where(table.c.id > after).order_by(table.c.id)
                                    .limit(batch)))
        for attachment_id in ids:
            with writer.begin() as conn:
                row = conn.execute(lock, {"id": attachment_id}).first()
                if row is not None:  # None: deleted meanwhile (retention)
                    report.rows += 1
                    report.rows_written += _seal_file(folder, row, new, old, report)
        if len(ids) < batch:
            return
        after = ids[-1]


def reencrypt(engine: Engine, new: PiiCipher, old: PiiCipher | None = None, *, batch: int = 500,
              attachments: Path | None = None) -> RotationReport:
    """Leave every value under `new`: re-encrypt from `old`, encrypt plain text; return the counts, also by kind.

    Each batch commits on its own, so an interrupted run is resumed by running it again (values already under
    `new` are left as they are). With `attachments` (the attachment folder) the files are sealed too.
    """
    report = RotationReport()
    for table, columns in ENCRYPTED:
        extra = [table.c.phone_index, table.c.phone_last4] if "phone" in columns else []
        wanted = [table.c[c] for c in columns if c not in table.primary_key.columns] + extra
        change = partial(_changes, new, old, columns=columns, report=report, kind=table.name)
        rows, written = _walk(engine, table, wanted, change, batch)
        report.rows, report.rows_written = report.rows + rows, report.rows_written + written
    for table, column, key in IN_JSON:
        change = partial(_json_changes, new, old, column=column, key=key, report=report, kind=table.name)
        rows, written = _walk(engine, table, [table.c[column]], change, batch)
        report.rows, report.rows_written = report.rows + rows, report.rows_written + written
    if attachments is not None:
        _files(engine, attachments, new, old, report, batch)
    return report
