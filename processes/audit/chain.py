"""Check and trim the audit chain (审计链校验与保留): verify every sealed row, archive and purge old ones behind a
checkpoint."""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any
from typing import cast

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from processes.audit.archive import write_archive
from processes.audit.models import AuditChainHead
from processes.audit.models import AuditLog
from processes.audit.models import AuditPurgeGate
from processes.audit.record import GENESIS
from processes.audit.record import AuditRefused
from processes.audit.record import chain_lock
from processes.audit.record import chain_value
from processes.audit.record import hashed_columns
from processes.audit.record import locked_head
from processes.audit.record import parsed
from processes.audit.record import read_head
from processes.audit.record import record

MIN_RETENTION_DAYS = 180  # 网络安全法 art. 21: network logs are kept at least six months
PAGE = 10_000
_LOG = cast(sa.Table, AuditLog.__table__)
_HEAD = cast(sa.Table, AuditChainHead.__table__)
_GATE = cast(sa.Table, AuditPurgeGate.__table__)
Row = Mapping[Any, Any]


@dataclass(frozen=True)
class Problem:
    """The first place the chain does not hold: what (edited, deleted, inserted, reordered, truncated) and where."""

    kind: str
    seq: int
    row_id: int | None
    message: str

    def __str__(self) -> str:
        where = f"seq {self.seq}" + (f" (id {self.row_id})" if self.row_id is not None else "")
        return f"{self.kind} at {where}: {self.message}"


@dataclass(frozen=True)
class VerifyReport:
    """What `verify` found: rows checked, the head, the first problem (None when intact) and rows not yet sealed."""

    checked: int
    first_seq: int  # first seq still held (checkpoint + 1)
    last_seq: int
    head_seq: int
    head_hash: str
    unsealed: int
    problem: Problem | None

    @property
    def intact(self) -> bool:
        """Return True when every sealed row chains and the tail matches the head (and the anchor, if given)."""
        return self.problem is None


def _sealed(conn: Connection, after: int, through: int | None) -> Iterator[Row]:
    """Yield sealed rows with seq above `after` (up to `through`) in seq order, a page at a time."""
    query = sa.select(*hashed_columns()).where(_LOG.c.seq > sa.bindparam("after"))
    if through is not None:
        query = query.where(_LOG.c.seq <= through)
    query = query.order_by(_LOG.c.seq).limit(PAGE)
    while True:
        rows = [parsed(r) for r in conn.execute(query, {"after": after}).mappings().all()]
        yield from rows
        if len(rows) < PAGE:
            return
        after = rows[-1]["seq"]


def _classify(key: bytes, previous: str, row: Row, following: Row | None, head_seq: int) -> Problem:
    """Say what most likely happened at a row whose chain value does not match."""
    seq, row_id = int(row["seq"]), int(row["id"])
    if seq > head_seq:
        return Problem("inserted", seq, row_id, f"sealed row beyond the head (seq {head_seq})")
    if following is not None and chain_value(key, previous, following) == following["chain_hash"]:
        if chain_value(key, following["chain_hash"], row) == row["chain_hash"]:
            return Problem("reordered", seq, row_id, f"belongs after seq {following['seq']} (id {following['id']})")
        return Problem("inserted", seq, row_id, "row does not belong to the chain; the next row chains past it")
    if following is not None and chain_value(key, row["chain_hash"], following) == following["chain_hash"]:
        return Problem("edited", seq, row_id, "content does not match its chain value")
    return Problem("edited", seq, row_id, "chain value does not match (row edited, replaced or renumbered)")


def walk(conn: Connection, key: bytes, *, after: int, start: str, through: int | None, head_seq: int,
         anchor: tuple[int, str] | None = None) -> tuple[int, int, str, Problem | None]:
    """Check sealed rows after seq `after` (whose chain value is `start`); return count, last seq, hash, problem."""
    expected, value, count = after + 1, start, 0
    rows = _sealed(conn, after, through)
    row = next(rows, None)
    while row is not None:
        following = next(rows, None)
        if row["seq"] != expected:
            gap = f"seq {expected}" + (f"..{row['seq'] - 1}" if row["seq"] - 1 > expected else "")
            return count, expected - 1, value, Problem("deleted", expected, None, f"{gap} missing")
        if chain_value(key, value, row) != row["chain_hash"]:
            return count, expected - 1, value, _classify(key, value, row, following, head_seq)
        value, count, expected = row["chain_hash"], count + 1, expected + 1
        if anchor is not None and row["seq"] == anchor[0] and value != anchor[1]:
            return count, expected - 1, value, Problem("edited", anchor[0], row["id"], "differs from the anchor")
        row = following
    return count, expected - 1, value, None


def verify(engine: Engine, key: bytes, *, anchor: tuple[int, str] | None = None) -> VerifyReport:
    """Walk the sealed rows in seq order from the checkpoint and report the first problem and where it is.

    An anchor (seq, hash) kept outside the database also catches a tail truncated together with the head.
    """
    conn_options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(**conn_options) as conn, conn.begin():  # one snapshot throughout
        head = read_head(conn)
        head_seq, head_hash = (head.seq, head.hash) if head is not None else (0, GENESIS)
        after, start = (head.checkpoint_seq, head.checkpoint_hash) if head is not None else (0, GENESIS)
        count, last, value, problem = walk(conn, key, after=after, start=start, through=None, head_seq=head_seq,
                                           anchor=anchor)
        unsealed = int(conn.scalar(sa.select(sa.func.count()).select_from(_LOG).where(_LOG.c.seq.is_(None))) or 0)
    if problem is None:
        problem = _tail_problem(last, value, head_seq, head_hash, after, start, anchor)
    return VerifyReport(count, after + 1, last, head_seq, head_hash, unsealed, problem)


