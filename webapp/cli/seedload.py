"""`hotline seed-load`: fill the database with a realistic office for benchmarks (模拟数据); never in production."""

from __future__ import annotations

import sys
import time

import click
import sqlalchemy as sa
from flask import Flask
from flask import current_app

from processes.reference.models import Department
from processes.runtime.models import ProcessDefinition
from webapp import runtime_of
from webapp.cli.support import AuditNote


def _deployed(app: Flask) -> bool:
    """Return whether reference data and published definitions exist (else the office is deployed first)."""
    with runtime_of(app).read() as db:
        published = db.scalar(sa.select(sa.func.count()).select_from(ProcessDefinition)
                              .where(ProcessDefinition.status == "published"))
        return bool(published) and db.scalar(sa.select(sa.func.count()).select_from(Department)) != 0


def register(cli: click.Group) -> None:
    """Add `seed-load` to the `hotline` group."""

    @cli.command("seed-load")
    @click.option("--cases", type=click.IntRange(min=0), required=True, help="How many cases to write.")
    @click.option("--open-tasks", type=click.IntRange(min=0), required=True, help="Open cases, one open task each.")
    @click.option("--seed", "seed_value", type=int, default=12345, show_default=True, help="Random seed.")
    @click.option("--batch", type=click.IntRange(min=1), default=2000, show_default=True, help="Cases per batch.")
    def seed_load(cases: int, open_tasks: int, seed_value: int, batch: int) -> None:
        """Write seeded cases, instances, tasks, history, deadlines and timers (benchmarks; not in production)."""
        app = current_app._get_current_object()  # type: ignore[attr-defined]  # the app, not its proxy
        if app.config.get("ENV") == "production":
            raise click.ClickException("seed-load refuses to run with HOTLINE_ENV=production")
        if open_tasks > cases:
            raise click.ClickException("--open-tasks cannot exceed --cases")
        try:  # bench/ ships with the source tree, not the wheel: the rest of `hotline` must work without it
            from bench.seed_load import seed
            from bench.web_setup import deploy_office
        except ImportError as exc:
            raise click.ClickException("seed-load needs bench/ from the source tree (run it in a checkout)") from exc
        rt = runtime_of(app)
        if not _deployed(app):
            click.echo("no reference data or published definitions: seeding them and deploying bpmn/ first", err=True)
            deploy_office(app)
        started = time.monotonic()
        with click.progressbar(length=cases, label="seed-load", file=sys.stderr) as bar:
            try:
                done = seed(rt.writer, cases=cases, open_tasks=open_tasks, now=rt.clock(), seed_value=seed_value,
                            batch=batch, progress=lambda n: bar.update(n))
            except LookupError as exc:
                raise click.ClickException(str(exc)) from exc
        seconds = time.monotonic() - started
        AuditNote("seed.load", "cli", object_type="database", after={
            "cases": cases, "open_tasks": open_tasks, "rows": done.rows, "seed": seed_value}).write_alone("success")
        click.echo(f"seed-load: {cases} cases, {open_tasks} open tasks, {done.rows} rows in {seconds:.1f}s "
                   f"({done.rows / max(seconds, 1e-9):.0f} rows/s)")
