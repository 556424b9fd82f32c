"""Commands on cases and instances (启动, 办理, 消息), each one transaction; control of instances is in `control`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from processes import engine
from processes.cases import forms
from processes.cases import numbering
from processes.cases.models import Case
from processes.cases.personal import SplitData
from processes.cases.personal import split_data
from processes.cases.personal import store_personal
from processes.db.base import new_id
from processes.engine import runtime as wfops
from processes.errors import AlreadyRegistered
from processes.errors import Conflict
from processes.errors import FormDataInvalid
from processes.errors import InvalidState
from processes.errors import NotFound
from processes.errors import TaskNotReady
from processes.runtime.context import Also
from processes.runtime.context import CommandContext
from processes.runtime.core import Runtime
from processes.runtime.models import InstanceCorrelation
from processes.runtime.models import ProcessDefinition
from processes.runtime.models import ProcessInstance
from processes.runtime.projections import Projection
from processes.runtime.statements import fetch

RESERVED = frozenset({"case_id", "instance_id"})
_PUBLISHED = sa.select(ProcessDefinition.id, ProcessDefinition.version).where(
    ProcessDefinition.key == sa.bindparam("key"), ProcessDefinition.status == "published")
_CASE = sa.select(Case.number).where(Case.id == sa.bindparam("id"))
CASE_ROUTING = ("channel", "request_type", "urgency", "township", "category", "lead_department",
                "upstream_order_id")


@dataclass(frozen=True)
class Started:
    """The ids of a started instance (and its case)."""

    instance_id: str
    case_id: str | None
    case_number: str | None
    status: str


def open_case(rt: Runtime, process_key: str, data: Mapping[str, Any], *, actor: str,
              channel: str, also: Also | None = None) -> Started:
    """Register a case (登记工单) with its personal data in the case tables and start its process.

    `also` adds writes (the caller's audit row) to the registration's own transaction, last; its summary carries
    the new case's number.
    """
    split = split_data(data, RESERVED)
    for _ in range(5):
        now = rt.clock()
        try:
            with rt.write() as session, session.begin():
                case = Case(number=numbering.next_number(session, now), channel=channel, created_at=now,
                            updated_at=now, **_case_routing(split.routing))
                session.add(case)
                session.flush()
                store_personal(session, case.id, split, task_id=None, actor=actor, now=now)
                started, version, workflow = _start(rt, session.connection(), session, process_key, split,
                                                    actor=actor, case_id=case.id, case_number=case.number,
                                                    also=also)
            rt.workflows.put(started.instance_id, version, workflow)
            return Started(started.instance_id, case.id, case.number, started.status)
        except IntegrityError:
            registered = _registered_incident(rt, channel, split.routing)
            if registered is not None:  # one case per 警情编号 (unique): say which case has it
                raise AlreadyRegistered(registered) from None
            _catch_up(rt, now)  # cases written past the counter (a bulk load): move it past them, then retry
    raise Conflict("could not allocate a case number; try again")


def _registered_incident(rt: Runtime, channel: str, routing: Mapping[str, Any]) -> str | None:
    """Return the number of the case already registered for a 110 incident number, if this is such a repeat."""
    incident = routing.get("upstream_order_id")
    if channel != "police110" or not incident:
        return None
    with rt.read() as session:
        return session.scalar(sa.select(Case.number).where(Case.channel == channel,
                                                           Case.upstream_order_id == str(incident)))


def _case_routing(routing: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {k: routing[k] for k in CASE_ROUTING if k in routing and k != "channel"}
    if routing.get("confidential") is True:
        values["flags"] = {"confidential": True}  # 举报人保密: units never see this requester
    deadline = routing.get("upstream_deadline")
    if isinstance(deadline, str):
        try:
            values["upstream_deadline"] = datetime.fromisoformat(deadline)
        except ValueError as exc:
            raise FormDataInvalid("not an ISO 8601 time", field="upstream_deadline") from exc
    return values


def _catch_up(rt: Runtime, now: datetime) -> None:
    """Raise the day's number counter to the highest number its cases hold (its own short transaction)."""
    with rt.writer.connect() as conn, conn.begin():
        numbering.catch_up(conn, [numbering.day_of(now)])


def start(rt: Runtime, process_key: str, data: Mapping[str, Any], *, actor: str,
          case_id: str | None = None, also: Also | None = None) -> Started:
    """Start an instance of the published version of a process with routing data (`also`: see `open_case`)."""
    split = split_data(data, RESERVED)
    with rt.writer.connect() as conn, conn.begin():
        case = conn.execute(_CASE, {"id": case_id}).first() if case_id is not None else None
        if case_id is not None and case is None:
            raise NotFound(f"case {case_id} not found")
        started, version, workflow = _start(rt, conn, None, process_key, split, actor=actor, case_id=case_id,
                                            case_number=case.number if case is not None else None, also=also)
    rt.workflows.put(started.instance_id, version, workflow)  # cached only after the commit
    return started


def _start(rt: Runtime, conn: Connection, session: Session | None, process_key: str, split: SplitData, *,
           actor: str, case_id: str | None, case_number: str | None, also: Also | None) -> tuple[Started, int, Any]:
    """Insert and run a new instance on the caller's transaction (its ORM session, if it has one)."""
    now = rt.clock()
    row = SimpleNamespace(id=new_id(), definition_id=None, process_key=process_key, case_id=case_id,
                          status="running", version=0, projection="{}")
    ctx = CommandContext(conn, row, None, actor, now, Projection(), new=True, _session=session, also=also,
                         case_number=case_number)
    try:
        if session is None and split.has_personal():  # a case being opened has stored them already
            store_personal(ctx.session, case_id, split, task_id=None, actor=actor, now=now)
        found = fetch(conn, _PUBLISHED, {"key": process_key})
        if not found:
            raise NotFound(f"process {process_key!r} has no published version")
        definition = found[0]
        row.definition_id = definition.id
        spec, subprocess_specs = rt.specs.get(conn, definition.id)
        ctx.record("started", fields=split.field_names(), version=definition.version)
        data = {**split.routing, "case_id": case_id, "instance_id": row.id}
        with engine.engine_clock(rt.clock):
            try:
                ctx.workflow = wfops.new_workflow(spec, subprocess_specs, data, rt.script_engine(ctx))
            except (engine.EngineError, engine.EngineStepLimit) as exc:
                raise InvalidState(f"the process failed at its first step: {exc}") from exc
        version = rt.save(ctx)
    finally:
        if session is None:
            ctx.close()
    return Started(row.id, case_id, None, str(ctx.saved_status)), version, ctx.workflow


def complete_task(rt: Runtime, instance_id: str, task_id: str, data: Mapping[str, Any], *, actor: str,
                  force: bool = False, also: Also | None = None) -> str:
    """Complete an open human task with form data (办理); return the instance status.

    `also` adds writes (the caller's audit row) to the command's own transaction, last: both commit or neither.
    """
    split = split_data(data, RESERVED)

    def mutate(ctx: CommandContext) -> str:
        desc = ctx.projection.tasks.get(task_id)
        if desc is None:
            raise TaskNotReady("this task was already completed or is no longer open")
        if desc.get("a") and desc["a"] != actor and not force:
            raise Conflict(f"task is claimed by {desc['a']}")
        if desc.get("f"):
            forms.check(forms.schema_for(ctx.conn, ctx.row.definition_id, desc["f"]), data)
        if split.has_personal():
            store_personal(ctx.session, ctx.row.case_id, split, task_id=task_id, actor=actor, now=ctx.now)
        ctx.completed_by_actor.add(task_id)
        # the decisions (审核结论, 延期天数 …) with their values, so the timeline can say what was decided
        decisions = split.decisions()
        ctx.record("task_completed", task_id=task_id, bpmn_id=desc.get("b"), fields=split.field_names(),
                   **({"values": decisions} if decisions else {}))
        wfops.complete_task(ctx.workflow, task_id, split.routing)
        return "ok"

    return rt.run(instance_id, actor, mutate, also=also).status


def deliver_message(rt: Runtime, name: str, payload: Mapping[str, Any], *, actor: str,
                    case_id: str | None = None, instance_id: str | None = None,
                    correlation: tuple[str, str] | None = None, also: Also | None = None) -> str:
    """Deliver a message to a case by instance id, case id or correlation key; return the instance id."""
    split = split_data(payload, RESERVED)
    target = instance_id or _find_instance(rt, name, case_id, correlation)

    def mutate(ctx: CommandContext) -> None:
        if split.has_personal():
            store_personal(ctx.session, ctx.row.case_id, split, task_id=None, actor=actor, now=ctx.now)
        ctx.record("message_received", message=name, fields=split.field_names())
        wfops.catch_message(ctx.workflow, name, split.routing)

    rt.command(target, actor, mutate, also=also)
    return target


def _find_instance(rt: Runtime, name: str, case_id: str | None, correlation: tuple[str, str] | None) -> str:
    with rt.read() as session:
        query = sa.select(ProcessInstance.id).where(ProcessInstance.status.in_(("running", "waiting")))
        if case_id is not None:
            query = query.where(ProcessInstance.case_id == case_id)
        elif correlation is not None:
            query = query.join(InstanceCorrelation, InstanceCorrelation.instance_id == ProcessInstance.id).where(
                InstanceCorrelation.name == correlation[0], InstanceCorrelation.value == str(correlation[1]))
        else:
            raise FormDataInvalid("a message needs a case id, an instance id or a correlation key")
        ids = list(session.scalars(query.order_by(ProcessInstance.created_at)))
    if not ids:
        raise NotFound(f"no active case waits for message {name!r}")
    if len(ids) > 1 and case_id is None:
        raise Conflict(f"correlation key matches {len(ids)} cases")
    return str(ids[0])
