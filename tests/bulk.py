"""Bulk fixtures for repetition tests: deploy, clone a started instance many times, read outcomes in one query."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from processes.runtime.core import Runtime
from processes.runtime.models import HistoryEvent
from processes.runtime.models import HumanTask
from processes.runtime.models import InstanceCorrelation
from processes.runtime.models import ProcessInstance
from processes.runtime.models import TimerJob

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CHUNK = 500



def clone_instances(rt: Runtime, template_id: str, count: int) -> list[str]:
    """Insert `count` copies of a started instance (snapshot, projection, human tasks, timer jobs).

    Every engine task id (and the instance id in task data) is replaced by a fresh UUID, so each copy is an
    independent instance as `commands.start` would have made it, at a fraction of the cost. The template must
    have no case and no correlation keys (those are unique per case).
    """
    with rt.read() as session:
        row = session.execute(sa.select(ProcessInstance.__table__).where(ProcessInstance.id == template_id)).one()
        tasks = session.execute(sa.select(HumanTask.__table__).where(HumanTask.instance_id == template_id)).all()
        jobs = session.execute(sa.select(TimerJob.__table__).where(TimerJob.instance_id == template_id)).all()
        correlated = session.scalar(sa.select(sa.func.count()).select_from(InstanceCorrelation).where(
            InstanceCorrelation.instance_id == template_id))
    if row.case_id is not None or correlated:
        raise ValueError("clone only instances without a case or correlation keys")
    uuids = set(UUID_RE.findall(row.snapshot)) | set(UUID_RE.findall(row.projection)) | {template_id}
    instances: list[dict[str, Any]] = []
    task_rows: list[dict[str, Any]] = []
    job_rows: list[dict[str, Any]] = []
    for _ in range(count):
        new = {old: str(uuid.uuid4()) for old in uuids}

        def swap(text: str, new: dict[str, str] = new) -> str:
            return UUID_RE.sub(lambda m: new.get(m.group(0), m.group(0)), text)

        instance = {**row._asdict(), "id": new[template_id], "snapshot": swap(row.snapshot),
                    "projection": swap(row.projection)}
        instances.append(instance)
        task_rows += [{**t._asdict(), "id": new[t.id], "instance_id": instance["id"]} for t in tasks]
        job_rows += [{**{k: v for k, v in j._asdict().items() if k != "id"}, "instance_id": instance["id"],
                      "task_id": new.get(j.task_id, j.task_id)} for j in jobs]
    with rt.write() as session, session.begin():
        for table, rows in ((ProcessInstance.__table__, instances), (HumanTask.__table__, task_rows),
                            (TimerJob.__table__, job_rows)):
            for start in range(0, len(rows), CHUNK):
                session.execute(sa.insert(table), rows[start:start + CHUNK])
    return [i["id"] for i in instances]


def start_many(rt: Runtime, process_key: str, count: int) -> list[str]:
    """Start one instance through the product path and clone it to `count` instances in all."""
    from processes.runtime import commands

    template = commands.start(rt, process_key, {}, actor="op").instance_id
    return [template, *clone_instances(rt, template, count - 1)]


def open_tasks_by_instance(rt: Runtime, bpmn_id: str) -> dict[str, str]:
    """Map instance id to the id of its open task with this BPMN id (one each)."""
    with rt.read() as session:
        rows = session.execute(sa.select(HumanTask.instance_id, HumanTask.id).where(
            HumanTask.bpmn_id == bpmn_id, HumanTask.status == "open")).all()
    out = dict(rows)
    assert len(out) == len(rows), "an instance has two open tasks with the same BPMN id"
    return out


def versions(rt: Runtime) -> dict[str, int]:
    """Instance id to version, for every instance."""
    with rt.read() as session:
        return dict(session.execute(sa.select(ProcessInstance.id, ProcessInstance.version)).all())  # type: ignore[arg-type]


def statuses(rt: Runtime) -> dict[str, str]:
    """Instance id to status, for every instance."""
    with rt.read() as session:
        return dict(session.execute(sa.select(ProcessInstance.id, ProcessInstance.status)).all())  # type: ignore[arg-type]


def history_counts(rt: Runtime, kind: str) -> Counter[tuple[str, str | None]]:
    """Count history events of one kind per (instance, task)."""
    with rt.read() as session:
        rows = session.execute(sa.select(HistoryEvent.instance_id, HistoryEvent.task_id).where(
            HistoryEvent.kind == kind)).all()
    return Counter((r.instance_id, r.task_id) for r in rows)


def task_rows(rt: Runtime, bpmn_ids: Iterable[str]) -> list[Any]:
    """All human-task rows with these BPMN ids."""
    with rt.read() as session:
        return list(session.execute(sa.select(HumanTask.instance_id, HumanTask.id, HumanTask.bpmn_id,
                                              HumanTask.status, HumanTask.completed_by).where(
            HumanTask.bpmn_id.in_(list(bpmn_ids)))).all())
