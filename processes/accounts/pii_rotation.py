"""Key rotation and late encryption of personal data (个人信息密钥轮换, PII-04 / S6.3).

`reencrypt` walks every encrypted column in batches (one short transaction each, rows locked on PostgreSQL) and
leaves each value under the configured key: ciphertext the configured key already reads stays as it is, ciphertext
of the old key is decrypted and encrypted again, and plain text from before encryption existed (no `v1:` prefix)
is encrypted. The phone blind index and last four digits are recomputed from the plain number, so they follow the
key too. Running it again changes nothing: it is safe to repeat after an interruption.
"""

from __future__ import annotations

from dataclasses import asdict
from dataclasses import dataclass
from typing import Any
from typing import cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from processes.accounts import pii
from processes.accounts.models import AppUser
from processes.accounts.pii import PiiCipher
from processes.accounts.pii import PiiKeyError
from processes.cases.models import Requester
from processes.open311.models import Open311Request

_REQUESTER = cast(sa.Table, Requester.__table__)
_USER = cast(sa.Table, AppUser.__table__)
_OPEN311 = cast(sa.Table, Open311Request.__table__)
# Every encrypted column: table, {column: field name bound as associated data}.
ENCRYPTED: tuple[tuple[sa.Table, dict[str, str]], ...] = (
    (_REQUESTER, {"name": "name", "phone": "phone", "id_number": "id_number", "address": "address"}),
    (_USER, {"totp_secret": "totp"}),
    (_OPEN311, {"contact": "open311_contact"}),  # e-mail, device and account ids of an Open311 submission
)


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

    def counts(self) -> dict[str, int]:
        """Return the counts as a dict (for the audit row)."""
        return asdict(self)


def _value(new: PiiCipher, old: PiiCipher | None, field: str, stored: str | None,
           report: RotationReport) -> tuple[str | None, str | None]:
    """Return (value to store, plain text) for one stored value; the plain text is None when unreadable."""
    if stored is None:
        return None, None
    if not pii.is_encrypted(stored):
        report.encrypted_plain += 1
        return new.encrypt(field, stored), stored
    for cipher, counter in ((new, "current"), (old, "reencrypted")):
        if cipher is None:
            continue
        try:
            plain = cipher.decrypt(field, stored)
        except (PiiKeyError, ValueError):  # wrong key, altered, or not base64
            continue
        setattr(report, counter, getattr(report, counter) + 1)
        return (stored if cipher is new else new.encrypt(field, plain)), plain
    report.unreadable += 1
    return stored, None


def _changes(new: PiiCipher, old: PiiCipher | None, row: Any, columns: dict[str, str],
             report: RotationReport) -> dict[str, Any]:
    """Return the column values of one row that must change (none when all is under the configured key)."""
    changes: dict[str, Any] = {}
    plain: dict[str, str | None] = {}
    for column, field in columns.items():
        stored = getattr(row, column)
        value, plain[column] = _value(new, old, field, stored, report)
        if value != stored:
            changes[column] = value
    if "phone" in columns and plain.get("phone") is not None:
        index, last = new.phone_index(plain["phone"]), pii.last4(plain["phone"])
        if (index, last) != (row.phone_index, row.phone_last4):
            changes.update(phone_index=index, phone_last4=last)
            report.indexes += 1
    return changes


def reencrypt(engine: Engine, new: PiiCipher, old: PiiCipher | None = None, *, batch: int = 500) -> RotationReport:
    """Leave every encrypted column under `new`: re-encrypt from `old`, encrypt plain text; return the counts."""
    report = RotationReport()
    writer = engine.execution_options(sqlite_immediate=True) if engine.dialect.name == "sqlite" else engine
    for table, columns in ENCRYPTED:
        key = table.c.id
        extra = [table.c.phone_index, table.c.phone_last4] if "phone" in columns else []
        query = sa.select(key, *(table.c[c] for c in columns), *extra).where(key > sa.bindparam("after"))
        query = query.order_by(key).limit(batch)
        if engine.dialect.name == "postgresql":
            query = query.with_for_update()
        after = ""
        while True:
            with writer.begin() as conn:
                rows = conn.execute(query, {"after": after}).all()
                for row in rows:
                    changes = _changes(new, old, row, columns, report)
                    if changes:
                        conn.execute(table.update().where(key == row.id).values(**changes))
                        report.rows_written += 1
            report.rows += len(rows)
            if len(rows) < batch:
                break
            after = rows[-1].id
    return report
