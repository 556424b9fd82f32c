"""`hotline api-key create|list|revoke`: integration accounts (接口账户) for the open interfaces.

`create` prints the new key once, as the last line of its output, so a script can take it with `tail -n 1`; only
its hash is kept. Each command is audited (api_key.create / api_key.revoke) with the CLI actor.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import FlaskGroup

from processes.errors import FormDataInvalid
from processes.integration import keys
from webapp import runtime_of
from webapp.timefmt import local_time

INVALID_INPUT = 2


def _actor(actor: str | None) -> str:
    """Return the acting user: the option, else the configured CLI actor."""
    return actor or str(current_app.config["CLI_ACTOR"])


def register(cli: FlaskGroup) -> None:
    """Add the api-key commands."""

    @cli.group("api-key")
    def api_key_group() -> None:
        """Integration keys for the REST API, Open311 and the exchanges (接口密钥)."""

    @api_key_group.command("create")
    @click.option("--name", required=True, help="Who integrates (letters, digits, . _ -); audit actor api:NAME.")
    @click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice(sorted(keys.SCOPES)),
                  help="What the key may do; repeat for several.")
    @click.option("--department", default=None, help="A unit's code: the key sees what its handlers see.")
    @click.option("--actor")
    def create_command(name: str, scopes: tuple[str, ...], department: str | None, actor: str | None) -> None:
        """Make a key and print it once (last line); it cannot be shown again."""
        rt = runtime_of(current_app)
        try:
            with rt.write() as session, session.begin():
                made = keys.create(session, name, list(scopes), department=department, actor=_actor(actor),
                                   now=rt.clock())
                summary = f"api key {made.row.name} ({made.row.prefix}): {', '.join(made.row.scopes)}"
        except FormDataInvalid as exc:
            for field, message in exc.errors.items():
                click.echo(f"{field}: {message}", err=True)
            raise click.exceptions.Exit(INVALID_INPUT) from None
        click.echo(summary + (f", department {department}" if department else ""))
        click.echo("store this key now; it is shown only once:")
        click.echo(made.raw)

    @api_key_group.command("list")
    def list_command() -> None:
        """List keys: name, prefix, scopes, unit, created, last used, revoked."""
        rt = runtime_of(current_app)
        with rt.read() as session:
            for row in keys.list_keys(session):
                state = f"revoked {local_time(row.revoked_at)}" if row.revoked_at else "active"
                used = local_time(row.last_used_at) if row.last_used_at else "never used"
                click.echo(f"{row.name}\t{row.prefix}\t{','.join(row.scopes)}\t{row.department or '-'}\t"
                           f"created {local_time(row.created_at)}\t{used}\t{state}")

    @api_key_group.command("revoke")
    @click.option("--name", required=True)
    @click.option("--actor")
    def revoke_command(name: str, actor: str | None) -> None:
        """Revoke a key at once: its next call answers 401."""
        rt = runtime_of(current_app)
        with rt.write() as session, session.begin():
            row = keys.revoke(session, name, actor=_actor(actor), now=rt.clock())
        if row is None:
            raise click.ClickException(f"no active key named {name}")
        click.echo(f"revoked {name} ({row.prefix})")
