"""The outbox (发件箱): every message leaving the system is a row written in the command's transaction and
delivered after commit, at least once, with an idempotency key receivers use to drop repeats.

Payload shapes per channel: `outbox_payloads`; readable text: `outbox_text`; personal values, read at delivery:
`outbox_personal`.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from processes.runtime import outbox_personal
from processes.runtime import outbox_text
from processes.runtime.core import Runtime
from processes.runtime.models import OutboxMessage

DEFAULT_BACKOFF = [60.0, 300.0, 900.0, 3600.0, 14400.0]
SPOOL = "spool"


@dataclass(frozen=True)
class Message:
    """What an adapter gets: the stored payload, and the personal values it points at, read just now.

    `personal` lives in memory for this one delivery only; it is never written back to the outbox row.
    """

    id: int
    channel: str
    kind: str
    case_id: str | None
    payload: Mapping[str, Any]
    idempotency_key: str
    attempts: int
    personal: Mapping[str, str | None] = field(default_factory=dict)


class Adapter(Protocol):
    """Delivers messages of one channel to a real gateway (SMS, upstream platform, 110); raises on failure.

    It gets the personal values the payload points at in `message.personal`, unless it sets `wants_personal =
    False`.
    """

    name: str

    def deliver(self, message: Message) -> None:
        """Deliver one message or raise; a repeat with the same idempotency key must have no second effect."""


class SpoolAdapter:
    """Default adapter: the message stays in the outbox as delivered-to-spool, and the office reads it in the app.

    Never a log file: messages refer to citizens' cases, and logs are kept out of personal data.
    """

    name = SPOOL
    wants_personal = False  # nothing leaves the system, so nothing personal is read for it

    def deliver(self, message: Message) -> None:
        """Nothing leaves the system; marking the row delivered is the delivery."""


def enqueue(db: Session | Connection, *, channel: str, kind: str, payload: Mapping[str, Any], key: str,
            now: datetime, case_id: str | None = None, instance_id: str | None = None) -> bool:
    """Add a message in the caller's transaction; a second enqueue with the same key is dropped. True if new."""
    insert = postgresql.insert if _dialect(db) == "postgresql" else sqlite.insert
    statement = insert(OutboxMessage).values(
        channel=channel, kind=kind, case_id=case_id, instance_id=instance_id, payload=dict(payload),
        idempotency_key=key[:200], status="pending", attempts=0, next_try_at=now, created_at=now,
    ).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(OutboxMessage.id)
    return db.execute(statement).first() is not None


def _dialect(db: Session | Connection) -> str:
    bind = db.get_bind() if isinstance(db, Session) else db
    return str(bind.dialect.name)


def claim(rt: Runtime, owner: str, *, lease: timedelta, limit: int = 50) -> list[Message]:
    """Claim messages due for delivery (and ones whose runner's lease ran out)."""
    now = rt.clock()
    with rt.write() as session, session.begin():
        query = sa.select(OutboxMessage).where(sa.or_(
            sa.and_(OutboxMessage.status == "pending", OutboxMessage.next_try_at <= now),
            sa.and_(OutboxMessage.status == "claimed", OutboxMessage.lease_until < now),
        )).order_by(OutboxMessage.next_try_at).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = list(session.scalars(query))
        for row in rows:
            row.status, row.lease_owner, row.lease_until = "claimed", owner, now + lease
        return [Message(r.id, r.channel, r.kind, r.case_id, dict(r.payload), r.idempotency_key, r.attempts)
                for r in rows]


def deliver_due(rt: Runtime, adapters: Mapping[str, Adapter], owner: str, *, lease: timedelta,
                backoff: Sequence[float] = DEFAULT_BACKOFF, limit: int = 50) -> dict[str, int]:
    """Deliver one batch: after commit, outside any transaction; failures back off, then become incidents."""
    counts = {"delivered": 0, "retry": 0, "failed": 0}
    for message in claim(rt, owner, lease=lease, limit=limit):
        adapter = adapters.get(message.channel) or adapters.get("*") or SpoolAdapter()
        try:
            adapter.deliver(_with_personal(rt, adapter, message))
        except Exception as exc:  # any gateway error (or its case gone): record it and try again later
            counts[_record_failure(rt, message, owner, f"{type(exc).__name__}: {exc}", backoff)] += 1
            continue
        _record_delivery(rt, message, owner, adapter.name)
        counts["delivered"] += 1
    return counts


def _with_personal(rt: Runtime, adapter: Adapter, message: Message) -> Message:
    """Add the personal values the payload points at, for adapters that send them (real gateways)."""
    if not getattr(adapter, "wants_personal", True) or not message.payload.get("personal"):
        return message
    with rt.read() as session:
        return replace(message, personal=outbox_personal.resolve(session, message.case_id, message.payload))


def _record_delivery(rt: Runtime, message: Message, owner: str, via: str) -> None:
    with rt.write() as session, session.begin():
        session.execute(sa.update(OutboxMessage).where(
            OutboxMessage.id == message.id, OutboxMessage.lease_owner == owner).values(
            status="delivered", delivered_at=rt.clock(), delivered_via=via, attempts=message.attempts + 1,
            lease_owner=None, lease_until=None))


def _record_failure(rt: Runtime, message: Message, owner: str, error: str, backoff: Sequence[float]) -> str:
    exhausted = message.attempts >= len(backoff)
    delay = backoff[min(message.attempts, len(backoff) - 1)]
    with rt.write() as session, session.begin():
        session.execute(sa.update(OutboxMessage).where(
            OutboxMessage.id == message.id, OutboxMessage.lease_owner == owner).values(
            status="failed" if exhausted else "pending", attempts=message.attempts + 1, last_error=error[:2000],
            next_try_at=rt.clock() + timedelta(seconds=delay), lease_owner=None, lease_until=None))
    return "failed" if exhausted else "retry"


def resend(rt: Runtime, message_id: int, *, also: Callable[[Session], None] | None = None) -> bool:
    """Put a failed message back in the queue (after the gateway is fixed); False when it is not failed (any more).

    `also` (the caller's audit row) is written in the same transaction, only when the message was requeued.
    """
    with rt.write() as session, session.begin():
        requeued = session.execute(sa.update(OutboxMessage).where(
            OutboxMessage.id == message_id, OutboxMessage.status == "failed").values(
            status="pending", attempts=0, next_try_at=rt.clock()).returning(OutboxMessage.id)).first()
        if requeued is not None and also is not None:
            also(session)
    return requeued is not None


def describe(message: OutboxMessage) -> list[str]:
    """Readable Chinese lines of a stored message, without its personal values (spool listing, `outbox list`)."""
    return outbox_text.render(message.channel, message.kind, message.payload)


def messages(rt: Runtime, *, status: str | None = None, limit: int = 200) -> list[OutboxMessage]:
    """Return outbox messages, newest first (the in-app spool)."""
    with rt.read() as session:
        query = sa.select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
        if status:
            query = query.where(OutboxMessage.status == status)
        return list(session.scalars(query))
