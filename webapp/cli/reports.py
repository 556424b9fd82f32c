"""`hotline reports weekly|monthly`: make a report (both formats), store it like the page does, optionally write it."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup

from processes.audit import record as audit
from processes.reports import content
from processes.reports import store
from processes.reports.pdf import ReportFontMissing
from webapp import instance_keys
from webapp import runtime_of
from webapp.reports.common import font
from webapp.reports.common import names
from webapp.timefmt import LOCAL


def make(kind: str, key: str | None, scope: str, out: Path | None) -> None:
    """Make, store and audit one report; write its files to `out` when given."""
    rt = runtime_of(current_app)
    today = rt.clock().astimezone(LOCAL).date()
    try:
        period = content.parse_period(kind, key) if key else \
            content.previous_of(kind, content.period_of(kind, today))
    except ValueError as exc:
        raise click.BadParameter("weekly: 2026-W48, monthly: 2026-11", param_hint="--period") from exc
    actor = str(current_app.config["CLI_ACTOR"])
    try:
        with rt.read() as db:
            files = store.render(db, kind, period, scope, names(db), font(), rt.clock())
    except ReportFontMissing as exc:
        raise click.ClickException(str(exc)) from exc
    key = content.period_key(kind, period)
    with rt.write() as db, db.begin():
        ids = store.save(db, kind, key, scope, files, by=actor, now=rt.clock())
        audit.record(db, action="report.generate", actor=actor, at=rt.clock(), object_type="report",
                     object_id=",".join(ids), detail={"kind": kind, "period": key, "scope": scope})
    for fmt, data in sorted(files.items()):
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            path = out / f"{kind}-{key}-{scope}.{fmt}"
            with os.fdopen(instance_keys.open_private(path, "w"), "wb") as written:  # 0600 (issue 16)
                written.write(data)
            click.echo(f"{path} ({len(data)} bytes)")
        else:
            click.echo(f"{kind} {key} {scope} {fmt}: {len(data)} bytes stored")


def register(cli: FlaskGroup) -> None:
    """Add the report commands."""

    @cli.group("reports")
    def reports_group() -> None:
        """Weekly and monthly reports (周报, 月度分析报告)."""

    for kind, flag in (("weekly", "--week"), ("monthly", "--month")):

        @reports_group.command(kind)
        @click.option(flag, "--period", "key", help="The period (2026-W48 / 2026-11); default: the last one.")
        @click.option("--scope", default=content.OFFICE, show_default=True, help="office, or a unit's code.")
        @click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Also write the files here.")
        def command(key: str | None, scope: str, out: Path | None, kind: str = kind) -> None:
            """Make a report, store it (audited) and optionally write its PDF and Excel files."""
            make(kind, key, scope, out)
