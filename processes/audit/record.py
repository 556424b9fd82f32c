"""Audit trail (审计日志): record events in the caller's transaction, then seal them into an HMAC hash chain.

How the chain works (security.md AUD-02, S5.2):

* `record` inserts one `audit_log` row in the caller's transaction, so a change and its audit row commit or roll
  back together. Inserts never touch the chain or its lock, so commits never queue behind one another.
* `seal` (the scheduler runs it every minute; `hotline audit seal`) takes the chain lock — `pg_advisory_xact_lock`
  on PostgreSQL, `BEGIN IMMEDIATE` on SQLite — reads the head row and gives every unsealed row it can see, in id
  order, the next consecutive `seq` and the chain value
  h_seq = HMAC-SHA256(key, h_(seq-1) ‖ canonical_json(row without seal columns)), h_0 = GENESIS.
  Concurrent sealers queue on the lock and re-read the head under it, so together they extend one chain.
* Late commits: on PostgreSQL an id is taken at insert and transactions commit in any order, so a row with a
  lower id can become visible after higher ones were sealed. Hence the chain runs in seq order (the order the
  sealer found the rows), never id order, and the sealer looks for `seq IS NULL`, never "ids above a watermark":
  a late row is sealed by the next run under a later seq. Nothing waits for gaps, so no grace period is needed
  and no row can be skipped; seq order differs from id order only around such late commits.
* The head row names the last sealed (seq, hash), so `processes.audit.chain.verify` sees a truncated tail. Whoever
  can write the table can rewind the head as well, so its value is also anchored outside the database (verify
  takes an anchor). A row is protected once sealed; until then (at most a sealer interval) it is not.
* Retention (`processes.audit.chain.purge`) first writes a sealed prefix of the chain to an archive file
  (`processes.audit.archive`), then deletes it and keeps the last purged (seq, hash) in the head as the checkpoint
  the remaining rows verify from. `processes.audit.anchor` appends the head to a file outside the database daily.
* Database triggers (migration 0010) refuse any other UPDATE or DELETE, even by the table owner; only dropping
  them (DDL, which the app role cannot do) gets past, and then the chain still shows the change.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import cast

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from processes.audit.models import AuditChainHead
from processes.audit.models import AuditLog
from processes.cases.numbers import has_number
from processes.clock import Clock
from processes.clock import system_clock

GENESIS = hashlib.sha256(b"hotline-flow audit chain v1").hexdigest()
RESULTS = ("success", "failure", "denied", "alert")  # alert: a security alert, e.g. a third session
MAX_TEXT = 500  # summaries hold names and short values; longer text is content, which stays in the case tables
_LOCK_ID = 0x4155_4449_5431  # the chain's advisory lock on PostgreSQL
_LOG = cast(sa.Table, AuditLog.__table__)
_HEAD = cast(sa.Table, AuditChainHead.__table__)
HASHED = ("id", "at", "actor", "role", "source_ip", "session_hash", "action", "object_type", "object_id",
          "before", "after", "result", "request_id", "detail")
_JSON = ("before", "after", "detail")
# The JSON columns come back as text and are parsed in one call per row, not three (the bulk of verify's time).
_COLUMNS = [sa.cast(_LOG.c[name], sa.Text).label(name) if name in _JSON else _LOG.c[name] for name in HASHED]
# Built once: json.dumps with options builds a new encoder per call, a third of the encoding time.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
# Line breaks and other control characters would let a value forge a new line in a text log (log injection).
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
# Identifiers whose digits are not personal data: UUIDs and hex digests (with a letter, so not a run of digits).
_IDENTIFIER = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|(?=\d*[a-f])[0-9a-f]{32,128}")
_SEAL = _LOG.update().where(_LOG.c.id == sa.bindparam("b_id")).values(
    seq=sa.bindparam("b_seq"), chain_hash=sa.bindparam("b_hash"), sealed_at=sa.bindparam("b_at"))
# PostgreSQL: one statement per batch instead of one pipelined statement per row.
_SEAL_PG = sa.text(
    "UPDATE audit_log SET seq = v.seq, chain_hash = v.hash, sealed_at = :at "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:seqs AS bigint[]), CAST(:hashes AS varchar[])) AS v(id, seq, hash) "
    "WHERE audit_log.id = v.id").bindparams(sa.bindparam("at", type_=AuditLog.sealed_at.type))


class AuditRefused(ValueError):
    """A value the audit trail must not hold (a full phone or ID number, an unknown result, a long text)."""


def clean(value: Any, where: str = "value") -> Any:
    """Return a JSON-safe copy of a value with control characters blanked; refuse personal data."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        clean(str(value), where)  # a number can be a phone number too
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise AuditRefused(f"{where}: not a finite number")
        return value
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise AuditRefused(f"{where}: {len(value)} characters; audit summaries hold no long text")
        if not _IDENTIFIER.fullmatch(value) and has_number(value):
            raise AuditRefused(f"{where}: looks like a full phone or ID number; record field names, not values")
        return _CONTROL.sub(" ", value)
    if isinstance(value, Mapping):
        return {clean(str(k), f"{where} key"): clean(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise AuditRefused(f"{where}: {type(value).__name__} is not a JSON value")


def _column(value: str | None, where: str, width: int) -> str | None:
    """Clean a text column and cut it to the column's width."""
    return None if value is None else cast(str, clean(value, where))[:width]


def record(conn: Connection | Session, *, action: str, actor: str, result: str = "success",
           at: datetime | None = None, role: str | None = None, source_ip: str | None = None,
           session_hash: str | None = None, object_type: str | None = None, object_id: str | None = None,
           before: Mapping[str, Any] | None = None, after: Mapping[str, Any] | None = None,
           request_id: str | None = None, detail: Mapping[str, Any] | None = None) -> int:
    """Insert one audit row in the caller's transaction and return its id.

    :param conn: the connection or session of the change being audited, so both commit or roll back together
    :param action: what happened, e.g. ``task.complete`` (NOT NULL)
    :param actor: who did it: a user name or ``system:timer``, ``cli`` …
    :param result: ``success``, ``failure``, ``denied`` or ``alert``
    :param before: summary before the change: field names and non-personal values only
    :param after: summary after the change, likewise
    :raises AuditRefused: a value looks like a full phone or ID number, or is not a short JSON value
    """
    if result not in RESULTS:
        raise AuditRefused(f"result must be one of {', '.join(RESULTS)}")
    if not action or not actor:
        raise AuditRefused("action and actor are required")
    if at is not None and at.tzinfo is None:
        raise AuditRefused("naive datetime: give audit times in UTC")
    when = (at or system_clock()).astimezone(UTC)
    values = {
        "at": when.replace(microsecond=when.microsecond // 1000 * 1000),  # milliseconds, the same on every backend
        "actor": _column(actor, "actor", 64), "role": _column(role, "role", 64),
        "source_ip": _column(source_ip, "source_ip", 45), "session_hash": _column(session_hash, "session_hash", 64),
        "action": _column(action, "action", 64), "object_type": _column(object_type, "object_type", 32),
        "object_id": _column(object_id, "object_id", 64), "result": result,
        "request_id": _column(request_id, "request_id", 64),
        "before": clean(dict(before), "before") if before is not None else None,
        "after": clean(dict(after), "after") if after is not None else None,
        "detail": clean(dict(detail), "detail") if detail is not None else None,
    }
    key = cast(sa.CursorResult[Any], conn.execute(_LOG.insert(), values)).inserted_primary_key
    assert key is not None  # noqa: S101  (an insert always has one)
    return int(key[0])


def canonical(row: Mapping[Any, Any]) -> bytes:
    """Return the bytes a row's chain value covers: its columns except the seal, as sorted compact JSON."""
    data = {name: row[name] for name in HASHED}
    data["at"] = row["at"].astimezone(UTC).isoformat(timespec="milliseconds")[:23] + "Z"
    return _CANONICAL.encode(data).encode()


def chain_value(key: bytes, previous: str | None, row: Mapping[Any, Any]) -> str:
    """Return h_i = HMAC-SHA256(key, h_(i-1) ‖ canonical(row)) as hex ('' when h_(i-1) is not hex: tampered)."""
    try:
        prefix = bytes.fromhex(previous or "")
    except (TypeError, ValueError):
        return ""  # matches no stored value, so verify reports the row instead of failing
    return hmac.new(key, prefix + canonical(row), hashlib.sha256).hexdigest()


def hashed_columns() -> list[sa.ColumnElement[Any]]:
    """Return the columns a chain value covers (JSON as text; see `parsed`), plus seq and chain_hash."""
    return [*_COLUMNS, _LOG.c.seq, _LOG.c.chain_hash]


def parsed(row: Mapping[Any, Any]) -> dict[str, Any]:
    """Return a row selected with `hashed_columns` as a dict with its JSON columns parsed."""
    data = dict(row)
    data["before"], data["after"], data["detail"] = json.loads(
        f"[{row['before'] or 'null'},{row['after'] or 'null'},{row['detail'] or 'null'}]")
    return data


@contextmanager
def chain_lock(engine: Engine) -> Iterator[Connection]:
    """Open a transaction holding the chain lock; only sealing and purging take it, never inserts."""
    bind = engine.execution_options(sqlite_immediate=True) if engine.dialect.name == "sqlite" else engine
    with bind.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_ID)))
        yield conn


