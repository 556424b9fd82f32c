"""Shared helpers for tests: databases per run, a runtime with a frozen clock, test handlers."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.dbsetup import own_database
from handlers import REGISTRY
from processes.clock import FrozenClock
from processes.db.engines import create_db_engine
from processes.db.migrate import upgrade
from processes.db.schema import METADATA
from processes.runtime import definitions
from processes.runtime.core import Runtime
from processes.runtime.handler_api import HandlerContext
from processes.runtime.handler_api import HandlerError
from processes.runtime.handler_api import HandlerSpec

TEST_BPMN = Path(__file__).parent / "bpmn"
PG_ENV = "HOTLINE_TEST_DATABASE_URL"


class FlakyHandler:
    """A handler that fails until told to work; counts its calls."""

    def __init__(self) -> None:
        self.broken = True
        self.calls = 0

    def __call__(self, ctx: HandlerContext, value: Any = None) -> dict[str, Any]:
        self.calls += 1
        if self.broken:
            raise HandlerError("upstream platform unreachable")
        return {"ok": True, "value": value}


def test_registry(flaky: FlakyHandler | None = None) -> dict[str, HandlerSpec]:
    """The product registry plus handlers only tests use."""
    registry = dict(REGISTRY)
    registry["test.echo"] = HandlerSpec("test.echo", lambda ctx, value=None: {"v": value}, "回显")
    registry["test.flaky"] = HandlerSpec("test.flaky", flaky or FlakyHandler(), "不稳定")
    return registry


test_registry.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def read_bundle(*names: str) -> dict[str, str]:
    """Read test BPMN files into a bundle dict."""
    return {name: (TEST_BPMN / name).read_text(encoding="utf-8") for name in names}


def deploy(rt: Runtime, key: str, *files: str) -> definitions.DeployResult:
    """Deploy and publish test BPMN files."""
    with rt.write() as session, session.begin():
        return definitions.deploy(session, key, read_bundle(*files), actor="analyst", now=rt.clock(),
                                  operators=rt.handlers, publish=True)


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """Create a fresh, migrated PostgreSQL database on the server, drop it afterwards."""
    with own_database(server_url) as url:
        yield url


def sqlite_template(directory: Path) -> Path:
    """Migrate one SQLite file per run; tests copy it instead of migrating again."""
    template = directory / "template.sqlite"
    if not template.exists():
        upgrade(f"sqlite:///{template}")
    return template


def fresh_sqlite(template: Path, directory: Path) -> str:
    """Return the URL of a fresh copy of the migrated template."""
    target = directory / f"db-{uuid.uuid4().hex[:8]}.sqlite"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


def truncate_all(url: str) -> None:
    """Empty every table of a PostgreSQL test database between tests."""
    engine = create_db_engine(url)
    names = ", ".join(f'"{t.name}"' for t in METADATA.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


def make_runtime(url: str, clock: FrozenClock | None = None, **kwargs: Any) -> Runtime:
    """Build a runtime on a database URL with test handlers and a frozen clock."""
    registry = kwargs.pop("registry", None) or test_registry()
    return Runtime(create_db_engine(url), registry, clock=clock or FrozenClock(), **kwargs)


def pg_server_url() -> str | None:
    """Return the PostgreSQL server URL given to the test run, if any."""
    return os.environ.get(PG_ENV) or None
