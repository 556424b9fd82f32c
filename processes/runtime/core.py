"""The runtime's composition root and its one transaction per command (lock, run, save, project, history).

A command's state and what it reports to its caller are in `processes.runtime.context`.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from typing import TypeVar
from typing import cast

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from processes import engine
from processes.clock import Clock
from processes.clock import system_clock
from processes.db.engines import reader_engine
from processes.db.engines import reader_sessionmaker
from processes.db.engines import writer_sessionmaker
from processes.engine import runtime as wfops
from processes.engine.failures import failed_element
from processes.errors import InvalidState
from processes.errors import NotFound
from processes.runtime import case_due
from processes.runtime.context import Also
from processes.runtime.context import CommandContext
from processes.runtime.context import CommandOutcome
from processes.runtime.context import CommandSummary
from processes.runtime.definitions import SpecCache
from processes.runtime.handler_api import HandlerRegistry
from processes.runtime.models import HistoryEvent
from processes.runtime.models import InstanceCorrelation
from processes.runtime.models import ProcessInstance
from processes.runtime.projections import Projection
from processes.runtime.projections import describe_task
from processes.runtime.projections import write_retry
from processes.runtime.projections import write_tasks
from processes.runtime.projections import write_timers
from processes.runtime.service_calls import UnguardedReadFailed
from processes.runtime.service_calls import call_handler
from processes.runtime.statements import Writes
from processes.runtime.statements import fetch
from processes.runtime.workflow_cache import WorkflowCache

T = TypeVar("T")
_INSTANCE = cast(sa.Table, ProcessInstance.__table__)
# Hot-path statements, built once (their cache keys are memoized).
_LOCK = sa.select(*(_INSTANCE.c[c.key] for c in (
    ProcessInstance.id, ProcessInstance.definition_id, ProcessInstance.case_id, ProcessInstance.status,
    ProcessInstance.version, ProcessInstance.projection, ProcessInstance.process_key))).where(
    _INSTANCE.c.id == sa.bindparam("id")).with_for_update()
_SNAPSHOT = sa.select(_INSTANCE.c.snapshot).where(_INSTANCE.c.id == sa.bindparam("id"))
_SAVE = _INSTANCE.update().where(
    _INSTANCE.c.id == sa.bindparam("b_id"), _INSTANCE.c.version == sa.bindparam("b_old")).values(
    snapshot=sa.bindparam("b_snapshot"), projection=sa.bindparam("b_projection"), status=sa.bindparam("b_status"),
    version=sa.bindparam("b_version"), next_due_at=sa.bindparam("b_next_due_at"), error=sa.bindparam("b_error"),
    updated_at=sa.bindparam("b_updated_at"))
_CREATE = _INSTANCE.insert()
_HISTORY = cast(sa.Table, HistoryEvent.__table__).insert()
LOST_RACE = "the case was changed by someone else; reload and try again"
_NOTIFY = sa.select(sa.func.pg_notify("hotline_jobs", ""))
_CORRELATIONS = cast(sa.Table, InstanceCorrelation.__table__)
_DROP_CORRELATIONS = _CORRELATIONS.delete()
_CORRELATION = _CORRELATIONS.insert()
ACTIVE = ("running", "waiting")
DEFAULT_BACKOFF = [60.0, 300.0, 900.0, 3600.0, 14400.0]  # 1/5/15/60/240 min, then an incident


class Runtime:
    """Everything a command needs: database, handler registry, clock, caches and limits."""

    def __init__(self, db: Engine, handlers: HandlerRegistry, *, clock: Clock = system_clock,
                 cache_size: int = 512, retry_backoff: Sequence[float] = DEFAULT_BACKOFF,
                 max_engine_steps: int = wfops.MAX_ENGINE_STEPS,
                 max_element_passes: int = wfops.DEFAULT_MAX_PASSES,
                 script_cpu_seconds: float = engine.DEFAULT_CPU_SECONDS) -> None:
        self.db = db
        self.handlers = handlers
        self.clock = clock
        self.retry_backoff = list(retry_backoff)
        self.max_engine_steps = max_engine_steps
        self.max_element_passes = max_element_passes  # runs of one element per instance (a loop's budget)
        self.script_cpu_seconds = script_cpu_seconds  # CPU time of a command's scripts (engine.cpu_budget)
        self.write = writer_sessionmaker(db)
        self.writer = db.execution_options(sqlite_immediate=True) if db.dialect.name == "sqlite" else db
        self.read = reader_sessionmaker(db)
        self.reader = reader_engine(db)  # Core queries without ORM objects
        self.specs = SpecCache()
        self.workflows = WorkflowCache(cache_size)
        self.environment = engine.RestrictedEnvironment()

    def script_engine(self, ctx: CommandContext) -> Any:
        """Build the per-command script engine whose service tasks call registered handlers."""

        def call(name: str, params: dict[str, Any], task: Any) -> str:
            return call_handler(ctx, self.handlers, name, params, task, self.clock())

        return engine.HotlineScriptEngine(self.environment, call, self.max_engine_steps, self.max_element_passes,
                                          self.script_cpu_seconds)

    def command(self, instance_id: str, actor: str, mutate: Callable[[CommandContext], T], *,
                allowed: Sequence[str] = ACTIVE, also: Also | None = None) -> T | None:
        """Run one command on one instance as a single all-or-nothing transaction (`also` writes in it last).

        Returns what `mutate` returned, or None when the engine failed (the instance is then in error).
        """
        return self.run(instance_id, actor, mutate, allowed=allowed, also=also).value

    def run(self, instance_id: str, actor: str, mutate: Callable[[CommandContext], T], *,
            allowed: Sequence[str] = ACTIVE, also: Also | None = None) -> CommandOutcome[T]:
        """Run one command and return its value with the instance's new status and version."""
        try:
            return self._attempt(instance_id, actor, mutate, allowed, also, guard_all=False)
        except UnguardedReadFailed:  # once more with every handler in a savepoint (service_calls)
            return self._attempt(instance_id, actor, mutate, allowed, also, guard_all=True)

    def _attempt(self, instance_id: str, actor: str, mutate: Callable[[CommandContext], T],
                 allowed: Sequence[str], also: Also | None, *, guard_all: bool) -> CommandOutcome[T]:
        ctx: CommandContext | None = None
        try:
            with self.writer.connect() as conn, conn.begin():
                found = fetch(conn, _LOCK, {"id": instance_id})
                if not found:
                    raise NotFound(f"instance {instance_id} not found")
                row = found[0]
                if row.status not in allowed:
                    raise InvalidState(f"instance is {row.status}")
                ctx = CommandContext(conn, row, self._workflow(conn, row), actor, self.clock(),
                                     Projection.loads(row.projection), also=also, guard_all=guard_all)
                try:
                    result = self._run(ctx, mutate)
                    version = self.save(ctx)
                finally:
                    ctx.close()
            self.workflows.put(instance_id, version, ctx.workflow)
            return CommandOutcome(result, str(ctx.saved_status), version)
        except Exception as exc:
            self.workflows.drop(instance_id)
            if ctx is not None and ctx.unguarded_db_error and not guard_all:
                raise UnguardedReadFailed(str(exc)) from exc
            raise
        except BaseException:
            self.workflows.drop(instance_id)
            raise

    def _workflow(self, conn: Connection, row: Any) -> Any:
        workflow = self.workflows.take(row.id, row.version)
        if workflow is None:
            snapshot = conn.execute(_SNAPSHOT, {"id": row.id}).scalar()
            spec, subprocess_specs = self.specs.get(conn, row.definition_id)
            workflow = engine.load_workflow(snapshot or "", spec, subprocess_specs)
        return workflow

    def _run(self, ctx: CommandContext, mutate: Callable[[CommandContext], T]) -> T | None:
        ctx.workflow.script_engine = self.script_engine(ctx)
        with engine.engine_clock(self.clock):
            try:
                return mutate(ctx)
            except (engine.EngineError, engine.EngineStepLimit) as exc:
                # Not a crash: what the user completed stays completed; the instance waits for a retry.
                ctx.failed = str(exc)[:2000]
                ctx.record("error", message=ctx.failed, bpmn_id=failed_element(exc))
                return None

    def save(self, ctx: CommandContext) -> int:
        """Write snapshot, status, projections, jobs and history; fail with Conflict on a lost race."""
        wf, proj, row = ctx.workflow, ctx.projection, ctx.row
        wfops.compact(wf)
        result = wfops.outcome(wf)
        status = ctx.status or ("error" if ctx.failed else result.status)
        error = ctx.failed or result.error
        live = status not in ("completed", "terminated")
        timers = wfops.pending_timers(wf) if live else []
        tasks = {t.id: describe_task(t, timers) for t in wfops.open_tasks(wf)} if live else {}
        for task_id, desc in tasks.items():
            if task_id in proj.tasks and desc["a"] is None:
                desc["a"] = proj.tasks[task_id].get("a")  # a claim survives engine steps
        finished = {tid: self._finish_state(wf, tid, ctx) for tid in proj.tasks.keys() - tasks.keys()}
        fired = {tid for tid in proj.timers.keys() - {t.task_id for t in timers} if self._timer_completed(wf, tid)}
        self._record_fires(ctx, fired, timers)
        writes, version = ctx.writes, int(row.version) + 1
        write_tasks(writes, instance_id=row.id, case_id=row.case_id, old=proj, new_tasks=tasks,
                    finished=finished, now=ctx.now)
        timer_map = write_timers(writes, instance_id=row.id, old=proj, timers=timers, fired=fired, now=ctx.now)
        case_due.refresh(writes, case_id=row.case_id, instance_id=row.id, old=proj, tasks=tasks, timers=timers)
        retry_due = write_retry(writes, instance_id=row.id, proj=proj, status=status,
                                error=error, backoff=self.retry_backoff, now=ctx.now)
        self._write_correlations(ctx, writes)
        if status == "completed" and row.status != "completed":
            ctx.record("completed")
        if retry_due is not None or any(v != proj.timers.get(k) for k, v in timer_map.items()):
            self._notify_scheduler(ctx.conn, writes)
        proj.tasks, proj.timers = tasks, timer_map
        dues = [t.due for t in timers] + ([retry_due] if retry_due else [])
        values = {"snapshot": engine.dump_workflow(wf), "projection": proj.dumps(), "status": status,
                  "version": version, "next_due_at": min(dues) if dues else None, "error": error,
                  "updated_at": ctx.now}
        if ctx.new:  # first in line: the projection rows refer to the instance row
            writes.add(_CREATE, {"id": row.id, "definition_id": row.definition_id, "process_key": row.process_key,
                                 "case_id": row.case_id, "created_at": ctx.now, **values}, first=True)
        else:
            writes.add(_SAVE, {"b_id": row.id, "b_old": row.version, **{f"b_{k}": v for k, v in values.items()}},
                       conflict=LOST_RACE, first=True)
        self._write_history(ctx)
        for write in ctx.after_save:
            write(ctx.conn)
        if ctx.also is not None:
            ctx.also(ctx.conn, CommandSummary(str(row.id), row.case_id, status, ctx.case_number))
        ctx.saved_status = status
        return version

    @staticmethod
    def _record_fires(ctx: CommandContext, fired: set[str], timers: list[Any]) -> None:
        """Record each timer firing once per due instant; the unique key makes a double fire fail the commit."""
        old = ctx.projection.timers
        due_cycles = [t for t in timers if t.kind == "cycle" and t.task_id in old
                      and datetime.fromisoformat(old[t.task_id][0]) < min(ctx.now, t.due)]
        for tid in sorted(fired | {t.task_id for t in due_cycles}):
            ctx.record("timer_fired", task_id=tid, bpmn_id=old[tid][1], due=old[tid][0],
                       dedupe_key=f"timer:{tid}@{old[tid][0]}")

    @staticmethod
    def _notify_scheduler(conn: Connection, writes: Writes) -> None:
        """Wake sleeping schedulers when this transaction commits new or moved due times (PostgreSQL)."""
        if conn.dialect.name == "postgresql":
            writes.add(_NOTIFY, {})

    @staticmethod
    def _finish_state(wf: Any, task_id: str, ctx: CommandContext) -> tuple[str, str | None]:
        if task_id in ctx.completed_by_actor:
            return "completed", ctx.actor
        state = wfops.task_state(wf, task_id)
        return ("completed", "system") if state == "COMPLETED" else ("cancelled", None)

    @staticmethod
    def _timer_completed(wf: Any, task_id: str) -> bool:
        return wfops.task_state(wf, task_id) == "COMPLETED"

    @staticmethod
    def _write_correlations(ctx: CommandContext, writes: Writes) -> None:
        current = wfops.correlations(ctx.workflow)
        if current == ctx.projection.correlations:
            return
        rows = [{"instance_id": ctx.row.id, "name": k[:64], "value": v[:200]} for k, v in current.items()]
        drop = _DROP_CORRELATIONS.where(_CORRELATIONS.c.instance_id == ctx.row.id)
        writes.call(lambda conn: conn.execute(drop))  # replaced rows: not in a merged statement with their inserts
        if rows:
            writes.call(lambda conn: conn.execute(_CORRELATION, rows))
        ctx.projection.correlations = current

    @staticmethod
    def _write_history(ctx: CommandContext) -> None:
        """Queue the history events and send every write of the command (one round trip on PostgreSQL)."""
        if ctx.history:
            ctx.writes.add(_HISTORY, [{"instance_id": ctx.row.id, "case_id": ctx.row.case_id, "at": ctx.now,
                                       "actor": ctx.actor, **event} for event in ctx.history])
        if ctx._session is not None:
            ctx._session.flush()  # pending ORM writes of handlers go before ours
        ctx.writes.send(ctx.conn)
