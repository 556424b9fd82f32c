"""The earliest of some times with missing ones ignored (最早时限), in SQL on every backend.

A case's effective deadline (processes.cases.models.Case.effective_due) is this over its own, its open tasks' and
upstream's deadlines; lists that compute it on the fly use it too.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class Earliest(FunctionElement[Any]):
    """The earliest of some times, missing ones ignored: LEAST on PostgreSQL; SQLite's min() would answer NULL.

    Why not a CASE: each argument is repeated in every branch, and the open tasks' subquery with it, so nested
    CASEs ran it 128 times per case and the office board took minutes over 50,000 open cases.
    """

    name = "earliest"
    inherit_cache = True


@compiles(Earliest, "postgresql")
def _least(element: Earliest, compiler: Any, **kw: Any) -> str:
    return f"LEAST({compiler.process(element.clauses, **kw)})"


@compiles(Earliest)
def _min_of_present(element: Earliest, compiler: Any, **kw: Any) -> str:
    """SQLite: min() of the arguments each coalesced with the others, so a missing one takes a present value."""
    items = list(element.clauses)
    rotated = [sa.func.coalesce(*items[i:], *items[:i]) for i in range(len(items))]
    return str(compiler.process(sa.func.min(*rotated), **kw))
