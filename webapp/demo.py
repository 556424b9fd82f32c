"""`hotline demo`: migrate, deploy bpmn/, run sample cases and show their open tasks and next timers."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import FlaskGroup


def register(cli: FlaskGroup) -> None:
    """Add the demo command."""

    @cli.command("demo")
    def demo_command() -> None:
        """Set up the demo database and sample cases (演示)."""
        click.echo("demo: not yet wired to the lifecycle diagram")
        _ = current_app
