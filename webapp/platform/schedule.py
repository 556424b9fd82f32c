"""The scheduler's periodic jobs of the exchange: waiting order imports and the webhook fan-out."""

from __future__ import annotations

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from processes.exchange import webhooks
from webapp import runtime_of
from webapp.platform import runner


def add_jobs(periodic: BackgroundScheduler, app: Flask, owner: str) -> None:
    """Add the import sweep and the webhook fan-out to a scheduler process's periodic jobs."""
    periodic.add_job(runner.run_waiting, "interval", seconds=float(app.config["PLATFORM_IMPORT_SWEEP_SECONDS"]),
                     args=[app, owner], id="platform_imports", replace_existing=True)
    periodic.add_job(fan_out, "interval", seconds=float(app.config["WEBHOOK_SWEEP_SECONDS"]), args=[app],
                     id="webhooks", replace_existing=True)


def fan_out(app: Flask) -> int:
    """Queue new case events for webhook subscriptions (delivered by the outbox sweep); return how many."""
    with app.app_context():
        return webhooks.fan_out(runtime_of(app))
