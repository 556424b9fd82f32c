"""The command's hot-path statements (processes.runtime.statements) on both backends: order, races, errors, events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from processes.clock import FrozenClock
from processes.errors import Conflict
from processes.runtime import commands
from processes.runtime.core import _HISTORY
from processes.runtime.core import _LOCK
from processes.runtime.core import _SAVE
from processes.runtime.core import Runtime
from processes.runtime.models import HistoryEvent
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessInstance
from processes.runtime.projections import _FINISH_TASK
from processes.runtime.projections import _NEW_TASK
from processes.runtime.queries import open_task_ids
from processes.runtime.statements import Writes
from processes.runtime.statements import fetch
from tests.support import deploy
from tests.support import make_runtime

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@pytest.fixture
def rt(db_url: str, clock: FrozenClock) -> Iterator[Runtime]:
    runtime = make_runtime(db_url, clock)
    try:
        deploy(runtime, "simple", "simple.bpmn")
        yield runtime
    finally:
        runtime.db.dispose()


def _event(iid: str, kind: str, dedupe_key: str | None = None) -> dict[str, Any]:
    return {"instance_id": iid, "case_id": None, "at": NOW, "actor": "t", "kind": kind, "task_id": None,
            "bpmn_id": None, "fields": ["a"], "detail": {"n": 1}, "dedupe_key": dedupe_key}


def _task(task_id: str, iid: str) -> dict[str, Any]:
    return {"id": task_id, "instance_id": iid, "case_id": None, "bpmn_id": "b", "name": "n", "role": "r",
            "department": None, "assignee": None, "priority": 0, "form": None, "due_at": None, "status": "open",
            "created_at": NOW, "completed_at": None, "completed_by": None}


def _save(iid: str, old: int) -> dict[str, Any]:
    return {"b_id": iid, "b_old": old, "b_snapshot": "{}", "b_projection": "{}", "b_status": "waiting",
            "b_version": old + 1, "b_next_due_at": None, "b_error": None, "b_updated_at": NOW}


def _kinds(rt: Runtime, iid: str) -> list[str]:
    with rt.read() as session:
        return list(session.scalars(sa.select(HistoryEvent.kind).where(HistoryEvent.instance_id == iid)
                                    .order_by(HistoryEvent.id)))


def test_writes_of_one_command_land_together_and_in_order(rt: Runtime) -> None:
    iid = commands.start(rt, "simple", {}, actor="op").instance_id
    with rt.writer.connect() as conn, conn.begin():
        (row,) = fetch(conn, _LOCK, {"id": iid})
        writes = Writes()
        writes.add(_NEW_TASK, [_task("t-1", iid), _task("t-2", iid)])
        writes.add(_FINISH_TASK, [{"tid": "t-0", "st": "completed", "at": NOW, "by": "t"}])  # no such row: fine
        writes.add(_HISTORY, [_event(iid, f"e{n}") for n in range(5)])
        writes.add(_SAVE, _save(iid, row.version), conflict="lost", first=True)
        writes.send(conn)
    assert _kinds(rt, iid)[-5:] == ["e0", "e1", "e2", "e3", "e4"]  # ids follow the order of recording
    with rt.reader.connect() as conn:
        assert {"t-1", "t-2"} <= set(open_task_ids(conn, iid))
    with rt.read() as session:
        assert session.scalar(sa.select(ProcessInstance.version).where(ProcessInstance.id == iid)) == row.version + 1


def test_a_stale_version_is_a_conflict_and_writes_nothing(rt: Runtime) -> None:
    iid = commands.start(rt, "simple", {}, actor="op").instance_id
    before = _kinds(rt, iid)
    with pytest.raises(Conflict, match="lost"), rt.writer.connect() as conn, conn.begin():
        (row,) = fetch(conn, _LOCK, {"id": iid})
        writes = Writes()
        writes.add(_SAVE, _save(iid, row.version - 1), conflict="lost")
        writes.add(_NEW_TASK, [_task("t-9", iid)])
        writes.add(_HISTORY, [_event(iid, "late")])
        writes.send(conn)
    assert _kinds(rt, iid) == before
    with rt.read() as session:
        assert session.get(HumanTask, "t-9") is None


def test_a_database_error_is_sqlalchemys_and_rolls_everything_back(rt: Runtime) -> None:
    iid = commands.start(rt, "simple", {}, actor="op").instance_id
    before = _kinds(rt, iid)
    with pytest.raises(sa.exc.IntegrityError), rt.writer.connect() as conn, conn.begin():
        writes = Writes()
        writes.add(_HISTORY, [_event(iid, "once", "k:1"), _event(iid, "twice", "k:1")])  # unique dedupe key
        writes.send(conn)
    assert _kinds(rt, iid) == before


def test_sqlalchemy_cursor_events_see_the_statements(rt: Runtime) -> None:
    iid = commands.start(rt, "simple", {}, actor="op").instance_id
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(rt.db, "before_cursor_execute", before)
    try:
        with rt.reader.connect() as conn:
            task = open_task_ids(conn, iid)[0]
        commands.complete_task(rt, iid, task, {}, actor="u")
    finally:
        event.remove(rt.db, "before_cursor_execute", before)
    assert any("FOR UPDATE" in s for s in seen) or rt.db.dialect.name == "sqlite"
    assert any("history_event" in s for s in seen)

