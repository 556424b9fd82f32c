"""`hotline audit` commands: seal, verify, anchor, archive and purge, export the audit trail
(审计日志：封存、校验、锚定、归档清理、导出)."""

from __future__ import annotations

import csv
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup

from processes.audit import anchor as audit_anchor
from processes.audit import record as audit
from processes.audit.archive import verify_archive
from processes.audit.chain import purge
from processes.audit.chain import rows_between
from processes.audit.chain import verify
from processes.audit.export import EXPORT_COLUMNS
from processes.audit.export import cell
from processes.audit.record import AuditRefused
from processes.runtime.core import Runtime
from webapp import runtime_of
from webapp.cli.support import audited
from webapp.cli.support import parse_when
from webapp.config import ConfigError
from webapp.config import anchor_path
from webapp.config import archive_dir
from webapp.config import audit_key


def _rt() -> Runtime:
    """Return the runtime of the current app."""
    return runtime_of(current_app)


def _key() -> bytes:
    """Return the HMAC key, saying so on standard error when it is the development key."""
    try:
        key, warning = audit_key(current_app)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if warning:
        click.echo(f"warning: {warning}", err=True)
    return key


def _anchor(text: str | None) -> tuple[int, str] | None:
    """Parse SEQ:HASH."""
    if text is None:
        return None
    seq, sep, value = text.partition(":")
    if not sep or not seq.isdigit() or len(value) != 64:
        raise click.BadParameter("use SEQ:HASH as printed by `hotline audit verify`", param_hint="--anchor")
    return int(seq), value.lower()


def _latest_anchor(path: str | None) -> tuple[int, str] | None:
    """Return (seq, hash) of the latest anchor in a file, None for an empty file."""
    if path is None:
        return None
    try:
        found = audit_anchor.latest(Path(path))
    except (OSError, AuditRefused) as exc:
        raise click.BadParameter(str(exc), param_hint="--anchors") from exc
    return None if found is None else (found.seq, found.hash)


def register(cli: FlaskGroup) -> None:
    """Add the `audit` command group to the `hotline` group."""

    @cli.group("audit")
    def audit_group() -> None:
        """Audit trail (审计日志): seal, verify, anchor, archive and purge, export."""

    @audit_group.command("seal")
    def seal_command() -> None:
        """Chain every unsealed record into the HMAC hash chain (the scheduler does this every minute)."""
        rt = _rt()
        click.echo(f"sealed {audit.seal(rt.db, _key(), clock=rt.clock)} record(s)")

    @audit_group.command("verify")
    @click.option("--anchor", help="SEQ:HASH of the head anchored outside the database (catches a rewound head).")
    @click.option("--anchors", "anchors", help="Anchor file (`hotline audit anchor`): check against its latest.")
    def verify_command(anchor: str | None, anchors: str | None) -> None:
        """Check the chain: exit 0 when intact, 1 when a record was edited, deleted, inserted, reordered or cut off."""
        if anchor and anchors:
            raise click.UsageError("give --anchor or --anchors, not both")
        report = verify(_rt().db, _key(), anchor=_anchor(anchor) or _latest_anchor(anchors))
        click.echo(f"unsealed: {report.unsealed} record(s) not yet sealed")
        if report.problem is not None:
            click.echo(f"BROKEN: {report.problem}")
            raise click.exceptions.Exit(1)
        click.echo(f"intact: {report.checked} sealed record(s), seq {report.first_seq}..{report.last_seq}; "
                   f"head {report.head_seq}:{report.head_hash}")

    @audit_group.command("anchor")
    @click.option("--to", "target", help="Anchor file to append to (default AUDIT_ANCHOR_PATH).")
    @click.option("--actor")
    def anchor_command(target: str | None, actor: str | None) -> None:
        """Append the chain head (seq, hash, UTC time) to a file outside the database (the scheduler does it daily)."""
        rt, who = _rt(), actor or str(current_app.config["CLI_ACTOR"])
        path = Path(target) if target else anchor_path(current_app)
        with audited("audit.anchor", actor=who, object_type="audit_log") as note:
            try:
                head, added = audit_anchor.anchor(rt.db, path, now=rt.clock(), actor=who)
            except (AuditRefused, OSError) as exc:
                note.error = type(exc).__name__
                raise click.ClickException(str(exc)) from exc
            note.written = True  # the anchor audited itself (or wrote nothing new)
        click.echo(f"{'anchored' if added else 'already anchored'} {head.seq}:{head.hash} in {path}")

    @audit_group.command("verify-archive")
    @click.argument("archive", type=click.Path(exists=True, dir_okay=False))
    def verify_archive_command(archive: str) -> None:
        """Check an archive written by purge: its SHA-256 file and the chain inside it (exit 1 when not intact)."""
        report = verify_archive(Path(archive), _key())
        if report.problem is not None:
            click.echo(f"BROKEN: {report.problem}")
            raise click.exceptions.Exit(1)
        click.echo(f"intact: {report.rows} record(s), seq {report.first_seq}..{report.through_seq}")

    @audit_group.command("purge")
    @click.option("--before", "before", required=True, help="Delete sealed records before this date (UTC) or time.")
    @click.option("--archive-dir", "archive_dir_option",
                  help="Write the archive here first (default AUDIT_ARCHIVE_DIR).")
    @click.option("--actor")
    def purge_command(before: str, archive_dir_option: str | None, actor: str | None) -> None:
        """Archive, then delete sealed records older than the retention period; the rest verifies from a checkpoint."""
        rt, who = _rt(), actor or str(current_app.config["CLI_ACTOR"])
        cutoff = parse_when(before, dates=True)
        folder = Path(archive_dir_option) if archive_dir_option else archive_dir(current_app)
        with audited("audit.purge", actor=who, object_type="audit_log") as note:
            try:
                result = purge(rt.db, _key(), cutoff, now=rt.clock(), actor=who, archive_dir=folder,
                               retention_days=int(current_app.config["AUDIT_RETENTION_DAYS"]))
            except AuditRefused as exc:
                note.error = "AuditRefused"
                raise click.ClickException(str(exc)) from exc
            note.written = True  # the purge audited itself in its own transaction
        click.echo(f"purged {result.deleted} record(s); the chain now starts after seq {result.checkpoint_seq}")
        if result.archive is not None:
            click.echo(f"archive {result.archive} sha256 {result.archive_sha256}")

    @audit_group.command("export")
    @click.option("--from", "start", required=True, help="First day (UTC) or time, included.")
    @click.option("--to", "end", required=True, help="Last day (UTC), included, or a time, excluded.")
    @click.option("--output", default="-", help="CSV file (UTF-8 with BOM, for Excel); default standard output.")
    @click.option("--actor")
    def export_command(start: str, end: str, output: str, actor: str | None) -> None:
        """Export audit records as CSV for auditors (cells that look like formulas are neutralised)."""
        rt, who = _rt(), actor or str(current_app.config["CLI_ACTOR"])
        first, last = parse_when(start, dates=True), parse_when(end, end=True, dates=True)
        with audited("audit.export", actor=who, object_type="audit_log", start=first.isoformat(),
                     end=last.isoformat()) as note, click.open_file(
                output, "w", encoding="utf-8-sig" if output != "-" else None) as handle:
            writer = csv.writer(handle)
            writer.writerow(EXPORT_COLUMNS)
            count = 0
            with rt.db.connect() as conn, conn.begin():
                for row in rows_between(conn, first, last):
                    writer.writerow([cell(row[name]) for name in EXPORT_COLUMNS])
                    count += 1
            note.detail["rows"] = count
        if output != "-":
            click.echo(f"wrote {count} record(s) to {output}")
