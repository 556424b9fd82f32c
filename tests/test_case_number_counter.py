"""Case numbers (工单编号) from the per-day counter: consecutive, continuing over existing cases, safe at once."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bench.dbsetup import scratch_database
from bench.seed_load import seed
from processes.cases import numbering
from processes.cases.models import Case
from processes.cases.models import CaseNumberCounter
from processes.clock import FrozenClock
from processes.db.engines import create_db_engine
from processes.db.migrate import upgrade
from processes.runtime import commands
from processes.runtime.core import Runtime
from tests.intake_support import cases
from tests.intake_support import office_app
from tests.intake_support import office_url
from tests.intake_support import open_case
from tests.support import deploy
from tests.support import make_runtime
from tests.support import pg_server_url
from tests.support import truncate_all
from webapp import runtime_of

DAY = "20261125"  # FrozenClock's day


def register(rt: Runtime) -> str:
    """Register one case of the test process; return its number."""
    number = commands.open_case(rt, "simple", {"lead_department": "区住建局"}, actor="op", channel="phone").case_number
    assert number is not None
    return number


def write_case(conn: sa.Connection, number: str, now: datetime) -> None:
    """Write a case row directly, as an older database or a bulk load holds them (no counter)."""
    conn.execute(sa.insert(Case.__table__).values(
        id=str(uuid.uuid4()), number=number, channel="phone", urgency="normal", complexity="normal",
        status="closed", direct_answer=False, warning_level="none", return_count=0, extension_count=0,
        rehandle_count=0, assisting_departments=[], flags={}, created_at=now, updated_at=now))


def counters(conn: sa.Connection) -> dict[str, int]:
    """Return every day's counter."""
    return {str(r.day): int(r.last_number) for r in conn.execute(sa.select(CaseNumberCounter))}


def test_numbers_are_consecutive_per_day_and_keep_their_form(runtime: Runtime, clock: FrozenClock) -> None:
    deploy(runtime, "simple", "simple.bpmn")
    assert [register(runtime) for _ in range(3)] == [f"DT{DAY}-000{n}" for n in (1, 2, 3)]
    clock.advance(days=1)
    assert register(runtime) == "DT20261126-0001"
    with runtime.writer.connect() as conn:
        assert counters(conn) == {DAY: 3, "20261126": 1}


def test_a_number_carries_the_office_s_day_in_beijing_time_not_utc_s(runtime: Runtime, clock: FrozenClock) -> None:
    deploy(runtime, "simple", "simple.bpmn")
    clock.now = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)  # 07:30 on 8 December in Dongtou
    assert register(runtime) == "DT20261208-0001"
    clock.now = datetime(2026, 12, 8, 15, 59, tzinfo=UTC)  # 23:59 the same office day
    assert register(runtime) == "DT20261208-0002"
    clock.now = datetime(2026, 12, 8, 16, 0, tzinfo=UTC)  # midnight in Dongtou: a new day, a new series
    assert register(runtime) == "DT20261209-0001"
    assert numbering.day_of(datetime(2026, 12, 7, 23, 30)) == "20261208"  # a naive moment is UTC


def test_numbering_continues_after_cases_written_without_the_counter(runtime: Runtime, clock: FrozenClock) -> None:
    deploy(runtime, "simple", "simple.bpmn")
    with runtime.writer.begin() as conn:
        for number in ("DT20261125-0041", "DT20261125-0007", "DT20261125-x9", "DT20261124-0100"):
            write_case(conn, number, clock())
    assert register(runtime) == "DT20261125-0042"  # no counter row yet: starts after the highest well-formed one


def test_a_counter_behind_the_cases_catches_up_instead_of_failing(runtime: Runtime, clock: FrozenClock) -> None:
    deploy(runtime, "simple", "simple.bpmn")
    assert register(runtime) == "DT20261125-0001"
    with runtime.writer.begin() as conn:  # a bulk load wrote 0002-10001 past the counter
        write_case(conn, "DT20261125-0002", clock())
        write_case(conn, "DT20261125-10001", clock())
    assert register(runtime) == "DT20261125-10002"
    assert register(runtime) == "DT20261125-10003"


def test_record_used_only_raises_a_counter(runtime: Runtime) -> None:
    with runtime.writer.begin() as conn:
        numbering.record_used(conn, {DAY: 5, "20261126": 2})
        numbering.record_used(conn, {DAY: 3, "20261126": 9})
        assert counters(conn) == {DAY: 5, "20261126": 9}


