"""`hotline metrics rollup`: recount the figures the dashboard reads (统计汇总), by hand or after a reading change."""

from __future__ import annotations

from datetime import datetime

import click
from flask import current_app
from flask.cli import FlaskGroup

from processes.metrics import rollup
from webapp import runtime_of


def register(cli: FlaskGroup) -> None:
    """Add the metrics commands."""

    @cli.group("metrics")
    def metrics_group() -> None:
        """Figures of the office (统计指标)."""

    @metrics_group.command("rollup")
    @click.option("--day", "day", type=click.DateTime(formats=["%Y-%m-%d"]), help="Recount this one day.")
    @click.option("--full", is_flag=True, help="Recount the last --days days (the nightly rebuild).")
    @click.option("--days", type=click.IntRange(1, 3 * 366), default=None, help="Days of a full rebuild.")
    def rollup_command(day: datetime | None, full: bool, days: int | None) -> None:
        """Recount the rollup: today and yesterday (default), one --day, or --full."""
        if day is not None and full:
            raise click.UsageError("give --day or --full, not both")
        rt = runtime_of(current_app)
        now = rt.clock()
        with rt.write() as session, session.begin():
            if full:
                run = rollup.refresh_full(session, now=now, days=days or int(current_app.config["METRICS_FULL_DAYS"]))
            elif day is not None:
                run = rollup.refresh(session, day.date(), day.date(), now=now)
            else:
                run = rollup.refresh_recent(session, now=now)
        click.echo(f"{run.kind} {run.first_day}..{run.last_day}: {run.rows} rows in {run.seconds:.2f} s "
                   f"({run.reading})")
