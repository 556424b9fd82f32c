"""`hotline export`: write published versions back to bundle folders for review in git (导出).

The layout is the one `hotline deploy` reads (`processes.modeling.export`); deploying the exported folder again is
a no-op, which the command checks for each key (round trip).
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup

from processes.modeling import export as exporting
from webapp import runtime_of
from webapp.cli.support import audited
from webapp.cli.support import friendly_errors


def register(cli: FlaskGroup) -> None:
    """Add the `export` command."""

    @cli.command("export")
    @click.option("--key", default=None, help="One process key (default: every published process).")
    @click.option("--dir", "folder", default=None, type=click.Path(file_okay=False),
                  help="The bundle folder to write (default: BPMN_DIR).")
    @friendly_errors
    def export_command(key: str | None, folder: str | None) -> None:
        """Write published versions back to bundle folders for review in git (导出); exit 1 on a conflict."""
        root = Path(folder or current_app.config["BPMN_DIR"])
        rt = runtime_of(current_app)
        with audited("definition.export", actor=str(current_app.config["CLI_ACTOR"]),
                     object_type="process_definition", object_id=key or "*") as note, rt.read() as session:
            done = exporting.export_published(session, root, key)
            note.after = {"versions": {d.key: d.version for d in done}}
        for one in done:
            state = "round trip ok" if one.round_trip else "ROUND TRIP DIFFERS"
            click.echo(f"{one.key} v{one.version}: {len(one.written)} written, {len(one.unchanged)} unchanged, "
                       f"{len(one.removed)} removed; {state} (sha256 {one.sha256[:12]})")
            for path in one.conflicts:
                click.echo(f"  conflict: {path} differs from another process's copy; left as the first wrote it",
                           err=True)
        if any(d.conflicts or not d.round_trip for d in done):
            raise click.exceptions.Exit(1)