def read_head(conn: Connection) -> sa.Row[Any] | None:
    """Return the head row, None before anything was sealed."""
    return conn.execute(sa.select(_HEAD).where(_HEAD.c.id == 1)).one_or_none()


def locked_head(conn: Connection) -> sa.Row[Any]:
    """Return the head row, making it first when missing; call only under the chain lock."""
    head = read_head(conn)
    if head is None:
        conn.execute(_HEAD.insert().values(id=1, seq=0, hash=GENESIS, checkpoint_seq=0, checkpoint_hash=GENESIS))
        head = conn.execute(sa.select(_HEAD).where(_HEAD.c.id == 1)).one()
    return head


def seal(engine: Engine, key: bytes, batch: int = 5000, *, clock: Clock = system_clock) -> int:
    """Chain every unsealed row visible now, `batch` rows per transaction; return how many were sealed."""
    total = 0
    while True:
        with chain_lock(engine) as conn:
            head = locked_head(conn)
            rows = [parsed(r) for r in conn.execute(sa.select(*_COLUMNS).where(_LOG.c.seq.is_(None))
                                                    .order_by(_LOG.c.id).limit(batch)).mappings()]
            if not rows:
                return total
            now, seq, value = clock(), head.seq, head.hash
            seqs, hashes = [], []
            for row in rows:
                seq, value = seq + 1, chain_value(key, value, row)
                seqs.append(seq)
                hashes.append(value)
            ids = [row["id"] for row in rows]
            if conn.dialect.name == "postgresql":
                conn.execute(_SEAL_PG, {"at": now, "ids": ids, "seqs": seqs, "hashes": hashes})
            else:
                conn.execute(_SEAL, [{"b_id": i, "b_seq": s, "b_hash": h, "b_at": now}
                                     for i, s, h in zip(ids, seqs, hashes, strict=True)])
            conn.execute(_HEAD.update().where(_HEAD.c.id == 1).values(seq=seq, hash=value, sealed_at=now))
        total += len(rows)
        if len(rows) < batch:
            return total
