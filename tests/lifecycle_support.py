"""The product diagrams on a seeded office database, driven task by task with a frozen clock."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import handlers
from handlers.reference.seed import seed_all
from processes.cases.models import Case
from processes.clock import FrozenClock
from processes.db.engines import create_db_engine
from processes.db.migrate import upgrade
from processes.runtime import commands
from processes.runtime import control
from processes.runtime import definitions
from processes.runtime.core import Runtime
from processes.runtime.models import HumanTask
from processes.runtime.models import OutboxMessage
from processes.runtime.models import ProcessInstance
from processes.runtime.models import TimerJob

ROOT = Path(__file__).resolve().parent.parent
BUNDLES = ("case_phone", "case_visit", "case_platform", "case_township", "case_110", "upward_report")
SEEDED_AT = datetime.fromisoformat("2026-01-01T00:00:00+08:00")
REPLY: dict[str, Any] = {
    "reply_action": "reply", "claim_true": True, "solved": True, "contacted": True, "reply_text": "已现场处理",
    "contact_record": "电话联系诉求人", "public_reply": "经核查，问题已处理。",
}


def prepare_office(url: str) -> None:
    """Migrate, seed reference data (calendar 2025-2026 from the package) and deploy every product bundle."""
    upgrade(url)
    rt = Runtime(create_db_engine(url), handlers.REGISTRY, clock=FrozenClock(SEEDED_AT))
    with rt.write() as session, session.begin():
        seed_all(session, ROOT / "reference", actor="tester", now=SEEDED_AT, years=range(2025, 2027))
    for key in BUNDLES:
        with rt.write() as session, session.begin():
            definitions.deploy(session, key, definitions.read_bundle_dir(ROOT / "bpmn" / key), actor="analyst",
                               now=SEEDED_AT, operators=handlers.REGISTRY, publish=True)
    rt.db.dispose()


def copy_office(template: Path, directory: Path) -> str:
    """A fresh copy of the prepared SQLite office database."""
    target = directory / f"office-{uuid.uuid4().hex[:8]}.sqlite"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


class Office:
    """A runtime on a prepared database with helpers that speak in BPMN ids and departments."""

    def __init__(self, url: str, clock: FrozenClock) -> None:
        self.clock = clock
        self.rt = Runtime(create_db_engine(url), handlers.REGISTRY, clock=clock)

    def open(self, key: str, channel: str, **data: Any) -> commands.Started:
        """Register a case through a channel process."""
        intake = {"request_type": "complaint", "urgency": "normal", "township": "bayj", "category": "噪音扰民",
                  "requester_phone": "13812345678", "content": "夜间施工噪音", **data}
        return commands.open_case(self.rt, key, intake, actor="op1", channel=channel)

    def tasks(self, case_id: str | None = None) -> list[HumanTask]:
        """Open human tasks (of one case, or all), oldest first."""
        query = sa.select(HumanTask).where(HumanTask.status == "open").order_by(HumanTask.created_at, HumanTask.id)
        if case_id:
            query = query.where(HumanTask.case_id == case_id)
        with self.rt.read() as session:
            return list(session.scalars(query))

    def task(self, started: commands.Started, bpmn_id: str, department: str | None = None) -> HumanTask:
        """The one open task with this BPMN id (and department)."""
        found = [t for t in self.tasks(started.case_id)
                 if t.bpmn_id == bpmn_id and (department is None or t.department == department)]
        assert len(found) == 1, f"{bpmn_id}/{department}: {[(t.bpmn_id, t.department) for t in self.tasks()]}"
        return found[0]

    def open_ids(self, started: commands.Started) -> list[str]:
        """BPMN ids of the case's open tasks, sorted."""
        return sorted(t.bpmn_id for t in self.tasks(started.case_id))

    def complete(self, started: commands.Started, bpmn_id: str, data: Mapping[str, Any],
                 department: str | None = None, actor: str = "user1") -> str:
        """Complete the one open task with this BPMN id; return the instance status."""
        task = self.task(started, bpmn_id, department)
        return commands.complete_task(self.rt, task.instance_id, task.id, data, actor=actor)

    def run_until(self, moment: datetime) -> int:
        """Move the clock to `moment` and fire every timer that is due by then."""
        self.clock.now = moment
        return control.fire_due_timers(self.rt, limit=1000)

    def case(self, started: commands.Started) -> Case:
        """The case row."""
        with self.rt.read() as session:
            case = session.get(Case, started.case_id)
        assert case is not None
        return case

    def status(self, started: commands.Started) -> str:
        """Instance status; an error instance fails the test with its message."""
        with self.rt.read() as session:
            row = session.get(ProcessInstance, started.instance_id)
        assert row is not None
        assert row.status != "error", row.error
        return row.status

    def outbox(self, started: commands.Started | None = None) -> list[tuple[str, str, Any]]:
        """(channel, kind, target) of queued messages, in order."""
        query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
        if started is not None:
            query = query.where(OutboxMessage.case_id == started.case_id)
        with self.rt.read() as session:
            return [(m.channel, m.kind, m.payload.get("target")) for m in session.scalars(query)]

    def timers(self, started: commands.Started, status: str = "pending") -> dict[str, list[datetime]]:
        """Due times of the instance's timers by BPMN id."""
        with self.rt.read() as session:
            rows = session.execute(sa.select(TimerJob.bpmn_id, TimerJob.due_at).where(
                TimerJob.status == status, TimerJob.instance_id == started.instance_id)
                .order_by(TimerJob.due_at)).all()
        found: dict[str, list[datetime]] = {}
        for bpmn_id, due in rows:
            found.setdefault(bpmn_id or "", []).append(due)
        return found

    def close(self) -> None:
        """Release the database."""
        self.rt.db.dispose()


def at(text: str) -> datetime:
    """A wall-clock time in Asia/Shanghai."""
    return datetime.fromisoformat(text + "+08:00")
