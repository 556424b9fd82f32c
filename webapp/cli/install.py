"""`hotline init` and `hotline db`: a new install's secrets and the database schema (安装、数据库迁移)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup

from processes.db import migrate
from webapp import instance_keys


def register(cli: FlaskGroup) -> None:
    """Add `init` and the `db` command group (`webapp.cli.dbrole` adds to it)."""

    @cli.command("init")
    @click.option("--force", is_flag=True, help="Overwrite an existing instance config.")
    def init_command(force: bool) -> None:
        """Write instance/config.py with freshly generated secrets for a new install."""
        path = Path(current_app.instance_path) / "config.py"
        if path.exists() and not force:
            raise click.ClickException(f"{path} exists; use --force to replace its secrets")
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created 0600 (not written 0644 and then narrowed): the keys are never readable by others.
        with os.fdopen(instance_keys.open_private(path, "w"), "w", encoding="utf-8") as out:
            out.write("# Hotline Flow instance settings, written by `hotline init`. Keep this file secret; never "
                      "commit it.\n")
            out.writelines(f"{name} = {secrets.token_hex(32)!r}\n" for name in instance_keys.KEYS)
        click.echo(f"wrote {path}")

    @cli.group("db")
    def db_group() -> None:
        """Database schema commands (数据库迁移)."""

    @db_group.command("upgrade")
    @click.option("--revision", default="head", show_default=True)
    def db_upgrade(revision: str) -> None:
        """Migrate the database to the newest schema."""
        url = current_app.config["DATABASE_URL"]
        migrate.upgrade(url, revision)
        click.echo(f"database at revision {migrate.current_revision(url)}")

    @db_group.command("current")
    def db_current() -> None:
        """Print the schema revision of the database and the newest one."""
        url = current_app.config["DATABASE_URL"]
        click.echo(f"current {migrate.current_revision(url)}  head {migrate.head_revision(url)}")
