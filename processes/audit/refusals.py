"""Refused access in the audit trail (拒绝访问审计, issue 16): one `denied` row per refusal, up to a cap a minute.

等保 level 3 asks for security-relevant events, refusals included. A script walking case ids would write a row
per request, so each actor (a user, or an anonymous caller by IP) gets at most `limit` rows a minute; beyond that
the refusals are only counted in `refusal_count`, and once the minute has ended one `access.denied_summary` row
(result `denied`) records how many there were. Audit rows are never updated: the summary is a new row, written by
whoever deletes the minute's count first (the scheduler's sweep or the actor's next refusal), in the same
transaction, so it is written once however many nodes try. The first refusal past the cap also raises an alert:
an `access.refusal_alert` row and a notice to the security administrators (outbox channel `internal`), as a third
concurrent session does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import cast

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from processes.audit import record as audit
from processes.audit.models import RefusalCount
from processes.runtime import outbox
from processes.runtime.outbox_payloads import security_alert

DEFAULT_LIMIT = 20
ALERT_KIND = "security.repeated_refusals"
_COUNT = cast(sa.Table, RefusalCount.__table__)


@dataclass(frozen=True)
class Refusal:
    """One refused request as the audit trail records it (no personal values: ids and route names only)."""

    actor: str  # user name, or "anonymous"
    source: str  # the anonymous caller's IP ('' for a signed-in user: one count wherever they come from)
    reason: str  # role / object / csrf / login …
    detail: Mapping[str, Any]  # endpoint, method, status
    role: str | None = None
    user_id: str | None = None
    source_ip: str | None = None
    session_hash: str | None = None
    request_id: str | None = None
    object_type: str | None = None
    object_id: str | None = None


def window(now: datetime) -> datetime:
    """Return the start of the minute `now` falls in (UTC)."""
    return now.astimezone(UTC).replace(second=0, microsecond=0)


def _bump(conn: Connection, actor: str, source: str, minute: datetime) -> int:
    """Count one refusal in the actor's minute and return the count so far (one upsert, safe across nodes)."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(_COUNT).values(actor=actor, source=source, minute=minute, refused=1)
    statement = statement.on_conflict_do_update(index_elements=["actor", "source", "minute"],
                                                set_={"refused": _COUNT.c.refused + 1})
    return int(conn.execute(statement.returning(_COUNT.c.refused)).scalar_one())


def refuse(conn: Connection, refusal: Refusal, *, now: datetime, limit: int = DEFAULT_LIMIT) -> str:
    """Record one refusal in the caller's transaction; return 'audited', 'alerted' or 'counted'."""
    summarise(conn, now=now, limit=limit, actor=refusal.actor, source=refusal.source)
    count = _bump(conn, refusal.actor[:64], refusal.source[:45], window(now))
    context: dict[str, Any] = {"at": now, "actor": refusal.actor, "role": refusal.role, "source_ip": refusal.source_ip,
               "session_hash": refusal.session_hash, "request_id": refusal.request_id}
    if count <= limit:
        audit.record(conn, action="access.denied", result="denied", object_type=refusal.object_type,
                     object_id=refusal.object_id, detail={"reason": refusal.reason, **refusal.detail}, **context)
        return "audited"
    if count > limit + 1:
        return "counted"
    detail = {"refusals_this_minute": count, "limit": limit, "reason": refusal.reason}
    audit.record(conn, action="access.refusal_alert", result="alert", object_type="app_user",
                 object_id=refusal.user_id, detail=detail, **context)
    key = f"refusals:{refusal.actor}:{refusal.source}:{window(now).isoformat()}"
    payload = security_alert(ALERT_KIND, to_role="secadmin", user_id=refusal.user_id or "", detail=detail, now=now)
    if refusal.user_id is None:  # an anonymous caller: no account to name, the address is in the audit row
        payload["personal"].pop("account", None)
        payload["detail"] = {**detail, "actor": "anonymous"}
    outbox.enqueue(conn, channel="internal", kind=ALERT_KIND, now=now, key=key, payload=payload)
    return "alerted"


def summarise(conn: Connection, *, now: datetime, limit: int = DEFAULT_LIMIT, actor: str | None = None,
              source: str | None = None) -> int:
    """Close the ended minutes (of one actor, or all): a summary row for each that went past the cap; return how
    many summaries were written. Each minute's count is deleted by exactly one caller, who writes its summary."""
    query = sa.select(_COUNT).where(_COUNT.c.minute < window(now))
    if actor is not None:
        query = query.where(_COUNT.c.actor == actor[:64], _COUNT.c.source == (source or "")[:45])
    written = 0
    for row in conn.execute(query.order_by(_COUNT.c.minute)).mappings().all():
        gone = conn.execute(_COUNT.delete().where(
            _COUNT.c.actor == row["actor"], _COUNT.c.source == row["source"], _COUNT.c.minute == row["minute"],
            _COUNT.c.refused == row["refused"]))
        if gone.rowcount != 1 or row["refused"] <= limit:
            continue  # another node closed it first, or every refusal of the minute has its own row
        minute = row["minute"]
        audit.record(conn, action="access.denied_summary", result="denied", actor=row["actor"], at=now,
                     source_ip=row["source"] or None,
                     detail={"minute": minute.isoformat(), "until": (minute + timedelta(minutes=1)).isoformat(),
                             "refused": row["refused"], "audited": limit, "not_audited": row["refused"] - limit})
        written += 1
    return written
