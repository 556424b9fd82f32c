"""`hotline ref` commands: seed, import and export reference data (参考数据：日历、时限、部门、派单目录、值班、参数)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import NoReturn

import click
from flask import current_app
from flask.cli import FlaskGroup

from handlers.reference.csvio import KINDS
from handlers.reference.csvio import ImportRejected
from handlers.reference.reschedule import reschedule_open_deadlines
from handlers.reference.roster import ROSTER_WEEKS
from handlers.reference.roster import expand
from handlers.reference.roster import parse_rotation
from handlers.reference.roster import planning_window
from handlers.reference.roster import roster_csv
from handlers.reference.seed import ROTATION_FILE
from handlers.reference.seed import seed_all
from handlers.reference.store import DEADLINE_KINDS
from handlers.reference.store import export
from handlers.reference.store import load
from processes.runtime.core import Runtime
from webapp import runtime_of
from webapp.cli.support import audited

INVALID_INPUT = 2  # the exit status of refused files, like click's usage errors


def _rt() -> Runtime:
    """Return the runtime of the current app."""
    return runtime_of(current_app)


def _actor(actor: str | None) -> str:
    """Return the acting user: the option, else the configured CLI actor."""
    return actor or str(current_app.config["CLI_ACTOR"])


def _refuse(source: str, exc: ImportRejected) -> NoReturn:
    """Print every validation error and stop with status 2; the transaction was rolled back."""
    for error in exc.errors:
        click.echo(f"{source}: {error}", err=True)
    click.echo(f"{source}: refused, nothing was written", err=True)
    raise click.exceptions.Exit(INVALID_INPUT)


def register(cli: FlaskGroup) -> None:
    """Add the `ref` command group to the `hotline` group."""

    @cli.group("ref")
    def ref_group() -> None:
        """Reference data (参考数据): calendar, SLA rules, departments, 派单目录, duty roster, settings."""

    @ref_group.command("seed")
    @click.option("--dir", "directory", type=click.Path(exists=True, file_okay=False),
                  help="Folder with the seed CSV files (default: reference/ of the project).")
    @click.option("--actor")
    def seed_command(directory: str | None, actor: str | None) -> None:
        """Fill empty reference tables from the CSV files and load 2004-2026 holidays from chinesecalendar."""
        folder = Path(directory) if directory else Path(current_app.root_path).parent / "reference"
        rt = _rt()
        with audited("reference.seed", actor=_actor(actor), object_type="reference") as note:
            try:
                with rt.write() as session, session.begin():
                    lines = seed_all(session, folder, actor=_actor(actor), now=rt.clock())
                    note.write(session)  # in the seeding's transaction
            except ImportRejected as exc:
                note.error = "ImportRejected"
                _refuse(str(folder), exc)
        for line in lines:
            click.echo(line)

    @ref_group.command("import")
    @click.argument("kind", type=click.Choice(KINDS))
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
    @click.option("--dry-run", is_flag=True, help="Check the file and say what would change; write nothing.")
    @click.option("--year", type=int, help="calendar: the year the notice covers.")
    @click.option("--notice", help="calendar: the number (文号) of the State Council holiday notice.")
    @click.option("--actor")
    def import_command(kind: str, file: str, dry_run: bool, year: int | None, notice: str | None,
                       actor: str | None) -> None:
        """Import one reference file; every row is checked and any error refuses the whole file (exit 2)."""
        with click.open_file(file, encoding="utf-8-sig") as handle:
            text = handle.read()
        rt = _rt()
        with audited("reference.import", actor=_actor(actor), object_type="reference", object_id=kind,
                     year=year, skip=dry_run) as note:  # a dry run writes nothing, not even an audit row
            try:
                with rt.write() as session, session.begin():
                    loaded = load(session, kind, text, actor=_actor(actor), now=rt.clock(), year=year,
                                  notice=notice, dry_run=dry_run)
                    note.detail["summary"] = loaded.summary
                    if not dry_run:  # in the import's transaction: the data and its audit row commit together
                        note.write(session)
            except ImportRejected as exc:
                note.error, note.detail["errors"] = "ImportRejected", len(exc.errors)
                _refuse(file, exc)
        click.echo(f"{'would load' if dry_run else 'loaded'} {loaded.summary}")
        if dry_run or kind not in DEADLINE_KINDS:
            return
        with audited("deadlines.reschedule", actor=_actor(actor), object_type="reference", object_id=kind) as note:
            # The history names the system, not the person (who is in the reason and the audit row): a move by a
            # person is kept by later recomputations as set by hand (handlers/reference/reschedule.py).
            reason = f"参考数据变更: {kind} {loaded.summary}（{_actor(actor)}）"[:500]
            report = reschedule_open_deadlines(rt, reason=reason)
            note.after = {"cases": report.cases, "problems": len(report.problems)}
        for problem in report.problems:
            click.echo(f"not rescheduled: {problem}", err=True)
        click.echo(f"{report.cases} open cases rescheduled")

    @ref_group.command("roster")
    @click.argument("file", default="-")
    @click.option("--rotation", type=click.Path(exists=True, dir_okay=False),
                  help=f"Rotation CSV (default: reference/{ROTATION_FILE} of the project).")
    @click.option("--from", "first", type=click.DateTime(formats=["%Y-%m-%d"]),
                  help="First day, then --weeks weeks (default: yesterday, Beijing time, whose night shift covers "
                  "this morning, through --weeks weeks after today).")
    @click.option("--weeks", type=click.IntRange(1, 53), default=ROSTER_WEEKS, show_default=True,
                  help="How many weeks to plan.")
    def roster_command(file: str, rotation: str | None, first: datetime | None, weeks: int) -> None:
        """Write the duty roster (值班表) a rotation gives, in the import format; review it, then import it."""
        path = Path(rotation) if rotation else Path(current_app.root_path).parent / "reference" / ROTATION_FILE
        try:
            lines = parse_rotation(path.read_text(encoding="utf-8"))
        except ImportRejected as exc:
            _refuse(str(path), exc)
        start, days = planning_window(_rt().clock(), weeks) if first is None else (first.date(), weeks * 7)
        text = roster_csv(expand(lines, start, days))
        if file == "-":
            click.echo(text, nl=False)
        else:
            Path(file).write_text(text, encoding="utf-8")
            click.echo(f"wrote {file}")

    @ref_group.command("export")
    @click.argument("kind", type=click.Choice(KINDS))
    @click.argument("file", default="-")
    @click.option("--year", type=int, help="calendar: only this year.")
    def export_command(kind: str, file: str, year: int | None) -> None:
        """Export a reference table as CSV in the import format (to FILE, or standard output with -)."""
        with _rt().read() as session:
            text = export(session, kind, year)
        if file == "-":
            click.echo(text, nl=False)
        else:
            Path(file).write_text(text, encoding="utf-8")
            click.echo(f"wrote {file}")
