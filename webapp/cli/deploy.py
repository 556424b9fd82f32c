"""`hotline deploy`, `validate` and `versions`: BPMN bundles into versioned definitions (流程部署)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup

import handlers
from processes.engine.validation.check import Report
from processes.engine.validation.check import validate_bundle
from processes.runtime import definitions
from webapp import runtime_of
from webapp.cli.problems import read_input
from webapp.cli.problems import report_lines
from webapp.cli.problems import summary
from webapp.cli.problems import translator
from webapp.cli.support import audited
from webapp.cli.support import friendly_errors

PROCESS_HELP = "The process to run when a bundle has several candidates (its id; validate lists them)."


def bundle_dirs(paths: tuple[str, ...]) -> list[Path]:
    """Return the bundle folders named, or every sub-folder of BPMN_DIR."""
    if paths:
        return [Path(p) for p in paths]
    root = Path(current_app.config["BPMN_DIR"])
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def register(cli: FlaskGroup) -> None:
    """Add the deployment commands."""

    @cli.command("deploy")
    @click.argument("paths", nargs=-1, type=click.Path(exists=True, file_okay=False))
    @click.option("--key", help="Process key (default: the folder name).")
    @click.option("--publish/--draft", default=None,
                  help="Publish at once; allowed only for a key's first version (installation). Default: publish a "
                       "first version, keep later ones as drafts for `hotline publish` (second person + TOTP).")
    @click.option("--actor", default=None, help="Who deploys (recorded as author).")
    @click.option("--process", "process_id", default=None, help=PROCESS_HELP)
    @friendly_errors
    def deploy_command(paths: tuple[str, ...], key: str | None, publish: bool | None, actor: str | None,
                       process_id: str | None) -> None:
        """Deploy BPMN bundles: changed content becomes a new version, identical content is a no-op."""
        rt, who = runtime_of(current_app), actor or str(current_app.config["CLI_ACTOR"])
        for folder in bundle_dirs(paths):
            files = definitions.read_bundle_dir(folder)
            report = validate_bundle(files, operators=rt.handlers, process_id=process_id)
            for line in report_lines(folder, report, translator("zh")):
                click.echo(line, err=True)
            if not report.ok:  # the same problems `hotline validate` shows; nothing is stored
                raise click.ClickException(summary(folder, report))
            with rt.read() as session:
                installed = bool(definitions.list_versions(session, key or folder.name))
            if publish and installed:
                # AC-04: a change to a running process goes live only when a second person publishes it.
                raise click.UsageError(f"{key or folder.name} is already installed: deploy a draft, then have a "
                                       "second person run `hotline publish` with their TOTP code")
            with audited("definition.deploy", actor=who, object_type="process_definition",
                         object_id=key or folder.name) as note, rt.write() as session, session.begin():
                result = definitions.deploy(
                    session, key or folder.name, files, operators=rt.handlers, actor=who, now=rt.clock(),
                    publish=not installed if publish is None else publish, process_id=report.parsed.process_id
                    if report.parsed is not None else process_id)
                note.after = {"version": result.version, "status": result.status, "created": result.created}
                note.write(session)  # in the deployment's transaction
            state = "new version" if result.created else "unchanged"
            click.echo(f"{result.key}: version {result.version} ({state}, {result.status})")

    @cli.command("validate")
    @click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
    @click.option("--process", "process_id", default=None, help=PROCESS_HELP)
    @click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", help="Language of the problems.")
    def validate_command(paths: tuple[Path, ...], process_id: str | None, lang: str) -> None:
        """Check BPMN files or bundle folders without a database; print every problem, one per line.

        Each line reads `file:line: 错误|警告 [id 名称] what is wrong — what to do`. Exit status 0 when every
        bundle can run (warnings allowed), 1 when one has errors, 2 on a usage mistake.
        """
        translate, failed = translator(lang), False
        for path in paths or tuple(bundle_dirs(())):
            files, problems = read_input(path)
            report = (Report(problems) if problems
                      else validate_bundle(files, operators=handlers.REGISTRY, process_id=process_id))
            for line in report_lines(path, report, translate):
                click.echo(line)
            click.echo(summary(path, report))
            failed = failed or not report.ok
        raise click.exceptions.Exit(1 if failed else 0)

    @cli.command("versions")
    @click.argument("key", required=False)
    def versions_command(key: str | None) -> None:
        """List deployed definition versions."""
        rt = runtime_of(current_app)
        with rt.read() as session:
            for row in definitions.list_versions(session, key):
                click.echo(f"{row.key:<20} v{row.version:<4} {row.status:<10} {row.sha256[:12]}  "
                           f"{row.created_by} {row.created_at:%Y-%m-%d %H:%M}")
