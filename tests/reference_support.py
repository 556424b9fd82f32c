"""Helpers for the reference-data tests: seeded sessions, a made-up 2027 notice, handler contexts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from handlers import HandlerContext
from handlers.reference.seed import seed_all
from processes.cases.models import Case
from processes.db.engines import create_db_engine

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference"
SEEDED_AT = datetime(2026, 11, 1, tzinfo=UTC)
# Not the real 2027 notice (unknown when this was written): a New Year holiday Fri 1/1 - Sun 1/3 is enough to
# make 2027 differ from Mon-Fri in the first working week.
NOTICE_2027 = "date,is_workday,reason\n2027-01-01,false,元旦\n2027-01-02,false,元旦\n2027-01-03,false,元旦\n"
NOTICE_2027_NUMBER = "国办发明电（测试）2027年节假日"
# `hotline demo` under test: cheap argon2 hashes (tests never wait on argon2; the cost is read from each hash).
CHEAP_ENV = {"HOTLINE_ARGON2_TIME_COST": "1", "HOTLINE_ARGON2_MEMORY_KIB": "8", "HOTLINE_ARGON2_PARALLELISM": "1"}


def seed(session: Session, years: range = range(2026, 2027)) -> None:
    """Load the reference files and the packaged calendar of `years` (2026 only by default: fast)."""
    seed_all(session, REFERENCE_DIR, actor="tester", now=SEEDED_AT, years=years)
    session.commit()


@contextmanager
def seeded_session(db_url: str, **case: Any) -> Iterator[Session]:
    """A session on a seeded database with one case `c1` (phone, complaint, normal unless overridden)."""
    engine = create_db_engine(db_url)
    with Session(engine) as session:
        seed(session)
        values = {"channel": "phone", "request_type": "complaint", "urgency": "normal", **case}
        session.add(Case(id="c1", number="DT20261125-0001", created_at=SEEDED_AT, updated_at=SEEDED_AT, **values))
        session.commit()
        yield session
    engine.dispose()


def context(session: Session, now: datetime, case_id: str | None = "c1", instance_id: str = "i1") -> HandlerContext:
    """A handler context at `now`."""
    return HandlerContext(session, instance_id, case_id, "tester", now)


def shanghai(text: str) -> datetime:
    """Parse a wall-clock time in Asia/Shanghai."""
    return datetime.fromisoformat(text + "+08:00")
