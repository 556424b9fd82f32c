"""`hotline db grant-app-role`: the least-privilege PostgreSQL role web workers and schedulers connect as."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import FlaskGroup

from processes.audit import record as audit
from processes.db.app_role import RoleRefused
from processes.db.app_role import grant_app_role
from webapp import runtime_of
from webapp.cli.support import audited


def register(cli: FlaskGroup) -> None:
    """Add `grant-app-role` to the `db` command group."""
    db_group = cli.commands["db"]
    assert isinstance(db_group, click.Group)  # noqa: S101  (added by webapp.cli.install before this runs)

    @db_group.command("grant-app-role")
    @click.option("--role", required=True, help="An existing login role that owns nothing (CREATE ROLE … LOGIN).")
    @click.option("--show", is_flag=True, help="Print the statements run.")
    @click.option("--actor")
    def grant_app_role_command(role: str, show: bool, actor: str | None) -> None:
        """Grant the app role what it needs and no more: run as the owner after every `db upgrade`.

        Business tables: SELECT, INSERT, UPDATE, DELETE. Audit trail: SELECT, INSERT and UPDATE of the seal columns
        only. Purge gate: nothing (`hotline audit purge` runs as the owner). Triggers guard the audit trail anyway.
        """
        rt, who = runtime_of(current_app), actor or str(current_app.config["CLI_ACTOR"])
        with audited("db.grant_app_role", actor=who, object_type="database_role", object_id=role) as note:
            try:
                with rt.db.begin() as conn:
                    statements = grant_app_role(conn, role)
                    audit.record(conn, action="db.grant_app_role", actor=who, at=rt.clock(),
                                 object_type="database_role", object_id=role,
                                 detail={"via": "cli", "statements": len(statements)})
            except RoleRefused as exc:
                note.error = "RoleRefused"
                raise click.ClickException(str(exc)) from exc
            note.written = True  # in the grants' own transaction
        for statement in statements if show else ():
            click.echo(statement + ";")
        click.echo(f"role {role}: {len(statements)} grant statement(s) applied")
