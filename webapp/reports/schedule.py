"""The scheduler's report job: last week's 周报 and last month's 月度分析报告 of the office, each made once.

An hourly check rather than one cron firing: a scheduler that was down on Monday morning (or on the 1st) makes the
report when it comes back, and several schedulers never make it twice (store.scheduled keeps one per period).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from processes.audit import record as audit
from processes.reports import content
from processes.reports import store
from processes.reports.pdf import ReportFontMissing
from webapp import runtime_of
from webapp.reports.common import font
from webapp.reports.common import names
from webapp.timefmt import LOCAL

log = logging.getLogger("hotline.reports")
FROM_HOUR = 6  # Beijing time: the night's closures are in before the report is made


def make_due(app: Flask) -> list[str]:
    """Make last week's and last month's office reports if missing (from 06:00 on); return the periods made."""
    rt = runtime_of(app)
    local_now = rt.clock().astimezone(LOCAL)
    if local_now.hour < FROM_HOUR:
        return []
    made = []
    with app.app_context():
        with rt.read() as db:
            shown = names(db)
        for kind in content.KINDS:
            period = content.previous_of(kind, content.period_of(kind, local_now.date()))
            try:
                if store.scheduled(rt, kind, period, shown, font()):
                    made.append(content.period_key(kind, period))
            except ReportFontMissing as exc:
                log.error("%s", exc)
                return made
        if made:
            with rt.write() as db, db.begin():
                audit.record(db, action="report.generate", actor=store.SYSTEM_ACTOR, at=rt.clock(),
                             object_type="report", detail={"periods": made, "scope": content.OFFICE})
    return made


def add_jobs(periodic: BackgroundScheduler, app: Flask) -> None:
    """Add the hourly report check to a scheduler process's periodic jobs (first run a minute after start)."""
    periodic.add_job(make_due, "interval", hours=1, args=[app], id="reports", replace_existing=True,
                     next_run_time=runtime_of(app).clock() + timedelta(minutes=1))
