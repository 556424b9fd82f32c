"""`hotline layout`: generate the diagram interchange (BPMNDI) of hand-written BPMN files (流程图布局)."""

from __future__ import annotations

from pathlib import Path

import click

from processes.errors import DefinitionInvalid
from processes.layout import layout_file


@click.command("layout")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--check", is_flag=True, help="Change nothing; exit 1 listing files whose DI is missing or stale.")
def layout_command(files: tuple[str, ...], check: bool) -> None:
    """Lay out BPMN files left to right with a lane per role, rewriting each in place."""
    stale = []
    for name in files:
        try:
            result = layout_file(Path(name), write=not check)
        except DefinitionInvalid as exc:
            raise click.ClickException(f"{name}: {exc}") from exc
        for warning in result.warnings:
            click.echo(f"{name}: warning: {warning}", err=True)
        if result.problem is None:
            click.echo(f"{name}: up to date")
        elif check:
            stale.append(name)
            click.echo(f"{name}: {result.problem}")
        else:
            click.echo(f"{name}: laid out ({result.problem})")
    if stale:
        raise click.exceptions.Exit(1)


def register(cli: click.Group) -> None:
    """Add the layout command to the `hotline` group (it needs no app, database or secret)."""
    cli.add_command(layout_command)
