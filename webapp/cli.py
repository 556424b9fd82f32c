"""The `hotline` command line: install, schema, deployment and the demo (安装、迁移、部署、演示)."""

from __future__ import annotations

import secrets
from pathlib import Path

import click
from flask import Flask
from flask import current_app
from flask.cli import FlaskGroup
from flask.cli import routes_command
from flask.cli import run_command
from flask.cli import shell_command

import handlers
from processes.db import migrate
from processes.engine import parse_bundle
from processes.runtime import definitions
from webapp import create_app
from webapp import runtime_of
from webapp.cli_support import audited
from webapp.cli_support import friendly_errors
from webapp.config import check_required_settings


def _cli_app() -> Flask:
    """Build the app for CLI commands: commands that need no secret never fail for lack of one."""
    app = create_app(serving=False)

    @app.teardown_appcontext
    def _close_database(_exc: BaseException | None) -> None:
        runtime_of(app).db.dispose()  # one command, one app context: close its connections

    return app


cli = FlaskGroup(name="hotline", create_app=_cli_app, add_default_commands=False,
                 help="Hotline Flow 12345 工单系统 command line.")
cli.add_command(shell_command)
cli.add_command(routes_command)


@cli.command("run", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def run_server(ctx: click.Context) -> None:
    """Run the development web server (checks production settings first)."""
    check_required_settings(current_app)
    ctx.forward(run_command)


@cli.command("init")
@click.option("--force", is_flag=True, help="Overwrite an existing instance config.")
def init_command(force: bool) -> None:
    """Write instance/config.py with freshly generated secrets for a new install."""
    path = Path(current_app.instance_path) / "config.py"
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; use --force to replace its secrets")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# Hotline Flow instance settings, written by `hotline init`. Keep this file secret; never commit it.\n"
        f"SECRET_KEY = {secrets.token_hex(32)!r}\n"
        f"PII_ENCRYPTION_KEY = {secrets.token_hex(32)!r}\n"
        f"AUDIT_HMAC_KEY = {secrets.token_hex(32)!r}\n",
        encoding="utf-8")
    path.chmod(0o600)
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


def bundle_dirs(paths: tuple[str, ...]) -> list[Path]:
    """Return the bundle folders named, or every sub-folder of BPMN_DIR."""
    if paths:
        return [Path(p) for p in paths]
    root = Path(current_app.config["BPMN_DIR"])
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


@cli.command("deploy")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, file_okay=False))
@click.option("--key", help="Process key (default: the folder name).")
@click.option("--publish/--draft", default=None,
              help="Publish at once; allowed only for a key's first version (installation). Default: publish a "
                   "first version, keep later ones as drafts for `hotline publish` (second person + TOTP).")
@click.option("--actor", default=None, help="Who deploys (recorded as author).")
@friendly_errors
def deploy_command(paths: tuple[str, ...], key: str | None, publish: bool | None, actor: str | None) -> None:
    """Deploy BPMN bundles: changed content becomes a new version, identical content is a no-op."""
    rt, who = runtime_of(current_app), actor or str(current_app.config["CLI_ACTOR"])
    for folder in bundle_dirs(paths):
        with rt.read() as session:
            installed = bool(definitions.list_versions(session, key or folder.name))
        if publish and installed:
            # AC-04: a change to a running process goes live only when a second person publishes it.
            raise click.UsageError(f"{key or folder.name} is already installed: deploy a draft, then have a second "
                                   "person run `hotline publish` with their TOTP code")
        with audited("definition.deploy", actor=who, object_type="process_definition",
                     object_id=key or folder.name) as note, rt.write() as session, session.begin():
            result = definitions.deploy(
                session, key or folder.name, definitions.read_bundle_dir(folder), operators=rt.handlers,
                actor=who, now=rt.clock(), publish=not installed if publish is None else publish)
            note.after = {"version": result.version, "status": result.status, "created": result.created}
            note.write(session)  # in the deployment's transaction
        state = "new version" if result.created else "unchanged"
        click.echo(f"{result.key}: version {result.version} ({state}, {result.status})")


@cli.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, file_okay=False))
@friendly_errors
def validate_command(paths: tuple[str, ...]) -> None:
    """Check BPMN bundles without a database: hardened parse, XSD, lint, scripts, operators, forms."""
    for folder in bundle_dirs(paths):
        parsed = parse_bundle(definitions.read_bundle_dir(folder), process_id=None, operators=handlers.REGISTRY)
        click.echo(f"{folder.name}: ok (process {parsed.process_id}, {len(parsed.subprocess_specs)} called)")


@cli.command("versions")
@click.argument("key", required=False)
def versions_command(key: str | None) -> None:
    """List deployed definition versions."""
    rt = runtime_of(current_app)
    with rt.read() as session:
        for row in definitions.list_versions(session, key):
            click.echo(f"{row.key:<20} v{row.version:<4} {row.status:<10} {row.sha256[:12]}  "
                       f"{row.created_by} {row.created_at:%Y-%m-%d %H:%M}")


from webapp import assets  # noqa: E402
from webapp import cli_audit  # noqa: E402
from webapp import cli_cases  # noqa: E402  (registers case commands on `cli`)
from webapp import cli_dbrole  # noqa: E402
from webapp import cli_handover  # noqa: E402
from webapp import cli_layout  # noqa: E402
from webapp import cli_pii  # noqa: E402
from webapp import cli_publish  # noqa: E402
from webapp import cli_ref  # noqa: E402
from webapp import cli_users  # noqa: E402
from webapp import demo  # noqa: E402
from webapp import scheduler  # noqa: E402

assets.register(cli)
cli_audit.register(cli)
cli_cases.register(cli)
cli_cases.register_outbox(cli)
cli_dbrole.register(cli)
cli_handover.register(cli)
cli_layout.register(cli)
cli_pii.register(cli)
cli_publish.register(cli)
cli_ref.register(cli)
cli_users.register(cli)
demo.register(cli)
scheduler.register(cli)
