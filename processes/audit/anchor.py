"""External anchors of the audit chain (审计链外部锚定, AUD-02): the head's seq and hash, kept outside the database.

Whoever can write the database can cut off the chain's tail and rewind the head with it; `verify` sees that
only against a head value kept elsewhere. `anchor` appends the current head as one JSON line
(`{"seq": …, "hash": …, "at": UTC}`) to a file outside the database (the scheduler does it daily); copy the
file off the machine (another host, WORM storage, the auditors' mailbox). `latest` reads it back for
`hotline audit verify --anchors FILE`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from processes.audit.record import GENESIS
from processes.audit.record import AuditRefused
from processes.audit.record import read_head
from processes.audit.record import record


@dataclass(frozen=True)
class Anchor:
    """One anchored head: the last sealed seq, its chain value and when it was read (UTC)."""

    seq: int
    hash: str
    at: datetime

    def line(self) -> str:
        """Return the anchor as one JSON line (without the newline)."""
        return json.dumps({"seq": self.seq, "hash": self.hash,
                           "at": self.at.astimezone(UTC).isoformat(timespec="seconds")}, sort_keys=True)


def read_anchors(path: Path) -> list[Anchor]:
    """Return every anchor of a file in order; a malformed line is refused, not skipped."""
    anchors = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                anchors.append(Anchor(int(data["seq"]), str(data["hash"]), datetime.fromisoformat(data["at"])))
            except (ValueError, KeyError, TypeError) as exc:
                raise AuditRefused(f"{path.name} line {number}: not an anchor") from exc
    return anchors


def latest(path: Path) -> Anchor | None:
    """Return the anchor with the highest seq (the latest head), None for an empty file."""
    anchors = read_anchors(path)
    return max(anchors, key=lambda a: a.seq) if anchors else None


def anchor(engine: Engine, path: Path, *, now: datetime, actor: str) -> tuple[Anchor, bool]:
    """Append the chain's current head to the anchor file and audit it; return it and whether it was new.

    A head already anchored last (nothing sealed since) is not written twice, so several schedulers anchoring
    daily to a shared file add one line, not one each.
    """
    with engine.connect() as conn:
        head = read_head(conn)
    current = Anchor(head.seq, head.hash, now) if head is not None else Anchor(0, GENESIS, now)
    previous = read_anchors(path) if path.exists() else []
    if previous and (previous[-1].seq, previous[-1].hash) == (current.seq, current.hash):
        return previous[-1], False
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(current.line() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    with engine.begin() as conn:
        record(conn, action="audit.anchor", actor=actor, at=now, object_type="audit_log",
               detail={"seq": current.seq, "hash": current.hash, "file": path.name})
    return current, True
