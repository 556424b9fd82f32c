"""`hotline migrate`: move running instances of a process onto a newer published version (实例迁移).

The rule is `processes.modeling.migration`; every moved instance writes its `instance.migrate` audit row in its own
command's transaction, and every refused one a `failure` row with the reasons.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import FlaskGroup

from processes.modeling import migration
from webapp import runtime_of
from webapp.cli.support import AuditNote
from webapp.cli.support import friendly_errors
from webapp.cli.support import in_command

NOT_MOVED = 3  # the exit status when an instance could not be moved


def _reasons(reasons: tuple[migration.Reason, ...]) -> str:
    return ", ".join(f"{r.code}:{r.element}" if r.element else r.code for r in reasons)


def _dry_run(key: str, source: int, target: int, instances: tuple[str, ...]) -> None:
    """Print one line per instance: whether it can move, and why not."""
    plans = migration.plan(runtime_of(current_app), key, source, target, instance_ids=instances or None)
    for one in plans:
        verdict = "can move" if one.can_move else f"cannot move ({_reasons(one.reasons)})"
        click.echo(f"{one.instance_id}  {one.case_number or '-':<16} {one.status:<10} "
                   f"{','.join(one.open_tasks) or '-':<24} {verdict}")
    movable = sum(p.can_move for p in plans)
    click.echo(f"{key} v{source} → v{target}: {movable} of {len(plans)} instances can move (dry run)")


def _apply(key: str, source: int, target: int, instances: tuple[str, ...], actor: str, reason: str) -> None:
    """Move the instances (all movable ones when none is named) and audit each."""
    rt = runtime_of(current_app)
    if not instances:
        instances = tuple(p.instance_id for p in migration.plan(rt, key, source, target) if p.can_move)
    detail = {"key": key, "from_version": source, "to_version": target, "reason": reason[:200]}
    notes = {i: AuditNote("instance.migrate", actor, "process_instance", i, detail={"via": "cli", **detail})
             for i in instances}
    results = migration.apply(rt, key, source, target, instances, actor=actor, reason=reason,
                              also_for=lambda i: in_command(notes[i]))
    for moved in results:
        if moved.ok:
            click.echo(f"{moved.instance_id}: moved to v{target}")
            continue
        why = _reasons(moved.reasons) or moved.error
        notes[moved.instance_id].detail["refused"] = why[:300]
        notes[moved.instance_id].write_alone("failure")
        click.echo(f"{moved.instance_id}: not moved ({why})", err=True)
    click.echo(f"{sum(m.ok for m in results)} of {len(results)} instances moved to {key} v{target}")
    if not all(m.ok for m in results):
        raise click.exceptions.Exit(NOT_MOVED)


def register(cli: FlaskGroup) -> None:
    """Add the `migrate` command."""

    @cli.command("migrate")
    @click.argument("key")
    @click.option("--from", "source", type=int, required=True, help="The version the instances are on.")
    @click.option("--to", "target", type=int, required=True, help="The newer, published version to move them to.")
    @click.option("--instance", "instances", multiple=True, help="An instance id (repeat); default: every one "
                                                                  "that can move.")
    @click.option("--dry-run", is_flag=True, help="Only list whether each instance can move, and why not.")
    @click.option("--reason", default="", help="Why they move (required unless --dry-run).")
    @click.option("--actor", default=None, help="Who moves them (recorded in history and audit).")
    @friendly_errors
    def migrate_command(key: str, source: int, target: int, instances: tuple[str, ...], dry_run: bool,
                        reason: str, actor: str | None) -> None:
        """Move running instances of a process to a newer published version (实例迁移); exit 3 if any stayed."""
        if dry_run:
            _dry_run(key, source, target, instances)
            return
        if not reason.strip():
            raise click.UsageError("give --reason: the history of each moved case records it")
        _apply(key, source, target, instances, actor or str(current_app.config["CLI_ACTOR"]), reason)
