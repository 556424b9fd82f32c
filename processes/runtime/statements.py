"""The hot-path statements of a command, run with little client and server work: on PostgreSQL straight on psycopg.

The statements are SQLAlchemy constructs built once at import. On PostgreSQL each is compiled once and executed on
the psycopg connection under the SQLAlchemy transaction, with SQLAlchemy's bind processing, its cursor events and its
error handling, and the writes of a command go out as one data-modifying WITH statement. Other databases (SQLite)
run the same statements one by one through SQLAlchemy.

CPU of one command (lock, snapshot UPDATE, task INSERT + UPDATE, history INSERT, commit) on PostgreSQL 15 on the
same machine, client / server: SQLAlchemy Core 0.71-0.79 / 0.49-0.54 ms; psycopg pipeline mode 0.58-0.66 /
0.43-0.49 ms (it saves round trips, but its Python bookkeeping costs more than they do); plain psycopg, one statement
per write 0.42-0.52 / 0.44-0.52 ms; plain psycopg, writes merged 0.33-0.37 / 0.35-0.38 ms.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import cast

import psycopg
import sqlalchemy as sa
from psycopg.rows import namedtuple_row
from sqlalchemy import Connection
from sqlalchemy.sql.compiler import SQLCompiler

from processes.errors import Conflict

Params = Mapping[str, Any] | Sequence[Mapping[str, Any]]
Statement = tuple[sa.Executable, Params, str | None]  # statement, rows, Conflict message unless one row changes
_COMPILED: dict[tuple[Any, str, tuple[str, ...]], _Plan] = {}
_Shape = tuple[tuple[sa.Executable, tuple[str, ...], int, bool], ...]  # (statement, columns, rows, checked) per part
_MERGED: dict[_Shape, tuple[str, list[tuple[_Plan, list[str]]]]] = {}
_RETURNING: dict[sa.Executable, sa.Executable] = {}
_CACHE_LIMIT = 256  # the hot-path statements are module constants; anything beyond this is a misuse
_MAX_PARTS, _MAX_ROWS = 16, 64  # per merged statement and per multi-row insert (a step can open hundreds of tasks)
_PLACEHOLDER = re.compile(r"(?<!%)%\((\w+)\)s")  # SQLAlchemy's psycopg placeholders; a literal % is written %%


def fetch(conn: Connection, stmt: sa.Executable, params: Mapping[str, Any]) -> list[Any]:
    """Run a query built once at import and return its rows (attribute access by column name)."""
    raw = _psycopg(conn)
    if raw is None:
        return list(conn.execute(stmt, params).all())
    cursor = raw.cursor(row_factory=namedtuple_row)
    _run(conn, cursor, stmt, params)
    return cursor.fetchall()


@dataclass
class Writes:
    """The writes of one command, kept in order and run together at its end."""

    steps: list[Statement | Callable[[Connection], object]] = field(default_factory=list)

    def add(self, stmt: sa.Executable, params: Params, *, conflict: str | None = None, first: bool = False) -> None:
        """Queue a statement built once at import; `conflict` makes it fail unless exactly one row changed."""
        self.steps.insert(0 if first else len(self.steps), (stmt, params, conflict))

    def call(self, write: Callable[[Connection], object]) -> None:
        """Queue a write that needs SQLAlchemy itself (ad-hoc statements, ORM); it runs in its turn."""
        self.steps.append(write)

    def send(self, conn: Connection) -> None:
        """Run every queued write in order, in the connection's transaction; raise Conflict on a lost race."""
        raw = _psycopg(conn)
        batch: list[Statement] = []
        for step in self.steps:
            if not isinstance(step, tuple):
                _merged(conn, batch)
                batch = []
                step(conn)
            elif raw is None:
                stmt, params, conflict = step
                result = conn.execute(stmt, _many(params))
                if conflict is not None and result.rowcount != 1:
                    raise Conflict(conflict)
            else:
                batch.append(step)
        _merged(conn, batch)
        self.steps.clear()


def _many(params: Params) -> Any:
    """One row as a plain execute, several as executemany (the batch path costs more for a single row)."""
    if isinstance(params, Mapping):
        return params
    return params[0] if len(params) == 1 else list(params)


def _run(conn: Connection, cursor: psycopg.Cursor[Any], stmt: sa.Executable, params: Mapping[str, Any]) -> None:
    """Execute one statement on psycopg."""
    plan = _compile(conn, stmt, list(params))
    _execute(conn, cursor, plan.sql, plan.bind(params))


