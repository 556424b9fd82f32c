"""`hotline scheduler`: one background process (run as many as you like, on any machines) that fires timers,
retries failed service tasks and runs the fixed periodic jobs. Never started inside web workers."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from dataclasses import dataclass
from dataclasses import field
from datetime import timedelta
from typing import Any

import click
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from flask import current_app
from flask.cli import FlaskGroup
from sqlalchemy.exc import SQLAlchemyError

from processes.accounts import sessions
from processes.audit import anchor as audit_anchor
from processes.audit import record as audit
from processes.audit import refusals
from processes.metrics import rollup
from processes.runtime import jobs
from processes.runtime import outbox
from processes.runtime.wakeup import wakeup_for
from webapp import democlock
from webapp import runtime_of
from webapp.config import ConfigError
from webapp.config import anchor_path
from webapp.config import audit_key
from webapp.platform import schedule as platform_jobs
from webapp.reports import schedule as report_jobs
from webapp.retention import run_retention
from webapp.search import exports

log = logging.getLogger("hotline.scheduler")


@dataclass
class SchedulerState:
    """What one scheduler process has done so far."""

    owner: str
    stop: threading.Event = field(default_factory=threading.Event)
    done: int = 0


def run_scheduler(app: Flask, state: SchedulerState, *, once: bool = False) -> SchedulerState:
    """Claim and run due jobs until stopped; sleep until the next due time or a notification in between."""
    rt = runtime_of(app)
    lease = timedelta(seconds=float(app.config["SCHEDULER_LEASE_SECONDS"]))
    fallback = float(app.config["SCHEDULER_FALLBACK_WAKEUP_SECONDS"])
    periodic = _periodic_jobs(app, state) if not once else None
    wakeup = wakeup_for(app.config["DATABASE_URL"], state.stop)
    try:
        while not state.stop.is_set():
            try:
                counts = jobs.run_due(rt, state.owner, lease=lease, limit=int(app.config["SCHEDULER_BATCH"]))
            except SQLAlchemyError as exc:  # database down or a job that failed unexpectedly: keep going
                log.error("scheduler %s: %s", state.owner, type(exc).__name__)
                state.stop.wait(fallback)
                continue
            state.done += counts["done"]
            if once and not any(counts.values()):
                break
            if counts["done"]:
                continue  # a full batch may mean more is due right now
            wakeup.wait(jobs.seconds_until_next(rt, cap=fallback))
    finally:
        wakeup.close()
        if periodic is not None:
            periodic.shutdown(wait=False)
    return state


def _periodic_jobs(app: Flask, state: SchedulerState) -> BackgroundScheduler:
    """Start APScheduler for the fixed periodic jobs only; BPMN timers never live in its job store."""
    rt = runtime_of(app)
    started = rt.clock()
    periodic = BackgroundScheduler(job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})
    periodic.add_job(_in_app, "interval", seconds=float(app.config["SCHEDULER_HEARTBEAT_SECONDS"]),
                     args=[app, lambda: jobs.heartbeat(rt, state.owner, started_at=started, jobs_done=state.done)],
                     id="heartbeat", replace_existing=True, next_run_time=started)
    adapters = app.extensions["hotline.outbox_adapters"]
    lease = timedelta(seconds=float(app.config["SCHEDULER_LEASE_SECONDS"]))
    periodic.add_job(_in_app, "interval", seconds=float(app.config["OUTBOX_SWEEP_SECONDS"]),
                     args=[app, lambda: outbox.deliver_due(rt, adapters, state.owner, lease=lease)],
                     id="outbox", replace_existing=True, next_run_time=started)
    key, warning = audit_key(app)  # production without a key stops here, at start, not once a minute
    if warning:
        log.warning(warning)
    periodic.add_job(_in_app, "interval", seconds=float(app.config["AUDIT_SEAL_SECONDS"]),
                     args=[app, lambda: audit.seal(rt.db, key, clock=rt.clock)], id="audit_seal",
                     replace_existing=True, next_run_time=started)
    # Refusals past the per-minute cap get their summary row once the minute ends (processes/audit/refusals.py).
    periodic.add_job(_in_app, "interval", seconds=30.0, args=[app, lambda: summarise_refusals(app)],
                     id="refusal_summaries", replace_existing=True)
    periodic.add_job(exports.run_waiting, "interval", seconds=float(app.config["EXPORT_SWEEP_SECONDS"]),
                     args=[app, state.owner], id="exports", replace_existing=True, next_run_time=started)
    report_jobs.add_jobs(periodic, app)
    platform_jobs.add_jobs(periodic, app, state.owner)  # order imports, webhook fan-out
    periodic.add_job(_in_app, "interval", seconds=float(app.config["METRICS_ROLLUP_SECONDS"]),
                     args=[app, lambda: metrics_rollup(app)], id="metrics_recent", replace_existing=True,
                     next_run_time=started)  # a fresh start (the demo, a restart) has figures at once
    periodic.add_job(_in_app, "cron", hour=2, minute=37, args=[app, lambda: metrics_rollup(app, full=True)],
                     id="metrics_full", replace_existing=True)
    periodic.add_job(_in_app, "cron", hour=3, minute=17, args=[app, lambda: nightly_retention(app)],
                     id="retention", replace_existing=True)
    periodic.add_job(_in_app, "cron", hour=0, minute=7, args=[app, lambda: daily_anchor(app, key)],
                     id="audit_anchor", replace_existing=True)
    # Closed cases' personal data past the office's retention period (setting pii_retention_days; 0: kept).
    periodic.add_job(_in_app, "cron", hour=3, minute=47,
                     args=[app, lambda: run_retention(app, actor=jobs.TIMER_ACTOR)],
                     id="pii_retention", replace_existing=True)
    periodic.start()
    return periodic


def nightly_retention(app: Flask) -> dict[str, int]:
    """Delete finished job rows and old session rows (each after its retention period); return the counts."""
    rt = runtime_of(app)
    finished = jobs.purge_finished(rt, older_than=timedelta(days=float(app.config["JOB_RETENTION_DAYS"])))
    now = rt.clock()
    with rt.write() as session, session.begin():
        ended = sessions.purge_ended(session, now=now,
                                     retention=timedelta(days=float(app.config["SESSION_RETENTION_DAYS"])),
                                     absolute=timedelta(hours=float(app.config["SESSION_ABSOLUTE_HOURS"])))
        if ended:
            audit.record(session, action="session.purge", actor=jobs.TIMER_ACTOR, at=now,
                         object_type="user_session", detail={"deleted": ended})
    return {"jobs": finished, "sessions": ended}


def summarise_refusals(app: Flask) -> int:
    """Write the summary rows of ended minutes in which someone went past the refusal audit cap."""
    rt = runtime_of(app)
    with rt.writer.begin() as conn:
        return refusals.summarise(conn, now=rt.clock(), limit=int(app.config["REFUSAL_AUDIT_PER_MINUTE"]))


def metrics_rollup(app: Flask, *, full: bool = False) -> None:
    """Recount the figures the dashboard reads: today and yesterday, or (nightly) the last METRICS_FULL_DAYS."""
    rt = runtime_of(app)
    now = rt.clock()
    with rt.write() as session, session.begin():
        if full:
            rollup.refresh_full(session, now=now, days=int(app.config["METRICS_FULL_DAYS"]))
        else:
            rollup.refresh_recent(session, now=now)


def daily_anchor(app: Flask, key: bytes) -> None:
    """Seal what is waiting, then append the chain head to the anchor file outside the database (AUD-02)."""
    rt = runtime_of(app)
    audit.seal(rt.db, key, clock=rt.clock)
    audit_anchor.anchor(rt.db, anchor_path(app), now=rt.clock(), actor=jobs.TIMER_ACTOR)


def _in_app(app: Flask, work: Any) -> None:
    """Run a periodic job inside the application context."""
    with app.app_context():
        work()


def register(cli: FlaskGroup) -> None:
    """Add the scheduler command."""

    @cli.command("scheduler")
    @click.option("--once", is_flag=True, help="Run what is due now, then exit.")
    @click.option("--owner", help="Lease owner name (default host:pid).")
    def scheduler_command(once: bool, owner: str | None) -> None:
        """Run a scheduler process: timers, retries, periodic jobs (定时调度)."""
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        try:
            audit_key(app)  # the sealer job needs the key: say so in one line, before anything starts
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from exc
        state = SchedulerState(owner or f"{socket.gethostname()}:{os.getpid()}")
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: state.stop.set())
        click.echo(f"scheduler {state.owner} started", err=True)
        moved = democlock.store_of(app).state()
        if moved is not None:  # say so in the log: the timers it fires follow this clock
            click.echo(democlock.describe(moved, runtime_of(app).clock()), err=True)
        run_scheduler(app, state, once=once)
        click.echo(f"scheduler {state.owner} stopped after {state.done} job(s)", err=True)
