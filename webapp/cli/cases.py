"""`hotline` commands on cases, tasks, messages and timers (工单、待办、消息、定时器)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import click
from flask import current_app
from flask.cli import FlaskGroup

from processes.runtime import assignment
from processes.runtime import commands
from processes.runtime import control
from processes.runtime import queries
from processes.runtime.core import Runtime
from webapp import runtime_of
from webapp.cli.support import audited
from webapp.cli.support import friendly_errors
from webapp.cli.support import in_command
from webapp.cli.support import opened
from webapp.cli.support import parse_when
from webapp.cli.support import rescheduled
from webapp.cli.support import status_after


def _rt() -> Runtime:
    return runtime_of(current_app)


def _actor(actor: str | None) -> str:
    return actor or str(current_app.config["CLI_ACTOR"])


def _json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise click.BadParameter("must be a JSON object")
    return data


def _duration(text: str) -> timedelta:
    """Parse a signed duration like 2h, -30m, 3d."""
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    try:
        return timedelta(**{units[text[-1]]: float(text[:-1])})
    except (KeyError, ValueError) as exc:
        raise click.BadParameter("use a number with s, m, h or d, e.g. 2h or -30m") from exc


def register(cli: FlaskGroup) -> None:
    """Add the case, task, message and timer commands to the `hotline` group."""
    @cli.command("start")
    @click.argument("key")
    @click.option("--data", default="{}", help="JSON object: routing fields and, with --channel, personal fields.")
    @click.option("--channel", help="Register a case (工单) from this channel first (phone, visit, platform …).")
    @click.option("--actor")
    @friendly_errors
    def start_command(key: str, data: str, channel: str | None, actor: str | None) -> None:
        """Start an instance of a published process (with --channel: register a case first)."""
        values = _json(data)
        with audited("case.open" if channel else "instance.start", actor=_actor(actor),
                     object_type="process_instance", process=key, channel=channel,
                     fields=sorted(values)) as note:
            if channel:
                started = commands.open_case(_rt(), key, values, actor=_actor(actor), channel=channel,
                                             also=in_command(note, opened))
            else:
                started = commands.start(_rt(), key, values, actor=_actor(actor), also=in_command(note, opened))
        click.echo(f"instance {started.instance_id} {started.status}"
                   + (f" case {started.case_number}" if started.case_number else ""))

    @cli.command("tasks")
    @click.option("--instance")
    @click.option("--role")
    @click.option("--department")
    @click.option("--assignee")
    @click.option("--all", "include_done", is_flag=True, help="Include completed and cancelled tasks.")
    def tasks_command(instance: str | None, role: str | None, department: str | None, assignee: str | None,
                      include_done: bool) -> None:
        """List human tasks (待办), soonest deadline first."""
        rt = _rt()
        with rt.read() as session:
            rows = queries.human_tasks(session, instance_id=instance, role=role, department=department,
                                       assignee=assignee, open_only=not include_done)
        now = rt.clock()
        for t in rows:
            click.echo(f"{t.instance_id}  {t.id}  {t.status:<9} {t.name:<10} role={t.role or '-'} "
                       f"dept={t.department or '-'} assignee={t.assignee or '-'} "
                       f"{queries.countdown(t.due_at, now)}")

    @cli.command("complete")
    @click.argument("instance_id")
    @click.argument("task_id")
    @click.option("--data", default="{}", help="Form data as a JSON object.")
    @click.option("--actor")
    @friendly_errors
    def complete_command(instance_id: str, task_id: str, data: str, actor: str | None) -> None:
        """Complete a human task with form data."""
        with audited("task.complete", actor=_actor(actor), object_type="human_task", object_id=task_id,
                     instance_id=instance_id) as note:
            values = _json(data)
            note.detail["fields"] = sorted(values)  # names only: values may be personal
            status = commands.complete_task(_rt(), instance_id, task_id, values, actor=_actor(actor),
                                            also=in_command(note, lambda _conn, done: {"instance_status": done.status}))
        click.echo(f"completed; instance {status}")

    @cli.command("claim")
    @click.argument("instance_id")
    @click.argument("task_id")
    @click.option("--actor")
    @click.option("--release", is_flag=True, help="Give the task back instead (unclaim).")
    @click.option("--to", "assignee", help="Assign to this user instead of yourself.")
    @friendly_errors
    def claim_command(instance_id: str, task_id: str, actor: str | None, release: bool,
                      assignee: str | None) -> None:
        """Claim, release or assign a task."""
        rt, who = _rt(), _actor(actor)
        action = "task.release" if release else "task.assign" if assignee else "task.claim"
        with audited(action, actor=who, object_type="human_task", object_id=task_id, instance_id=instance_id,
                     assignee=None if release else assignee or who) as note:
            if release:
                assignment.unclaim(rt, instance_id, task_id, actor=who, also=in_command(note))
            elif assignee:
                assignment.assign(rt, instance_id, task_id, assignee, actor=who, also=in_command(note))
            else:
                assignment.claim(rt, instance_id, task_id, actor=who, also=in_command(note))
        click.echo("ok")

    @cli.command("message")
    @click.argument("name")
    @click.option("--case", "case_id")
    @click.option("--instance", "instance_id")
    @click.option("--correlation", help="name=value of a correlation key, e.g. incident_no=110-2026-0001")
    @click.option("--data", default="{}", help="Payload as a JSON object.")
    @click.option("--actor")
    @friendly_errors
    def message_command(name: str, case_id: str | None, instance_id: str | None, correlation: str | None,
                        data: str, actor: str | None) -> None:
        """Deliver a message to a waiting case."""
        with audited("message.deliver", actor=_actor(actor), object_type="process_instance", message=name,
                     case_id=case_id) as note:
            pair = None
            if correlation:
                key, sep, value = correlation.partition("=")
                if not sep:
                    raise click.BadParameter("use name=value", param_hint="--correlation")
                pair = (key, value)
                note.detail["correlation"] = key  # the key's name; its value may be personal
            payload = _json(data)
            note.detail["fields"] = sorted(payload)
            target = commands.deliver_message(_rt(), name, payload, actor=_actor(actor), case_id=case_id,
                                              instance_id=instance_id, correlation=pair,
                                              also=in_command(note, status_after))  # names the instance reached
        click.echo(f"delivered to {target}")

    @cli.group("timers")
    def timers_group() -> None:
        """Timer commands (定时器)."""

    @timers_group.command("fire")
    @friendly_errors
    def timers_fire() -> None:
        """Fire every timer and retry that is due now."""
        with audited("timers.fire", actor=str(current_app.config["CLI_ACTOR"])) as note:
            count = control.fire_due_timers(_rt())
            note.after = {"instances": count}
        click.echo(f"ran {count} instance(s)")

    @timers_group.command("list")
    def timers_list() -> None:
        """List pending timers and retries, soonest first."""
        rt = _rt()
        with rt.read() as session:
            jobs = queries.pending_jobs(session)
        for job in jobs:
            click.echo(f"{job.instance_id}  {job.kind:<6} {job.bpmn_id or '-':<24} {job.status:<8} "
                       f"{job.due_at:%Y-%m-%d %H:%M:%S}Z  {queries.countdown(job.due_at, rt.clock())}")

    @cli.command("reschedule")
    @click.argument("instance_id")
    @click.option("--shift", help="Move every waiting timer, e.g. 48h or -2h.")
    @click.option("--due", multiple=True, help="TIMER=ISO-TIME (timer task id or BPMN id); repeatable.")
    @click.option("--reason", required=True, help="Why (approved extension, corrected upstream deadline …).")
    @click.option("--actor")
    @friendly_errors
    def reschedule_command(instance_id: str, shift: str | None, due: tuple[str, ...], reason: str,
                           actor: str | None) -> None:
        """Move the waiting timers of a case and record why."""
        # The reason is free text and stays in the case history; the audit row names what moved.
        with audited("timers.reschedule", actor=_actor(actor), object_type="process_instance",
                     object_id=instance_id, shift=shift) as note:
            new_due = {k: parse_when(v) for k, _, v in (d.partition("=") for d in due)} or None
            note.detail["timers"] = sorted(new_due or {})
            count = control.reschedule_timers(_rt(), instance_id, actor=_actor(actor), reason=reason,
                                               new_due=new_due, shift=_duration(shift) if shift else None,
                                               also=in_command(note, rescheduled))
        click.echo(f"rescheduled {count} timer(s)")

    @cli.group("instance")
    def instance_group() -> None:
        """Instance commands (流程实例)."""

    @instance_group.command("show")
    @click.argument("instance_id")
    @friendly_errors
    def instance_show(instance_id: str) -> None:
        """Show an instance: status, version, open tasks, timers and history."""
        rt = _rt()
        with rt.read() as session:
            click.echo(queries.describe_instance(session, instance_id, rt.clock()))

    for name, fn in (("suspend", control.suspend), ("resume", control.resume), ("terminate", control.terminate)):
        _status_command(instance_group, name, fn)

    @instance_group.command("retry")
    @click.argument("instance_id")
    @click.option("--actor")
    @friendly_errors
    def instance_retry(instance_id: str, actor: str | None) -> None:
        """Retry the failed step of an instance in error."""
        with audited("instance.retry", actor=_actor(actor), object_type="process_instance",
                     object_id=instance_id) as note:
            status = control.retry_instance(_rt(), instance_id, actor=_actor(actor),
                                            also=in_command(note, status_after))
        click.echo(f"instance {status}")


def _status_command(group: click.Group, name: str, fn: Any) -> None:
    @group.command(name)
    @click.argument("instance_id")
    @click.option("--reason", required=True)
    @click.option("--actor")
    @friendly_errors
    def command(instance_id: str, reason: str, actor: str | None) -> None:
        with audited(f"instance.{name}", actor=_actor(actor), object_type="process_instance",
                     object_id=instance_id) as note:
            fn(_rt(), instance_id, actor=_actor(actor), reason=reason, also=in_command(note, status_after))
        click.echo(f"{name}: ok")

    command.__doc__ = f"{name.capitalize()} an instance, with a reason."
