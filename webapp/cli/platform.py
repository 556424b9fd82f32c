"""`hotline platform import FILE`: import upstream orders (民呼我为 / 12345) from a JSON, Excel or CSV file.

Row by row through the platform intake form, like the upload page, and prints the same report: one line per row
that was not registered (duplicate or refused, with its reason), then the counts. Exit status 1 when the file
cannot be read at all (nothing imported), 0 otherwise.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup

from processes.exchange import platform_import
from webapp import runtime_of
from webapp.cli.support import audited
from webapp.cli.support import friendly_errors
from webapp.platform.orders import CREATED
from webapp.platform.orders import Intake
from webapp.platform.orders import NotDeployed
from webapp.platform.runner import import_rows
from webapp.platform.runner import limits

LABELS = {"created": "已登记", "duplicate": "重复", "refused": "未导入"}


def register(cli: FlaskGroup) -> None:
    """Add the `platform` group (order import)."""

    @cli.group("platform")
    def platform() -> None:
        """Exchange with the upstream platform (上级平台): import order files."""

    @platform.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--all-rows", is_flag=True, help="Print created rows too (default: only rows not registered).")
    @friendly_errors
    def import_command(file: Path, all_rows: bool) -> None:
        """Import the orders of FILE (.json, .xlsx or .csv in UTF-8 or GBK) and print the per-row report."""
        max_bytes, max_rows = limits(current_app)
        actor = str(current_app.config["CLI_ACTOR"])
        with file.open("rb") as handle:
            content = handle.read(max_bytes + 1)
        try:
            source = platform_import.open_file(file.name, content, max_bytes=max_bytes, max_rows=max_rows)
            intake = Intake(runtime_of(current_app), actor=actor, via="cli")
        except (platform_import.FileRefused, NotDeployed) as exc:
            raise click.ClickException(f"{exc}（未导入任何工单）") from exc
        click.echo(f"文件：{file.name}，格式 {source.file_format}"
                   + (f"，编码 {source.encoding}" if source.encoding else "") + f"，共 {source.total} 行")
        with audited("platform.import", actor=actor, object_type="platform_import", object_id=file.name) as note:
            outcomes, counts = import_rows(intake, source)
            note.after = dict(counts)
        for note_text in source.notes:
            click.echo(note_text)
        for outcome in outcomes:
            if all_rows or outcome.outcome != CREATED:
                click.echo(f"第 {outcome.row} 行\t{outcome.order or '-'}\t{LABELS[outcome.outcome]}\t"
                           f"{outcome.reason}\t{outcome.case}".rstrip())
        click.echo(f"已登记 {counts['created']}，重复 {counts['duplicates']}，未导入 {counts['refused']}")
