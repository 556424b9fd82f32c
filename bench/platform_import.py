"""Upstream order import benchmark (上级工单导入, issue 17): a generated order file through the real job path.

`python -m bench.platform_import --rows 50000 [--url URL] [--profile 300]`: migrates and prepares the office on
the database (or a temporary SQLite file), queues the file as the import page does (`import_jobs.request`, sealed),
claims it and runs it with `runner.run_job` as a scheduler does, then prints the time, rows per second, max RSS and
the stored report's size as JSON. `--profile N` runs N rows of the same file under cProfile instead and prints the
top functions by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import resource
import secrets
import sys
import time
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from bench.dbsetup import own_database
from bench.web_setup import bench_app
from bench.web_setup import deploy_office
from processes.accounts.passwords import policy_from_config
from processes.accounts.users import create_user
from processes.exchange import import_jobs
from processes.exchange.models import PlatformImport
from webapp import runtime_of
from webapp.platform import runner

HEADER = ["工单编号", "截止时间", "诉求人", "联系电话", "诉求类型", "紧急程度", "所属乡镇", "诉求类别", "诉求内容",
          "发生地址"]
UPLOADER = "bench.tr"
OWNER = "bench-runner"


def order_file(rows: int, encoding: str = "gbk") -> bytes:
    """Return a CSV of `rows` platform orders as Excel on Chinese Windows saves it (GBK, CRLF)."""
    lines = [",".join(HEADER)]
    for i in range(rows):
        lines.append(f"ZJ{i:08d},2026-12-30 12:00,李四{i % 97},139{i:08d},投诉,一般,北岙街道,噪音扰民,"
                     f"夜间施工噪音扰民（{i}）,北岙街道中心街{i % 500}号")
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def max_rss_mib() -> float:
    """Return this process's peak resident memory in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(url: str, *, deploy: bool) -> Any:
    """Return the app on the database, prepared as an office with a transcriber who uploads."""
    app = bench_app(url)
    app.config["PLATFORM_IMPORT_MAX_ROWS"] = max(int(app.config["PLATFORM_IMPORT_MAX_ROWS"]), 50_000)
    rt = runtime_of(app)
    if deploy:
        deploy_office(app)
    with rt.write() as db, db.begin():
        create_user(db, username=UPLOADER, password=secrets.token_urlsafe(18) + "-Aa1", roles=("transcriber",),
                    real_name="转录员", policy=policy_from_config(app.config), now=rt.clock(), actor="bench",
                    must_change_password=False)
    return app


def queue(app: Any, content: bytes, rows: int) -> str:
    """Queue the file as the upload page does; return the job id."""
    rt = runtime_of(app)
    with rt.write() as db, db.begin():
        job = import_jobs.request(db, requested_by=UPLOADER, file_name="orders.csv", file_format="csv",
                                  encoding="GB18030（GBK）", content=content, rows_total=rows, notes=[],
                                  now=rt.clock())
        return str(job.id)


def run(app: Any) -> dict[str, Any]:
    """Claim and run the waiting import as a scheduler does; return what it measured."""
    rt = runtime_of(app)
    lease = timedelta(seconds=float(app.config["SCHEDULER_LEASE_SECONDS"]))
    started = time.monotonic()
    with app.app_context():
        job = import_jobs.claim(rt, OWNER, lease=lease)
        assert job is not None
        runner.run_job(app, job, OWNER, lease=lease)
    seconds = time.monotonic() - started
    with rt.read() as db:
        done = db.scalar(sa.select(PlatformImport).where(PlatformImport.id == job.id))
        assert done is not None
        report_bytes = len(json.dumps(done.report, ensure_ascii=False).encode())
        return {"status": done.status, "rows": done.rows_done, "created": done.created,
                "duplicates": done.duplicates, "refused": done.refused, "seconds": round(seconds, 1),
                "rows_per_s": round(done.rows_done / seconds, 1), "report_bytes": report_bytes,
                "max_rss_mib": round(max_rss_mib(), 1), "dialect": rt.db.dialect.name, "error": done.error}


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark (or the profile) and print JSON."""
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--rows", type=int, default=1000)
    args.add_argument("--url", help="a migrated database (default: a temporary SQLite or PostgreSQL database)")
    args.add_argument("--server", help="a PostgreSQL server URL for a temporary database of its own")
    args.add_argument("--profile", type=int, default=0, help="profile this many rows instead")
    opts = args.parse_args(argv)
    rows = opts.profile or opts.rows
    content = order_file(rows)
    if opts.url:
        _measure(opts.url, content, rows, opts.profile, deploy=True)
        return
    with own_database(opts.server) as url:
        _measure(url, content, rows, opts.profile, deploy=True)


def _measure(url: str, content: bytes, rows: int, profile: int, *, deploy: bool) -> None:
    app = prepare(url, deploy=deploy)
    queue(app, content, rows)
    rss_before = max_rss_mib()
    if not profile:
        print(json.dumps({**run(app), "file_bytes": len(content), "rss_before_mib": round(rss_before, 1)}))
        return
    profiler = cProfile.Profile()
    result = profiler.runcall(run, app)
    print(json.dumps(result), file=sys.stderr)
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(45)
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
