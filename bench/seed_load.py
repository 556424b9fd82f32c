"""A realistic office for benchmarks (`hotline seed-load`): cases, instances, tasks, history, deadlines, timers.

Importable without Flask: `seed(engine, cases=…, open_tasks=…)` needs a migrated database with reference data and
published definitions of bpmn/ (`hotline seed-load` deploys them when missing). Rows go in by batches: COPY on
PostgreSQL (psycopg) in one transaction with the secondary indexes rebuilt at the end, SQLAlchemy Core executemany
elsewhere, one transaction per batch. Every case has one instance;
`open_tasks` cases are open with exactly one open task each, spread over the steps of the real diagrams and over the
lights; the others finished over the past months. No personal data.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from bench.seed_rows import OPEN_WEIGHTS
from bench.seed_rows import TABLES
from bench.seed_rows import CaseRows
from bench.seed_rows import Maker
from bench.seed_rows import Office
from bench.seed_rows import Row
from processes.cases import numbering
from processes.cases.models import CaseNumberCounter
from processes.db.base import Base
from processes.reference.models import Department
from processes.runtime.models import ProcessDefinition

Progress = Callable[[int], None]
# Indexes of the seeded tables that no primary key or unique constraint owns, with the DDL that builds them.
SECONDARY = sa.text("SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                    "WHERE i.indrelid = ANY(CAST(:tables AS regclass[])) "
                    "AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)")


@dataclass
class Seeded:
    """What one run wrote."""

    cases: int
    open_tasks: int
    rows: int


def office_of(conn: sa.Connection) -> Office:
    """Read what seeded cases refer to; fail when reference data or published definitions are missing."""
    definitions = {str(r.key): int(r.id) for r in conn.execute(
        sa.select(ProcessDefinition.key, sa.func.max(ProcessDefinition.id).label("id"))
        .where(ProcessDefinition.status == "published").group_by(ProcessDefinition.key))}
    units = list(conn.execute(sa.select(Department.code, Department.kind).where(Department.active.is_(True))
                              .order_by(Department.code)))
    departments = [str(u.code) for u in units if u.kind == "department"]
    townships = [str(u.code) for u in units if u.kind == "township"]
    missing = {"case_phone", "case_visit", "case_platform", "case_township", "case_110"} - set(definitions)
    if missing or not departments or not townships:
        raise LookupError(f"seed-load needs reference data and published bpmn/ bundles (missing: "
                          f"{', '.join(sorted(missing)) or 'departments/townships'})")
    # Numbers continue after the counter of each day (cases registered live; numbering.py), numbers beyond 9999 too
    numbers = {f"{numbering.PREFIX}{r.day}-": int(r.last_number) for r in conn.execute(
        sa.select(CaseNumberCounter.day, CaseNumberCounter.last_number))}
    return Office(definitions, departments, townships, numbers)


def open_steps(count: int) -> list[str]:
    """Return `count` open steps spread over the diagram's steps by weight (largest remainder)."""
    total = sum(OPEN_WEIGHTS.values())
    steps = [s for s, w in OPEN_WEIGHTS.items() for _ in range(count * w // total)]
    extra = list(OPEN_WEIGHTS)
    while len(steps) < count:
        steps.append(extra[len(steps) % len(extra)])
    return steps


def _json(value: object) -> str:
    """Return a JSON column's text; seeded ones are nearly all empty, and json.dumps costs more than the COPY."""
    if value == []:
        return "[]"
    return "{}" if value == {} else json.dumps(value, ensure_ascii=False)


def _copy(conn: sa.Connection, name: str, values: list[Row]) -> None:
    """Stream rows into a PostgreSQL table with COPY (psycopg), JSON columns as text."""
    columns = list(values[0])
    table = Base.metadata.tables[name]
    as_json = [n for n, column in enumerate(columns) if isinstance(table.c[column].type, sa.JSON)]
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(  # type: ignore[union-attr]  # psycopg's, under postgresql+psycopg
            f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in values:
            line = list(row.values())
            for n in as_json:  # only these few: testing every value's type cost as much as the COPY itself
                line[n] = _json(line[n])
            copy.write_row(line)


def _write(conn: sa.Connection, rows: CaseRows) -> None:
    """Insert one batch, parents first: COPY on PostgreSQL, executemany elsewhere."""
    for name, values in rows.of.items():
        if not values:
            continue
        if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
            _copy(conn, name, values)
        else:
            conn.execute(Base.metadata.tables[name].insert(), values)


def _drop_indexes(conn: sa.Connection) -> list[str]:
    """Drop the seeded tables' secondary indexes (not those of keys and unique constraints); return their DDL."""
    found = conn.execute(SECONDARY, {"tables": list(TABLES)}).all()
    for name, _ in found:
        conn.exec_driver_sql(f"DROP INDEX {name}")
    return [str(ddl) for _, ddl in found]


def _bulk_session(conn: sa.Connection) -> None:
    """Settings for one big load: room for index builds; a superuser also skips the foreign-key triggers."""
    conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
    if conn.scalar(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")):
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")  # rows are consistent by construction


def _fill(maker: Maker, cases: int, at_step: dict[int, str], batch: int, write: Callable[[CaseRows], None],
          progress: Progress | None) -> int:
    """Draw the cases batch by batch and hand each batch to `write`; return how many rows were written."""
    written = 0
    for start in range(0, cases, batch):
        rows = CaseRows()
        for index in range(start, min(start + batch, cases)):
            maker.add(rows, at_step.get(index))
        write(rows)
        written += rows.count()
        if progress is not None:
            progress(len(rows.of["hotline_case"]))
    return written


def _in_own_transaction(engine: sa.Engine) -> Callable[[CaseRows], None]:
    """Return a writer that commits each batch on its own."""
    def write(rows: CaseRows) -> None:
        with engine.begin() as conn:
            _write(conn, rows)
    return write


def seed(engine: sa.Engine, *, cases: int, open_tasks: int, now: datetime, seed_value: int = 12345,
         batch: int = 2000, days: int = 180, progress: Progress | None = None) -> Seeded:
    """Write `cases` cases, `open_tasks` of them open with one open task each; call `progress(n)` per batch.

    On PostgreSQL the whole load is one transaction that drops the tables' secondary indexes, copies the rows and
    builds the indexes again: one sorted build costs far less than millions of random-key insertions, and a failed
    load leaves the database as it was. Elsewhere each batch commits on its own.
    """
    if cases < 0 or not 0 <= open_tasks <= cases or batch < 1:
        raise ValueError("need 0 <= open tasks <= cases and a batch of at least 1")
    with engine.connect() as conn:
        office = office_of(conn)
    days = max(days, cases // 5000 + 2)  # at most ~5000 a day keeps numbers at four digits
    maker = Maker(office, now, seed_value, days)
    steps = open_steps(open_tasks)
    maker.rng.shuffle(steps)
    openings = sorted(maker.rng.sample(range(cases), open_tasks))
    at_step = dict(zip(openings, steps, strict=True))
    if engine.dialect.name != "postgresql":
        written = _fill(maker, cases, at_step, batch, _in_own_transaction(engine), progress)
        with engine.begin() as conn:
            _record_numbers(conn, office)
        return Seeded(cases, open_tasks, written)
    with engine.begin() as conn:
        _bulk_session(conn)
        rebuild = _drop_indexes(conn)
        written = _fill(maker, cases, at_step, batch, lambda rows: _write(conn, rows), progress)
        for ddl in rebuild:
            conn.exec_driver_sql(ddl)
        _record_numbers(conn, office)
    return Seeded(cases, open_tasks, written)


def _record_numbers(conn: sa.Connection, office: Office) -> None:
    """Move each filled day's case-number counter past the numbers seeded, so live registrations continue after them."""
    numbering.record_used(conn, {prefix[2:10]: last for prefix, last in office.numbers.items()})