def test_two_threads_registering_at_once_get_distinct_consecutive_numbers(pg_url: str) -> None:
    truncate_all(pg_url)
    rt = make_runtime(pg_url)
    try:
        deploy(rt, "simple", "simple.bpmn")
        start = threading.Barrier(2)

        def many(_: int) -> list[str]:
            start.wait()
            return [register(rt) for _ in range(12)]

        with ThreadPoolExecutor(2) as pool:
            numbers = [n for batch in pool.map(many, range(2)) for n in batch]
        assert sorted(numbers) == [f"DT{DAY}-{n:04d}" for n in range(1, 25)]
    finally:
        rt.db.dispose()


@pytest.mark.parametrize("first_of_day", [True, False])
def test_a_waiting_registration_takes_the_number_after_the_holder_or_the_one_it_gave_back(
        pg_url: str, first_of_day: bool) -> None:
    truncate_all(pg_url)
    engine = create_db_engine(pg_url)
    now = FrozenClock()()
    try:
        if not first_of_day:
            with engine.begin() as conn:
                numbering.record_used(conn, {DAY: 7})
        base = 0 if first_of_day else 7
        for holder_commits in (True, False):
            holder = engine.connect()
            holder.begin()
            with sa.orm.Session(holder) as session:
                taken = numbering.next_number(session, now)
            with ThreadPoolExecutor(1) as pool:
                waiting = pool.submit(_take_one, engine, now)
                with pytest.raises(TimeoutError):
                    waiting.result(timeout=0.5)  # blocked by the holder's counter row (or its new row)
                (holder.commit if holder_commits else holder.rollback)()
                holder.close()
                got = waiting.result(timeout=10)
            assert taken == f"DT{DAY}-{base + 1:04d}"
            assert got == f"DT{DAY}-{base + 2:04d}" if holder_commits else f"DT{DAY}-{base + 1:04d}"
            base = int(got[-4:])
    finally:
        engine.dispose()


def _take_one(engine: sa.Engine, now: datetime) -> str:
    """Take a number in a transaction of its own and commit."""
    with sa.orm.Session(engine) as session, session.begin():
        return numbering.next_number(session, now)


@pytest.fixture
def fresh_pg(request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty PostgreSQL database of its own (not migrated), dropped afterwards."""
    request.getfixturevalue("pg_url")  # skips, or fails under HOTLINE_REQUIRE_PG, like every PostgreSQL test
    server = pg_server_url()
    assert server is not None
    with scratch_database(server, "hotline_numbers") as url:
        yield url


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_migration_starts_each_day_at_its_highest_number(backend: str, request: pytest.FixtureRequest,
                                                             tmp_path: object) -> None:
    url = request.getfixturevalue("fresh_pg") if backend == "postgres" else f"sqlite:///{tmp_path}/m.sqlite"
    upgrade(url, "0026")
    engine = create_db_engine(url)
    try:
        with engine.begin() as conn:
            for number in ("DT20261125-0009", "DT20261125-10002", "DT20261126-0001", "X1", "DT20261127-00a1",
                           "DT2026112-0005"):
                write_case(conn, number, FrozenClock()())
        upgrade(url)
        with engine.connect() as conn:
            assert counters(conn) == {DAY: 10002, "20261126": 1}
    finally:
        engine.dispose()


def test_seed_load_leaves_each_filled_day_counted_and_live_numbers_continue(
        db_url: str, office_template: Path, tmp_path: Path) -> None:
    for app in office_app(office_url(db_url, office_template, tmp_path)):
        rt = runtime_of(app)
        clock = rt.clock
        assert isinstance(clock, FrozenClock)
        now = clock()
        clock.now = now - timedelta(days=2)  # the day the seeded finished cases fall on (2 days back, 0-9 h earlier)
        day = numbering.day_of(clock.now)
        assert open_case(app).case_number == f"DT{day}-0001"  # live before the load
        clock.now = now
        seed(rt.writer, cases=60, open_tasks=10, now=now, days=1)
        with rt.writer.connect() as conn:
            days = {str(n)[2:10] for n in conn.scalars(sa.select(Case.number))}
            assert counters(conn) == {d: numbering.highest_used(conn, d) for d in days}
            seeded = numbering.highest_used(conn, day)
        assert seeded > 1 and len([c for c in cases(app) if c.number.startswith(f"DT{day}-")]) == seeded
        clock.now = now - timedelta(days=2)
        assert open_case(app).case_number == f"DT{day}-{seeded + 1:04d}"
