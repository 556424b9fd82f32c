"""What the runtime stored about an instance: its row, history, human tasks, timer jobs, all facts, workflow."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from processes import engine
from processes.cases.models import CaseText
from processes.runtime.core import Runtime
from processes.runtime.models import HistoryEvent
from processes.runtime.models import HumanTask
from processes.runtime.models import InstanceCorrelation
from processes.runtime.models import ProcessInstance
from processes.runtime.models import TimerJob


def instance(rt: Runtime, instance_id: str) -> ProcessInstance:
    with rt.read() as session:
        row = session.get(ProcessInstance, instance_id)
    assert row is not None
    return row


def history(rt: Runtime, instance_id: str) -> list[HistoryEvent]:
    with rt.read() as session:
        return list(session.scalars(sa.select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
                                    .order_by(HistoryEvent.id)))


def kinds(rt: Runtime, instance_id: str) -> list[str]:
    return [event.kind for event in history(rt, instance_id)]


def tasks(rt: Runtime, instance_id: str) -> dict[str, HumanTask]:
    """Human-task rows of an instance by BPMN id (one each in these diagrams)."""
    with rt.read() as session:
        rows = list(session.scalars(sa.select(HumanTask).where(HumanTask.instance_id == instance_id)))
    out = {row.bpmn_id: row for row in rows}
    assert len(out) == len(rows)
    return out


def jobs(rt: Runtime, instance_id: str) -> list[TimerJob]:
    with rt.read() as session:
        return list(session.scalars(sa.select(TimerJob).where(TimerJob.instance_id == instance_id)
                                    .order_by(TimerJob.id)))


def fingerprint(rt: Runtime, instance_id: str) -> dict[str, Any]:
    """Every stored fact about an instance: its row, tasks, jobs, history, correlations and texts."""

    def rows(table: Any, *where: Any) -> list[tuple[Any, ...]]:
        with rt.read() as session:
            return sorted(tuple(r) for r in session.execute(sa.select(table).where(*where)).all())

    row = instance(rt, instance_id)
    return {
        "instance": rows(ProcessInstance.__table__, ProcessInstance.id == instance_id),
        "tasks": rows(HumanTask.__table__, HumanTask.instance_id == instance_id),
        "jobs": rows(TimerJob.__table__, TimerJob.instance_id == instance_id),
        "history": rows(HistoryEvent.__table__, HistoryEvent.instance_id == instance_id),
        "correlations": rows(InstanceCorrelation.__table__, InstanceCorrelation.instance_id == instance_id),
        "texts": rows(CaseText.__table__, CaseText.case_id == row.case_id) if row.case_id else [],
    }


def stored_workflow(rt: Runtime, iid: str) -> Any:
    """The workflow as stored in the snapshot, restored with the runtime's spec cache."""
    row = instance(rt, iid)
    with rt.read() as session:
        spec, subprocess_specs = rt.specs.get(session, row.definition_id)
    return engine.load_workflow(row.snapshot, spec, subprocess_specs)
