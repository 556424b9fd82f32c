"""Tables of the audit trail (审计日志): one row per audited event, and the head of its hash chain.

Loaded with every other table by `processes.db.schema`; `processes.audit.record` writes and seals them.
Database triggers (migration 0010) refuse every UPDATE and DELETE except sealing and purging.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from processes.db.base import Base

# 64-bit ids and sequence numbers on PostgreSQL; SQLite only autoincrements a plain INTEGER primary key
# (which is 64-bit there anyway).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class AuditLog(Base):
    """One audited event (审计记录): who did what to which object, from where, with what result.

    Written in the transaction of the change it records; the seal columns stay NULL until the sealer chains
    the row (`processes.audit.record.seal`). Summaries hold field names and non-personal values only.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_object", "object_type", "object_id"),
        # The sealer's work list, in id order: stays tiny however long the sealed chain grows.
        sa.Index("ix_audit_log_unsealed", "id", postgresql_where=sa.text("seq IS NULL"),
                 sqlite_where=sa.text("seq IS NULL")),
        sa.CheckConstraint("result IN ('success', 'failure', 'denied', 'alert')", name="result"),
        {"sqlite_autoincrement": True},  # never reuse the id of a deleted row
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)  # insertion order
    at: Mapped[datetime] = mapped_column(index=True)  # UTC, millisecond precision
    actor: Mapped[str] = mapped_column(sa.String(64), index=True)  # user name, or system:timer / cli …
    role: Mapped[str | None] = mapped_column(sa.String(64))
    source_ip: Mapped[str | None] = mapped_column(sa.String(45))
    session_hash: Mapped[str | None] = mapped_column(sa.String(64))  # a hash of the session id, never the id
    action: Mapped[str] = mapped_column(sa.String(64))
    object_type: Mapped[str | None] = mapped_column(sa.String(32))
    object_id: Mapped[str | None] = mapped_column(sa.String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    result: Mapped[str] = mapped_column(sa.String(8))  # success / failure / denied / alert
    request_id: Mapped[str | None] = mapped_column(sa.String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    # Seal: position in the chain (consecutive from 1), HMAC chain value (hex) and when it was sealed.
    seq: Mapped[int | None] = mapped_column(sa.BigInteger, unique=True)
    chain_hash: Mapped[str | None] = mapped_column(sa.String(64))
    sealed_at: Mapped[datetime | None]


class AuditChainHead(Base):
    """The one row naming the chain's last sealed record and its retention checkpoint (审计链头).

    Sealers lock it to extend the chain; verify compares the chain's tail with it to detect truncation.
    Purged rows leave their last seq and hash here as the checkpoint the remaining chain starts from.
    """

    __tablename__ = "audit_chain_head"
    __table_args__ = (sa.CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(sa.BigInteger)  # last sealed seq, 0 when nothing is sealed
    hash: Mapped[str] = mapped_column(sa.String(64))  # chain value of that record (the genesis when 0)
    sealed_at: Mapped[datetime | None]
    checkpoint_seq: Mapped[int] = mapped_column(sa.BigInteger)  # last purged seq, 0 when nothing was purged
    checkpoint_hash: Mapped[str] = mapped_column(sa.String(64))
    checkpoint_at: Mapped[datetime | None]


class AuditPurgeGate(Base):
    """Open while `hotline audit purge` deletes (审计清理闸门): the delete triggers let rows go only then.

    The purge inserts its row and removes it again inside its own transaction, so no other transaction ever sees
    the gate open; on PostgreSQL the row also names that transaction's id. The app role gets no rights on it.
    """

    __tablename__ = "audit_purge_gate"

    txid: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)


class RefusalCount(Base):
    """Refusals (拒绝访问) one actor met in one minute, counted outside the audit table (issue 16).

    The first REFUSAL_AUDIT_PER_MINUTE refusals of a minute are audit rows of their own; the rest only raise this
    count, and when the minute has ended one `access.denied_summary` row records how many there were
    (`processes.audit.refusals`). Audit rows are never updated, so the count lives here until then. A database
    row, like the login limit's `login_attempt`, so every app node counts into the same window.
    """

    __tablename__ = "refusal_count"

    actor: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # user name, or "anonymous"
    source: Mapped[str] = mapped_column(sa.String(45), primary_key=True)  # an anonymous caller's IP; '' for users
    minute: Mapped[datetime] = mapped_column(primary_key=True)  # UTC start of the window
    refused: Mapped[int]
