"""`hotline pii` commands: re-encrypt personal data under a new key (个人信息密钥轮换, S6.3)."""

from __future__ import annotations

import os

import click
from flask import current_app
from flask.cli import FlaskGroup

from processes.accounts import pii
from processes.accounts.pii_rotation import reencrypt
from webapp import runtime_of
from webapp.cli.support import audited


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
        """Put every personal field under PII_ENCRYPTION_KEY: re-encrypt from the old key, encrypt plain rows.

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
            report = reencrypt(runtime_of(current_app).db, new, old, batch=batch)
            note.after = report.counts()  # counts only, never values
        click.echo(" ".join(f"{name}={count}" for name, count in report.counts().items()))
        if report.unreadable:
            click.echo(f"{report.unreadable} value(s) could not be decrypted with either key; they were left as "
                       "they are (give the key they were written under with --from-key-env)", err=True)
            raise click.exceptions.Exit(1)
