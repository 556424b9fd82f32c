"""Key rotation and late encryption of everything stored under the personal-data key (个人信息密钥轮换, PII-04 / S6.3).

What the key seals at rest: requesters' personal fields, TOTP secrets, Open311 contacts, task-form drafts (暂存),
webhook signing secrets, uploaded order files waiting for import, and the sealed phone of a queued case-list export
(a value inside its JSON criteria). Attachments are stored as files in clear (not under this key), so no file is
rewritten. `reencrypt` walks every encrypted column in batches (one short transaction each, rows locked on
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
from typing import Any
from typing import cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from processes.accounts import pii
from processes.accounts.models import AppUser
from processes.accounts.pii import PiiCipher
from processes.accounts.pii import PiiKeyError
from processes.cases.drafts import FIELD as DRAFT_FIELD
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


def reencrypt(engine: Engine, new: PiiCipher, old: PiiCipher | None = None, *, batch: int = 500) -> RotationReport:
    """Leave every value under `new`: re-encrypt from `old`, encrypt plain text; return the counts, also by kind.

    Each batch commits on its own, so an interrupted run is resumed by running it again (values already under
    `new` are left as they are).
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
    return report
