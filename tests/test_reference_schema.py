"""The migrations build exactly the tables the models declare (reference data included), on both backends."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from processes.db.engines import create_db_engine
from processes.db.schema import METADATA


def _ours(name: str | None, type_: str, _parent: object) -> bool:
    """Leave APScheduler's own table out, like the migration environment does."""
    return not (type_ == "table" and name == "apscheduler_jobs")


def test_migrated_database_matches_the_models(db_url: str) -> None:
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": _ours})
        differences: list[Any] = compare_metadata(context, METADATA)
    engine.dispose()
    assert differences == []
