"""The monitor benchmark's office: a seeded database (copied from a template or seeded here), supervisors, addresses.

Seeding 1,000,000 cases takes minutes, so a run normally copies a database filled once by `hotline seed-load`
(`--template`, CREATE DATABASE … TEMPLATE, a file copy) and drops its copy at the end; without a template it seeds
its own database (or a temporary SQLite file) with `--cases`/`--open-tasks`.
"""

from __future__ import annotations

import argparse
import html
import logging
import os
import re
import secrets
import time
import urllib.request
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask

from bench import web_setup
from bench.dbsetup import own_database
from bench.dbsetup import scratch_database
from bench.monitor_load import COOKIE
from bench.seed_load import seed
from processes.accounts import sessions
from processes.accounts.passwords import policy_from_config
from processes.accounts.users import create_user
from processes.cases.models import Case
from processes.db.migrate import upgrade
from processes.reference.models import Department
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessInstance
from webapp import runtime_of

DRILL_RE = re.compile(r'href="(/search\?[^"]+)" data-count="')
NEXT_RE = re.compile(r'rel="next" href="([^"]+)"')
SAMPLE = 200  # instance pages the supervisors pick from


@contextmanager
def copied_database(server_url: str, template: str) -> Iterator[str]:
    """Yield the URL of a fresh copy of the template database (file copy), dropped at the end."""
    with scratch_database(server_url, template=template) as url:
        yield url


def brought_up_to_date(url: str) -> None:
    """Migrate a template's copy seeded at an older revision, then vacuum what migrations rewrote.

    A migration that adds a column or an index leaves the table's visibility map empty, so index-only scans would
    read the heap until autovacuum came by, as it would on a live server long before anyone measured it.
    """
    started = time.perf_counter()
    upgrade(url)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("VACUUM (ANALYZE) hotline_case, human_task, process_instance"))
    finally:
        engine.dispose()
    logging.getLogger(__name__).info("template copy migrated and vacuumed in %.1f s", time.perf_counter() - started)


@contextmanager
def office_database(server_url: str | None, template: str | None, cases: int, open_tasks: int) -> Iterator[str]:
    """Yield a seeded database: a copy of `template`, else a new one seeded with `cases` and `open_tasks`."""
    if template and server_url and server_url.startswith("postgresql"):
        with copied_database(server_url, template) as url:
            brought_up_to_date(url)
            yield url
        return
    with own_database(server_url) as url:
        app = web_setup.bench_app(url)
        web_setup.deploy_office(app)
        rt = runtime_of(app)
        seed(rt.writer, cases=cases, open_tasks=open_tasks, now=rt.clock())
        rt.db.dispose()
        yield url


