"""`hotline export-all` and `hotline import-all`: the handover package at contract end (移交, PII-07 / R4.4)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup

from processes.accounts import pii
from processes.db import migrate
from processes.handover.export import HandoverRefused
from processes.handover.export import export_all
from processes.handover.restore import import_all
from webapp import runtime_of
from webapp.cases import files
from webapp.cli.support import audited
from webapp.config import anchor_path
from webapp.config import archive_dir


def register(cli: FlaskGroup) -> None:
    """Add the handover commands."""

    @cli.command("export-all")
    @click.option("--to", "target", required=True, type=click.Path(file_okay=False),
                  help="New or empty folder for the package.")
    @click.option("--actor")
    def export_all_command(target: str, actor: str | None) -> None:
        """Export everything for a handover: every table (personal fields as ciphertext), definitions with their
        files, audit chain with anchors and archives, attachments, and a manifest with SHA-256 per file."""
        rt, who = runtime_of(current_app), actor or str(current_app.config["CLI_ACTOR"])
        url = current_app.config["DATABASE_URL"]
        with audited("handover.export", actor=who, object_type="database") as note:
            try:
                result = export_all(rt.db, Path(target), now=rt.clock(), revision=migrate.current_revision(url),
                                    key_id=pii.cipher().key_id(), anchors=anchor_path(current_app),
                                    archives=archive_dir(current_app), attachments=files.folder(current_app))
            except (HandoverRefused, pii.PiiKeyError) as exc:
                note.error = type(exc).__name__
                raise click.ClickException(str(exc)) from exc
            note.after = {"tables": len(result.tables), "rows": sum(result.tables.values()), "files": result.files,
                          "manifest_sha256": result.manifest_sha256}
        click.echo(f"exported {sum(result.tables.values())} row(s) of {len(result.tables)} table(s), "
                   f"{result.files} file(s) to {result.folder}")
        click.echo(f"manifest sha256 {result.manifest_sha256} (keep it apart from the package)")

    @cli.command("import-all")
    @click.option("--from", "source", required=True, type=click.Path(exists=True, file_okay=False),
                  help="Package folder written by export-all.")
    @click.option("--expect-sha256", help="SHA-256 of manifest.json as printed by export-all.")
    @click.option("--actor")
    def import_all_command(source: str, expect_sha256: str | None, actor: str | None) -> None:
        """Restore a handover package into a new, migrated, empty database (verifies every file first)."""
        rt, who = runtime_of(current_app), actor or str(current_app.config["CLI_ACTOR"])
        url = current_app.config["DATABASE_URL"]
        # The success row is written in the import's own transaction. A refused import changes nothing and is not
        # recorded in this database: a row there would make it non-empty, and every later import would be refused.
        try:
            counts = import_all(rt.db, Path(source), now=rt.clock(), actor=who,
                                revision=migrate.current_revision(url), expect_sha256=expect_sha256,
                                attachments=files.folder(current_app))
        except HandoverRefused as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"imported {sum(counts.values())} row(s) of {len(counts)} table(s)")
        anchors = Path(source) / "audit" / "anchors.jsonl"
        if anchors.exists():
            click.echo(f"check the audit chain: hotline audit verify --anchors {anchors}")