def _tail_problem(last: int, value: str, head_seq: int, head_hash: str, checkpoint: int, checkpoint_hash: str,
                  anchor: tuple[int, str] | None) -> Problem | None:
    """Compare the end of an intact walk with the head and the anchor."""
    if last < head_seq:
        return Problem("truncated", last + 1, None, f"chain ends at seq {last} but the head says {head_seq}")
    if last > head_seq:
        return Problem("inserted", head_seq + 1, None, f"sealed rows beyond the head (seq {head_seq})")
    if value != head_hash:
        return Problem("edited", head_seq, None, "the head's hash does not match the chain")
    if anchor is not None and anchor[0] > last:
        return Problem("truncated", last + 1, None, f"chain ends at seq {last} before the anchor at {anchor[0]}")
    if anchor is not None and anchor[0] == checkpoint and anchor[1] != checkpoint_hash:
        return Problem("edited", checkpoint, None, "the checkpoint differs from the anchor")
    return None


@dataclass(frozen=True)
class PurgeResult:
    """How many rows a purge deleted, the checkpoint the chain now starts from and the archive that holds them."""

    deleted: int
    checkpoint_seq: int
    archive: Path | None = None
    archive_sha256: str | None = None


def _gate(conn: Connection, *, opened: bool) -> None:
    """Open or close the purge gate the delete triggers check, inside this transaction only."""
    postgres = conn.dialect.name == "postgresql"
    txid = sa.func.txid_current() if postgres else sa.literal(0)  # SQLite: one writer, no transaction ids
    if opened:
        conn.execute(_GATE.insert().from_select(["txid"], sa.select(txid)))
    else:
        conn.execute(_GATE.delete().where(_GATE.c.txid == sa.select(txid).scalar_subquery()))


def purge(engine: Engine, key: bytes, older_than: datetime, *, now: datetime, actor: str, archive_dir: Path,
          retention_days: int = MIN_RETENTION_DAYS) -> PurgeResult:
    """Archive, then delete the sealed prefix of the chain older than `older_than`, leaving a checkpoint.

    Refuses a cutoff younger than the retention period, a period under 180 days, a broken prefix (purging
    it would destroy the evidence) and an archive that cannot be written. Rows older than the cutoff sealed after
    a younger row stay: the chain is trimmed in seq order only. The purge audits itself in its own transaction.
    """
    if retention_days < MIN_RETENTION_DAYS:
        raise AuditRefused(f"audit records are kept at least {MIN_RETENTION_DAYS} days, not {retention_days}")
    if older_than > now - timedelta(days=retention_days):
        raise AuditRefused(f"refusing to purge records younger than {retention_days} days")
    with chain_lock(engine) as conn:
        head = locked_head(conn)
        first_young = conn.scalar(sa.select(sa.func.min(_LOG.c.seq)).where(
            _LOG.c.seq > head.checkpoint_seq, _LOG.c.at >= older_than))
        through = head.seq if first_young is None else int(first_young) - 1
        if through <= head.checkpoint_seq:
            return PurgeResult(0, head.checkpoint_seq)
        _, last, value, problem = walk(conn, key, after=head.checkpoint_seq, start=head.checkpoint_hash,
                                       through=through, head_seq=head.seq)
        if problem is None and last != through:
            problem = Problem("truncated", last + 1, None, f"chain ends at seq {last} before seq {through}")
        if problem is not None:
            raise AuditRefused(f"not purging a broken chain: {problem}")
        # The archive is complete and on disk before anything is deleted; if it fails, nothing is.
        archive = write_archive(archive_dir, _sealed(conn, head.checkpoint_seq, through),
                                first_seq=head.checkpoint_seq + 1, through_seq=through,
                                previous_hash=head.checkpoint_hash, last_hash=value, now=now)
        _gate(conn, opened=True)
        deleted = conn.execute(_LOG.delete().where(_LOG.c.seq > head.checkpoint_seq, _LOG.c.seq <= through))
        conn.execute(_HEAD.update().where(_HEAD.c.id == 1).values(
            checkpoint_seq=through, checkpoint_hash=value, checkpoint_at=now))
        _gate(conn, opened=False)
        count = int(getattr(deleted, "rowcount", 0) or 0)
        record(conn, action="audit.purge", actor=actor, at=now, object_type="audit_log",
               detail={"older_than": older_than.isoformat(), "through_seq": through, "deleted": count,
                       "archive": archive.path.name, "archive_sha256": archive.sha256})
    return PurgeResult(count, through, archive.path, archive.sha256)


def rows_between(conn: Connection, start: datetime, end: datetime) -> Iterator[Row]:
    """Yield audit rows with start <= at < end in id order, streamed (for auditors' exports)."""
    query = sa.select(_LOG).where(_LOG.c.at >= start, _LOG.c.at < end).order_by(_LOG.c.id)
    yield from conn.execute(query.execution_options(yield_per=PAGE)).mappings()
