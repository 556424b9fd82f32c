"""`hotline outbox` and `hotline incidents`: outgoing messages and service tasks that gave up (发件箱、故障)."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import FlaskGroup

from processes.runtime import jobs
from processes.runtime import outbox
from processes.runtime.core import Runtime
from webapp import runtime_of
from webapp.cli.support import audited


def _rt() -> Runtime:
    """Return the runtime of the current app."""
    return runtime_of(current_app)


def register(cli: FlaskGroup) -> None:
    """Add the outbox and incident commands."""

    @cli.group("outbox")
    def outbox_group() -> None:
        """Messages leaving the system (发件箱)."""

    @outbox_group.command("list")
    @click.option("--status", type=click.Choice(["pending", "claimed", "delivered", "failed"]))
    @click.option("--text", is_flag=True, help="Show each message's content in Chinese (personal values left out).")
    def outbox_list(status: str | None, text: bool) -> None:
        """List outbox messages, newest first."""
        for m in outbox.messages(_rt(), status=status):
            click.echo(f"{m.id:>6} {m.channel:<10} {m.kind:<24} {m.status:<9} attempts={m.attempts} "
                       f"{m.delivered_via or ''} {m.last_error or ''}")
            for line in outbox.describe(m) if text else ():
                click.echo(f"         {line}")

    @outbox_group.command("deliver")
    def outbox_deliver() -> None:
        """Deliver one batch of due messages now."""
        adapters = current_app.extensions["hotline.outbox_adapters"]
        click.echo(str(outbox.deliver_due(_rt(), adapters, "cli", lease=timedelta(minutes=5))))

    @outbox_group.command("resend")
    @click.argument("message_id", type=int)
    def outbox_resend(message_id: int) -> None:
        """Queue a failed message again."""
        with audited("outbox.resend", actor=str(current_app.config["CLI_ACTOR"]), object_type="outbox",
                     object_id=str(message_id)):
            outbox.resend(_rt(), message_id)
        click.echo("queued")

    @cli.command("incidents")
    def incidents_command() -> None:
        """List service tasks that failed after every retry (故障); fix the cause, then `instance retry`."""
        for job in jobs.incidents(_rt()):
            click.echo(f"{job.instance_id}  attempts={job.attempts}  {job.updated_at:%Y-%m-%d %H:%M}  "
                       f"{job.last_error or ''}")
