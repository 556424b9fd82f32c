"""The `hotline` command line (console script `hotline = "webapp.cli:cli"`): one module per command group.

install (init, db), deploy (deploy, validate, versions), cases (start, tasks, complete, claim, message, timers,
reschedule, instance), outbox (outbox, incidents), users, audit, ref, publish, handover (export-all, import-all),
pii, dbrole (db grant-app-role), layout, demo, clock (the demo clock) and seedload (seed-load); `support` holds
what they share.
`assets` and `scheduler` live beside the code they run.
"""

from __future__ import annotations

from typing import Any

import click
from flask import Flask
from flask import current_app
from flask.cli import FlaskGroup
from flask.cli import routes_command
from flask.cli import run_command
from flask.cli import shell_command

from webapp import assets
from webapp import configured_app
from webapp import create_app
from webapp import democlock
from webapp import runtime_of
from webapp import scheduler
from webapp.cli import apikeys
from webapp.cli import audit
from webapp.cli import cases
from webapp.cli import clock
from webapp.cli import dbrole
from webapp.cli import demo
from webapp.cli import deploy
from webapp.cli import export
from webapp.cli import handover
from webapp.cli import install
from webapp.cli import layout
from webapp.cli import metrics
from webapp.cli import migrate
from webapp.cli import outbox
from webapp.cli import pii
from webapp.cli import platform
from webapp.cli import publish
from webapp.cli import ref
from webapp.cli import reports
from webapp.cli import seedload
from webapp.cli import users
from webapp.config import ConfigError
from webapp.config import check_required_settings


class HotlineGroup(FlaskGroup):
    """The `hotline` group: nothing runs, not even --help, where the settings may not run at all."""

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        """Refuse a demo clock in production before any command (or its help) starts."""
        settings = configured_app()
        problem = democlock.refusal(settings.config, settings.instance_path)
        if problem is not None:
            raise click.ClickException(problem)  # printed as "Error: …", exit status 1
        return super().make_context(info_name, args, parent, **extra)


def _cli_app() -> Flask:
    """Build the app for CLI commands: commands that need no secret never fail for lack of one."""
    try:
        app = create_app(serving=False)
    except ConfigError as exc:  # one line, not a traceback
        raise click.ClickException(str(exc)) from exc

    @app.teardown_appcontext
    def _close_database(_exc: BaseException | None) -> None:
        runtime_of(app).db.dispose()  # one command, one app context: close its connections

    return app


cli = HotlineGroup(name="hotline", create_app=_cli_app, add_default_commands=False,
                  help="Hotline Flow 12345 工单系统 command line.")
cli.add_command(shell_command)
cli.add_command(routes_command)


@cli.command("run", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def run_server(ctx: click.Context) -> None:
    """Run the development web server (checks production settings first)."""
    check_required_settings(current_app)
    ctx.forward(run_command)


reports.register(cli)
install.register(cli)
deploy.register(cli)
cases.register(cli)
outbox.register(cli)
users.register(cli)
audit.register(cli)
ref.register(cli)
publish.register(cli)
handover.register(cli)
pii.register(cli)
dbrole.register(cli)  # after install: `db grant-app-role` joins the `db` group
layout.register(cli)
demo.register(cli)
clock.register(cli)
seedload.register(cli)
migrate.register(cli)
metrics.register(cli)
export.register(cli)
assets.register(cli)
scheduler.register(cli)
platform.register(cli)  # platform import: order files from the upstream platform; webhook subscriptions
apikeys.register(cli)  # api-key: integration keys for the open interfaces
