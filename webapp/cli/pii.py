"""`hotline pii` commands: re-encrypt personal data under a new key (个人信息密钥轮换, S6.3) and de-identify
closed cases past their retention period (个人信息保存期限, `hotline pii retention`; the scheduler runs it nightly)."""

from __future__ import annotations

import os

import click
from flask import current_app
from flask.cli import FlaskGroup

from processes.accounts import pii
from processes.accounts.pii_rotation import reencrypt
from processes.cases import retention
from webapp import runtime_of
from webapp.cases import files
from webapp.cli.support import audited
from webapp.retention import retention_days
from webapp.retention import run_retention


def _old_cipher(variable: str | None) -> pii.PiiCipher | None:
    """Return the cipher of the old key named by an environment variable (never given on the command line)."""
    if variable is None:
        return None
    text = os.environ.get(variable)
    if not text:
        raise click.BadParameter(f"environment variable {variable} is not set", param_hint="--from-key-env")
    try:
        return pii.PiiCipher.from_hex(text)
    except pii.PiiKeyError as exc:
        raise click.BadParameter(f"{variable}: {exc}", param_hint="--from-key-env") from exc


def register(cli: FlaskGroup) -> None:
    """Add the `pii` command group."""

    @cli.group("pii")
    def pii_group() -> None:
        """Personal data at rest (个人信息加密)."""

    @pii_group.command("reencrypt")
    @click.option("--from-key-env", "from_key_env", metavar="VAR",
                  help="Environment variable holding the old key (64 hex characters) to re-encrypt from.")
    @click.option("--batch", default=500, show_default=True, help="Rows per transaction.")
    @click.option("--actor")
    def reencrypt_command(from_key_env: str | None, batch: int, actor: str | None) -> None:
        """Put everything sealed with PII_ENCRYPTION_KEY under it: re-encrypt from the old key, encrypt plain rows.

        Personal fields, TOTP secrets, Open311 contacts, task drafts, webhook secrets, waiting order uploads, the
        sealed phone of queued exports and attachment files (ATTACHMENT_DIR); prints the totals, then the counts
        per kind (table; attachment_file for the files).

        Repeatable (rows already under the configured key are left alone). Switch the configuration to the new
        key first, run this before serving, and keep the old key until it reports nothing unreadable.
        """
        who = actor or str(current_app.config["CLI_ACTOR"])
        old = _old_cipher(from_key_env)
        try:
            new = pii.cipher()
        except pii.PiiKeyError as exc:
            raise click.ClickException(str(exc)) from exc
        with audited("pii.reencrypt", actor=who, object_type="requester", key_id=new.key_id(),
                     from_key_id=old.key_id() if old else None) as note:
            report = reencrypt(runtime_of(current_app).db, new, old, batch=batch,
                               attachments=files.folder(current_app))
            note.after = {**report.counts(), "kinds": report.kinds}  # counts only, never values
        click.echo(" ".join(f"{name}={count}" for name, count in report.counts().items()))
        for kind, counts in sorted(report.kinds.items()):  # what was found per kind of data (table)
            click.echo(f"  {kind}: " + " ".join(f"{name}={count}" for name, count in counts.items()))
        if report.unreadable:
            click.echo(f"{report.unreadable} value(s) could not be decrypted with either key; they were left as "
                       "they are (give the key they were written under with --from-key-env)", err=True)
            raise click.exceptions.Exit(1)

    @pii_group.command("retention")
    @click.option("--dry-run", is_flag=True, help="Count what would be de-identified; change nothing.")
    @click.option("--days", type=click.IntRange(min=1), help="Days after closure (default: the setting "
                  f"{retention.SETTING}).")
    @click.option("--actor")
    def retention_command(dry_run: bool, days: int | None, actor: str | None) -> None:
        """De-identify the requesters of cases closed longer than the retention period (去标识化).

        Name, phone, ID number, address and the phone's blind index are removed, numbers and the requester's name
        and address are removed from the case's texts; the case and its figures stay. Each batch is audited.
        """
        who = actor or str(current_app.config["CLI_ACTOR"])
        wanted = days if days is not None else retention_days(runtime_of(current_app))
        if wanted <= 0:
            click.echo(f"{retention.SETTING} is 0: personal data of closed cases is kept (set it on /reference/"
                       "settings or pass --days)")
            return
        counts = run_retention(current_app, actor=who, dry_run=dry_run, days=wanted)
        shown = " ".join(f"{name}={count}" for name, count in counts.as_dict().items())
        click.echo(f"{'would de-identify' if dry_run else 'de-identified'} (closed over {wanted} days): {shown}")