def measure_on_seeded_office(args: argparse.Namespace, report: dict[str, Any],
                             measure: Callable[[argparse.Namespace, str, dict[str, Any]], None]) -> dict[str, Any]:
    """Get the seeded office (a template's copy or a fresh seed), measure on it, and finish the report.

    The report must already hold `raw_task_ms`; `measure` fills `p95_ms`, whose ratio to the raw engine is added.
    """
    started = time.perf_counter()
    with office_database(os.environ.get("HOTLINE_DATABASE_URL"), args.template, args.cases, args.open_tasks) as url:
        report["database_s"] = round(time.perf_counter() - started, 1)
        report["backend"] = url.split(":", 1)[0].split("+", 1)[0]
        logging.getLogger(__name__).info("seeded database ready in %.1f s", report["database_s"])
        measure(args, url, report)
    report["p95_ratio_to_raw_task"] = round(report["p95_ms"] / report["raw_task_ms"], 1)
    report["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    return report


def size(app: Flask) -> tuple[int, int]:
    """Return how many cases and open tasks the database holds."""
    with runtime_of(app).read() as db:
        cases = db.scalar(sa.select(sa.func.count()).select_from(Case)) or 0
        tasks = db.scalar(sa.select(sa.func.count()).select_from(HumanTask).where(HumanTask.status == "open")) or 0
    return int(cases), int(tasks)


def add_supervisors(app: Flask, count: int) -> list[str]:
    """Create `count` supervisor (督办) accounts with an open session each; return their session cookies."""
    rt = runtime_of(app)
    now, cookies = rt.clock(), []
    with rt.write() as db, db.begin():
        for n in range(count):
            user = create_user(db, username=f"benchsup{n:02d}", password=secrets.token_urlsafe(18) + "-Aa1",
                               roles=("supervisor",), real_name=f"督办员{n}", policy=policy_from_config(app.config),
                               now=now, actor="bench", must_change_password=False)
            token = sessions.new_token()
            sessions.open_session(db, user, token, now=now, source_ip="127.0.0.1")
            cookies.append(web_setup._cookie(app, user.id, user.session_epoch, token, now.timestamp()))
    return cookies


def board_filters(app: Flask) -> list[str]:
    """Return the board's addresses the supervisors open: the whole office and a few filtered views."""
    with runtime_of(app).read() as db:
        units = {str(kind): str(code) for kind, code in db.execute(
            sa.select(Department.kind, sa.func.min(Department.code)).where(Department.active.is_(True))
            .group_by(Department.kind))}
    filters = ["", "?light=red", "?channel=phone", "?urgency=urgent"]
    filters += [f"?department={units['department']}"] if "department" in units else []
    filters += [f"?township={units['township']}"] if "township" in units else []
    return [f"/monitor{f}" for f in filters]


def drill_links(base_url: str, cookie: str, boards: list[str]) -> list[str]:
    """Return the drill-down links the boards show (the case search behind each count), as a supervisor sees them."""
    links: list[str] = []
    for path in boards:
        links += [html.unescape(link) for link in DRILL_RE.findall(_page(base_url, cookie, path))]
    return sorted(set(links))


def _page(base_url: str, cookie: str, path: str) -> str:
    """Return one page as a supervisor sees it."""
    request = urllib.request.Request(base_url + path, headers={"Cookie": f"{COOKIE}={cookie}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310  # loopback
        return str(answer.read().decode())


def later_pages(base_url: str, cookie: str, path: str, depths: tuple[int, ...]) -> list[str]:
    """Follow the list's 下一页 links and return the addresses of the pages at these depths (keyset cursors)."""
    found, at = [], path
    for depth in range(1, max(depths) + 1):
        link = NEXT_RE.search(_page(base_url, cookie, at))
        if link is None:
            break
        at = html.unescape(link.group(1))
        if depth in depths:
            found.append(at)
    return found


def instance_list_paths(app: Flask, base_url: str, cookie: str) -> list[str]:
    """Return the instance lists the supervisors open: filtered by status, process and dates, and later pages."""
    since = (runtime_of(app).clock() - timedelta(days=30)).date().isoformat()
    lists = ["/monitor/instances", "/monitor/instances?status=waiting", "/monitor/instances?status=error",
             "/monitor/instances?key=case_phone&status=completed", f"/monitor/instances?key=case_platform"
             f"&created_from={since}"]
    return lists + later_pages(base_url, cookie, lists[0], (2, 10)) + later_pages(base_url, cookie, lists[1], (5,))


def instance_ids(app: Flask) -> list[str]:
    """Return instances to open: seeded ones (open and finished, no snapshot) and real ones the bench started."""
    with runtime_of(app).read() as db:
        seeded = db.scalars(sa.select(ProcessInstance.id).order_by(sa.func.random()).limit(SAMPLE)).all()
        real = db.scalars(sa.select(ProcessInstance.id).where(ProcessInstance.snapshot != "").limit(SAMPLE)).all()
    return [*seeded, *real]


def instance_paths(app: Flask, base_url: str, cookie: str) -> dict[str, list[str]]:
    """Return the instance list's and instance pages' addresses, when the console has those views."""
    found: dict[str, list[str]] = {}
    if "monitor.instances" in app.view_functions:
        found["instances"] = instance_list_paths(app, base_url, cookie)
    if "monitor.instance" in app.view_functions:
        found["instance"] = [f"/monitor/instances/{i}" for i in instance_ids(app)]
    return found