def _merged(conn: Connection, batch: list[Statement]) -> None:
    """Run a batch of writes on PostgreSQL as one statement: a data-modifying WITH with one part per write.

    One statement instead of one per write costs the client and the server less CPU per command (see the module
    docstring). The parts see one snapshot and not each other's rows, so a batch must never touch a row twice: the
    projections write disjoint rows (new, finished and changed tasks; new, ended and moved timers); writes that
    replace rows (correlations) are queued with `call`. Foreign keys are checked at the end of the statement, so a
    new instance row and the rows that refer to it may share one. The rows of one insert stay one multi-row
    VALUES, which keeps their ids in order (history events in the order they were recorded).
    """
    parts: list[tuple[sa.Executable, list[Mapping[str, Any]], str | None]] = []
    for stmt, params, conflict in batch:
        rows = [params] if isinstance(params, Mapping) else list(params)
        if isinstance(stmt, sa.Insert) and conflict is None:
            parts.extend((stmt, rows[i:i + _MAX_ROWS], conflict) for i in range(0, len(rows), _MAX_ROWS))
        else:
            parts.extend((stmt, [row], conflict) for row in rows)
    for start in range(0, len(parts), _MAX_PARTS):
        chunk = parts[start:start + _MAX_PARTS]
        key = tuple((stmt, tuple(rows[0]), len(rows), conflict is not None) for stmt, rows, conflict in chunk)
        sql, layout = _MERGED.get(key) or _merge(conn, key)
        values: list[Any] = []
        for (_stmt, rows, _conflict), (plan, names) in zip(chunk, layout, strict=True):
            for row in rows:
                values.extend(map(plan.bind(row).__getitem__, names))
        cursor = cast("psycopg.Connection[Any]", conn.connection.driver_connection).cursor()
        _execute(conn, cursor, sql, values)
        counts = cursor.fetchone() or ()
        for conflict, count in zip([c for _s, _r, c in chunk if c is not None], counts, strict=False):
            if count != 1:
                raise Conflict(conflict)


def _merge(conn: Connection, key: _Shape) -> tuple[str, list[tuple[_Plan, list[str]]]]:
    """Build (once per shape) the WITH statement of a batch, with positional parameters, and where each value goes.

    The statement returns the row count of each checked part.
    """
    parts, layout, checked, selects = [], [], [], []
    for n, (stmt, keys, rows, check) in enumerate(key):
        plan = _compile(conn, _returning(stmt) if check else stmt, list(keys))
        names, sql = _PLACEHOLDER.findall(plan.sql), _PLACEHOLDER.sub("%s", plan.sql)  # positional: no renaming
        head, sep, row = sql.partition(" VALUES ") if rows > 1 else ("", "", sql)  # only inserts have rows > 1
        parts.append(f"p{n} AS ({head}{sep}{', '.join([row] * rows)})")
        layout.append((plan, names))
        if check:
            checked.append(f"(SELECT count(*) FROM p{n})")  # noqa: S608 (our own part names)
        elif isinstance(stmt, sa.Select):  # a SELECT part (pg_notify) runs only when referenced
            selects.append(f"(SELECT count(*) FROM p{n})")  # noqa: S608 (our own part names)
    if len(_MERGED) >= _CACHE_LIMIT:
        _MERGED.clear()
    merged = _MERGED[key] = (f"WITH {', '.join(parts)} SELECT {', '.join(checked + selects or ['1'])}", layout)
    return merged


def _returning(stmt: sa.Executable) -> sa.Executable:
    """The statement with RETURNING 1, so a merged batch can count the rows it changed."""
    found = _RETURNING.get(stmt)
    if found is None:
        found = _RETURNING[stmt] = cast(Any, stmt).returning(sa.literal_column("1"))
    return found


def _execute(conn: Connection, cursor: psycopg.Cursor[Any], sql: str, values: Sequence[Any] | Mapping[str, Any],
             ) -> None:
    """Execute on psycopg, firing SQLAlchemy's cursor events (their return values cannot rewrite the SQL)."""
    for before in conn.dispatch.before_cursor_execute:
        before(conn, cursor, sql, values, None, False)
    try:
        cursor.execute(sql, values)
    except psycopg.Error as exc:
        # SQLAlchemy's own error path: IntegrityError & co., handle_error events, pool invalidation on disconnect
        conn._handle_dbapi_exception(exc, sql, values, cast(Any, cursor), None)
    for after in conn.dispatch.after_cursor_execute:
        after(conn, cursor, sql, values, None, False)


def _psycopg(conn: Connection) -> psycopg.Connection[Any] | None:
    """Return the psycopg connection under a PostgreSQL connection, else None."""
    if conn.dialect.name != "postgresql":
        return None
    return cast("psycopg.Connection[Any]", conn.connection.driver_connection)


def _compile(conn: Connection, stmt: sa.Executable, keys: list[str]) -> _Plan:
    """Compile a statement once per dialect and parameter names (inserts list only the given columns)."""
    key = (stmt, conn.dialect.name, tuple(keys))
    plan = _COMPILED.get(key)
    if plan is None:
        # for_executemany: no implicit RETURNING of new primary keys, which nothing here reads
        clause = cast(sa.ClauseElement, stmt)
        compiled = cast(SQLCompiler, clause.compile(dialect=conn.dialect, column_keys=keys, for_executemany=True))
        literals = compiled.construct_params(_check=False) or {}  # binds with fixed values, e.g. kind = 'timer'
        processors = compiled._bind_processors
        if len(_COMPILED) >= _CACHE_LIMIT:
            _COMPILED.clear()
        plan = _COMPILED[key] = _Plan(compiled.string, {k: v for k, v in literals.items() if k not in keys},
                                      [(k, p) for k, p in processors.items() if k in keys or k in literals])
    return plan


@dataclass(frozen=True)
class _Plan:
    """A statement compiled for one dialect: SQL text, fixed bind values and the column types' bind processing."""

    sql: str
    literals: dict[str, Any]
    processors: list[tuple[str, Any]]  # (bind name, SQLAlchemy bind processor)

    def bind(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Return the values psycopg gets, processed as SQLAlchemy's own execute would."""
        values = {**self.literals, **params}
        for name, process in self.processors:
            values[name] = process(values[name])
        return values
