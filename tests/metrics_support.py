"""Hand-made cases for the metric tests: each one written for a formula, its expected counts worked out by hand."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.cases.models import Case
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessDefinition
from processes.runtime.models import ProcessInstance
from tests.lifecycle_support import at

NOW = at("2026-11-25T09:00:00")  # Wednesday morning, Beijing time
T0 = datetime(2026, 10, 1, tzinfo=UTC)


def add_case(session: Session, name: str, created: str, **values: Any) -> Case:
    """Add a case numbered after its name, created at a Beijing time, with the given columns."""
    row = Case(id=f"case-{name}", number=f"M{name}", channel=values.pop("channel", "phone"),
               category=values.pop("category", "noise"), township=values.pop("township", "beiao"),
               request_type=values.pop("request_type", "complaint"), created_at=at(created),
               updated_at=at(created), **values)
    session.add(row)
    return row


def add_sign_for(session: Session, case: Case, unit: str, due: str, done: str | None) -> None:
    """Add the 签收 task of a unit, completed at `done` (Beijing time) or still open."""
    instance = f"inst-{case.id}"
    if session.get(ProcessInstance, instance) is None:
        definition = session.scalar(sa.select(sa.func.min(ProcessDefinition.id)))
        session.add(ProcessInstance(id=instance, definition_id=definition, process_key="case_phone", case_id=case.id,
                                    status="waiting", snapshot="{}", created_at=T0, updated_at=T0))
        session.flush()
    session.add(HumanTask(id=f"task-{case.id}-{unit}", instance_id=instance, case_id=case.id, bpmn_id="sign_for",
                          name="签收", role="handler", department=unit, due_at=at(due),
                          status="completed" if done else "open", created_at=at(due), completed_at=at(done)
                          if done else None))


def seed_month(session: Session) -> None:
    """Write the November office of tests/test_metrics_rates.py (cases A-J)."""
    if session.scalar(sa.select(sa.func.count()).select_from(ProcessDefinition)) == 0:  # a bare database
        session.add(ProcessDefinition(key="case_phone", version=1, sha256="0" * 64, status="published",
                                      process_id="case_phone", files={}, spec_json="{}", created_by="t",
                                      created_at=T0))
        session.flush()
    a = add_case(session, "A", "2026-11-02T09:00:00", lead_department="D1", status="archived",
                 deadline=at("2026-11-10T23:59:59"), closed_at=at("2026-11-09T15:00:00"),
                 callback_result="satisfied", solved=True)
    b = add_case(session, "B", "2026-11-02T10:00:00", lead_department="D1", status="closed",
                 deadline=at("2026-11-12T23:59:59"), closed_at=at("2026-11-14T10:00:00"), return_count=2,
                 callback_result="basically_satisfied", solved=False, category="roads")
    add_case(session, "C", "2026-11-05T10:00:00", lead_department="D2", status="closed", extension_count=1,
             deadline=at("2026-11-20T23:59:59"), closed_at=at("2026-11-18T10:00:00"), rehandle_count=1,
             callback_result="unsatisfied", solved=False, channel="platform")
    d = add_case(session, "D", "2026-11-10T10:00:00", lead_department="D2", status="signed",
                 deadline=at("2026-11-22T23:59:59"), township="dongping")
    e = add_case(session, "E", "2026-11-20T10:00:00", lead_department="D1", status="dispatched",
                 deadline=at("2026-11-30T23:59:59"))
    add_case(session, "F", "2026-11-03T08:00:00", status="archived", direct_answer=True,
             closed_at=at("2026-11-03T08:30:00"), request_type="consult")
    add_case(session, "G", "2026-11-04T08:00:00", status="merged", duplicate_of="case-A", lead_department="D1",
             deadline=at("2026-11-10T23:59:59"), closed_at=at("2026-11-04T09:00:00"))
    add_case(session, "H", "2026-10-31T23:30:00", lead_department="D1", status="closed",
             deadline=at("2026-11-01T12:00:00"), closed_at=at("2026-11-01T00:30:00"))
    add_case(session, "I", "2026-11-30T23:59:00", status="registered")
    add_case(session, "J", "2026-11-06T10:00:00", lead_department="D1", status="closed",
             deadline=at("2026-11-11T23:59:59"), closed_at=at("2026-11-10T10:00:00"), callback_result="unreachable")
    session.flush()
    add_sign_for(session, a, "D1", "2026-11-02T18:00:00", "2026-11-02T10:00:00")
    add_sign_for(session, b, "D1", "2026-11-03T18:00:00", "2026-11-04T10:00:00")
    add_sign_for(session, d, "D2", "2026-11-24T18:00:00", None)
    add_sign_for(session, e, "D1", "2026-11-26T18:00:00", None)
    session.flush()


# (numerator, denominator) of November under the default reading, worked out by hand from the cases above
NOVEMBER = {"volume": (9, 9), "direct": (1, 7), "signed": (1, 3), "ontime": (4, 6), "overdue": (2, 6),
            "closure": (4, 6), "returned": (1, 6), "rehandled": (1, 6), "callback": (3, 5), "satisfied": (2, 3),
            "solved": (1, 3)}


def session_for(url: str) -> tuple[sa.Engine, Session]:
    """Open an engine and a session on a test database."""
    engine = sa.create_engine(url)
    return engine, Session(engine)
