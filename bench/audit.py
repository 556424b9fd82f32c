"""Audit chain benchmark (issue 5, security.md S5.2): insert, seal and verify rates; 1 M rows verify in < 60 s.

Run `python -m bench.audit --json [--rows 1000000]`; the JSON object is the last line on stdout, logs on stderr.
HOTLINE_DATABASE_URL names a PostgreSQL server (the run creates its own database and drops it); without it the
benchmark runs on a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import cast

import sqlalchemy as sa

from bench.dbsetup import own_database
from processes.audit.chain import verify
from processes.audit.models import AuditLog
from processes.audit.record import seal
from processes.db.engines import create_db_engine

KEY = b"bench-audit-key-0123456789abcdef0123456789"
log = logging.getLogger("bench.audit")


def fill(engine: sa.Engine, rows: int, chunk: int = 20_000) -> float:
    """Insert `rows` typical unsealed rows; return rows per second."""
    table = cast(sa.Table, AuditLog.__table__)
    start, began = datetime(2026, 1, 1, tzinfo=UTC), time.perf_counter()
    for first in range(0, rows, chunk):
        with engine.begin() as conn:
            conn.execute(table.insert(), [
                {"at": start + timedelta(milliseconds=i * 10), "actor": f"user{i % 40}", "role": "operator",
                 "source_ip": "10.1.2.3", "session_hash": "5e" * 32, "action": "task.complete",
                 "object_type": "human_task", "object_id": f"{i:08d}-task", "before": {"status": "open"},
                 "after": {"status": "completed"}, "result": "success", "request_id": f"req-{i}",
                 "detail": {"fields": ["reply_text", "solved"], "instance_id": "inst-1"}}
                for i in range(first, min(rows, first + chunk))])
    return rows / (time.perf_counter() - began)


def main() -> None:
    """Fill a fresh database, seal it, verify it, and print the rates."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print only the JSON object on stdout")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=5000, help="rows the sealer chains per transaction")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    with own_database(os.environ.get("HOTLINE_DATABASE_URL")) as url:
        engine = create_db_engine(url)
        result: dict[str, Any] = {"backend": engine.dialect.name, "rows": args.rows, "cpus": os.cpu_count(),
                                  "python": platform.python_version()}
        result["insert_rows_per_s"] = round(fill(engine, args.rows))
        began = time.perf_counter()
        sealed = seal(engine, KEY, batch=args.batch)
        result["seal_s"] = round(time.perf_counter() - began, 2)
        result["seal_rows_per_s"] = round(sealed / result["seal_s"])
        began = time.perf_counter()
        report = verify(engine, KEY)
        result["verify_s"] = round(time.perf_counter() - began, 2)
        result["verify_rows_per_s"] = round(report.checked / result["verify_s"])
        result["intact"] = report.intact and report.checked == args.rows
        engine.dispose()
    if not args.json:
        for key, value in result.items():
            log.info("%-20s %s", key, value)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
