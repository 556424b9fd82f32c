"""Control of running instances (实例控制): fire and move timers (定时, 改期), suspend (挂起), resume, terminate (终止),
retry (重试); each one transaction, like every command, with the caller's `also` writes last in it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from datetime import timedelta

import sqlalchemy as sa

from processes.engine import runtime as wfops
from processes.errors import FormDataInvalid
from processes.errors import InvalidState
from processes.errors import NotFound
from processes.runtime.context import Also
from processes.runtime.context import CommandContext
from processes.runtime.core import Runtime
from processes.runtime.deadline_rows import follow_moved_timers
from processes.runtime.models import ProcessInstance


def fire_timers(rt: Runtime, instance_id: str, *, actor: str = "system:timer", also: Also | None = None) -> None:
    """Fire the expired timers of one instance (定时器到期)."""
    rt.command(instance_id, actor, lambda ctx: wfops.fire_timers(ctx.workflow), also=also)


def fire_due_timers(rt: Runtime, *, limit: int = 100, actor: str = "cli") -> int:
    """Fire every timer and retry that is due now, through the scheduler's own claim path; return how many ran."""
    from processes.runtime import jobs

    owner = f"{actor}:{os.getpid()}"
    done = 0
    for _ in range(1000):  # claims skip jobs of suspended or failed instances, so nothing can starve the rest
        counts = jobs.run_due(rt, owner, lease=timedelta(minutes=5), limit=limit)
        done += counts["done"]
        if not counts["done"]:
            break
    return done


def reschedule_timers(rt: Runtime, instance_id: str, *, actor: str, reason: str,
                      new_due: Mapping[str, datetime] | None = None, shift: timedelta | None = None,
                      also: Also | None = None) -> int:
    """Move waiting timers (by timer task id or BPMN id) to new due times and record why (延期/改期).

    The stored deadlines set from those timers (case_deadline, the case's 办理时限) move with them, so the deadline
    a page shows, the task's countdown and the light agree (processes/runtime/deadline_rows.py).
    """
    if not reason.strip():
        raise FormDataInvalid("a reason is required", field="reason")
    if (new_due is None) == (shift is None):
        raise FormDataInvalid("give either new due times or a shift")

    def mutate(ctx: CommandContext) -> int:
        changes, moves = [], []
        for timer in wfops.pending_timers(ctx.workflow):
            due = (new_due or {}).get(timer.task_id) or (new_due or {}).get(timer.bpmn_id)
            due = timer.due + shift if shift is not None else due
            if due is None or due == timer.due:
                continue
            if due.tzinfo is None:
                raise FormDataInvalid("due times must carry a time zone")
            wfops.set_timer_due(ctx.workflow, timer.task_id, due)
            changes.append({"bpmn_id": timer.bpmn_id, "from": timer.due.isoformat(), "to": due.isoformat()})
            moves.append((timer.bpmn_id, timer.due, due))
        if not changes:
            raise InvalidState("no waiting timer matched")
        ctx.record("timers_rescheduled", reason=reason[:500], timers=changes)
        pending = [(t.bpmn_id, t.due) for t in wfops.pending_timers(ctx.workflow)]
        follow_moved_timers(ctx.session, ctx.row.id, ctx.row.case_id, moves, pending, ctx.now)
        wfops.fire_timers(ctx.workflow)  # a deadline moved into the past fires now
        return len(changes)

    return rt.command(instance_id, actor, mutate, also=also) or 0


def suspend(rt: Runtime, instance_id: str, *, actor: str, reason: str, also: Also | None = None) -> None:
    """Suspend an instance (挂起): no task can be completed and no timer fires until it is resumed."""
    _set_status(rt, instance_id, actor, reason, "suspended", ("running", "waiting", "error"), also)


def resume(rt: Runtime, instance_id: str, *, actor: str, reason: str, also: Also | None = None) -> None:
    """Resume a suspended instance; timers that fell due meanwhile fire now."""

    def mutate(ctx: CommandContext) -> None:
        ctx.record("resumed", reason=reason[:500])
        wfops.fire_timers(ctx.workflow)

    rt.command(instance_id, actor, mutate, allowed=("suspended",), also=also)


def terminate(rt: Runtime, instance_id: str, *, actor: str, reason: str, also: Also | None = None) -> None:
    """Terminate an instance (终止) with a reason; its tasks are cancelled and its timers dropped."""

    def mutate(ctx: CommandContext) -> None:
        ctx.record("terminated", reason=reason[:500])
        wfops.cancel(ctx.workflow)
        ctx.status = "terminated"

    if not reason.strip():
        raise FormDataInvalid("a reason is required", field="reason")
    rt.command(instance_id, actor, mutate, allowed=("running", "waiting", "error", "suspended"), also=also)


def _set_status(rt: Runtime, instance_id: str, actor: str, reason: str, status: str,
                allowed: tuple[str, ...], also: Also | None) -> None:
    if not reason.strip():
        raise FormDataInvalid("a reason is required", field="reason")

    def mutate(ctx: CommandContext) -> None:
        ctx.record(status, reason=reason[:500])
        ctx.status = status

    rt.command(instance_id, actor, mutate, allowed=allowed, also=also)


def retry_instance(rt: Runtime, instance_id: str, *, actor: str, also: Also | None = None) -> str:
    """Retry the failed steps of an instance in error (重试); return the new status."""

    def mutate(ctx: CommandContext) -> None:
        ctx.record("retried")
        wfops.retry_errors(ctx.workflow)

    return rt.run(instance_id, actor, mutate, allowed=("error",), also=also).status


def instance_status(rt: Runtime, instance_id: str) -> str:
    """Return the stored status of an instance."""
    with rt.read() as session:
        status = session.scalar(sa.select(ProcessInstance.status).where(ProcessInstance.id == instance_id))
    if status is None:
        raise NotFound(f"instance {instance_id} not found")
    return str(status)
