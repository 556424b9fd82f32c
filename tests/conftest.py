"""Fixtures: every test runs on SQLite and, when a server is given, on PostgreSQL (each run its own database)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from processes.accounts import pii
from processes.clock import FrozenClock
from processes.runtime.core import Runtime
from tests.lifecycle_support import Office
from tests.lifecycle_support import at
from tests.lifecycle_support import copy_office
from tests.lifecycle_support import prepare_office
from tests.support import fresh_sqlite
from tests.support import make_runtime
from tests.support import pg_server_url
from tests.support import postgres_database
from tests.support import sqlite_template
from tests.support import truncate_all
from tests.upload_support import SECRET
from tests.upload_support import Canary
from tests.workspace_support import Workspace
from tests.workspace_support import workspace

_PG_STATUS: dict[str, str] = {}


def _pg_available(url: str) -> str | None:
    """Return None when the server answers, else why not."""
    try:
        engine = sa.create_engine(url)
        with engine.connect():
            pass
        engine.dispose()
    except sa.exc.OperationalError as exc:
        return str(exc).splitlines()[0]
    return None


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A migrated PostgreSQL database of this run, dropped at the end; skips (or fails) without a server."""
    server = pg_server_url()
    required = os.environ.get("HOTLINE_REQUIRE_PG") == "1"
    problem = "HOTLINE_TEST_DATABASE_URL is not set" if server is None else _pg_available(server)
    if problem is not None:
        _PG_STATUS["skipped"] = problem
        if required:
            pytest.fail(f"PostgreSQL required (HOTLINE_REQUIRE_PG=1) but unavailable: {problem}")
        pytest.skip(f"PostgreSQL tests did not run: {problem}")
    assert server is not None
    _PG_STATUS["ran"] = server
    with postgres_database(server) as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_template_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per run."""
    return sqlite_template(tmp_path_factory.mktemp("template"))


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, sqlite_template_file: Path, tmp_path: Path) -> str:
    """A clean database URL: a fresh SQLite file, or the run's PostgreSQL database emptied."""
    if request.param == "sqlite":
        return fresh_sqlite(sqlite_template_file, tmp_path)
    url: str = request.getfixturevalue("pg_url")
    truncate_all(url)
    return url


@pytest.fixture
def sqlite_url(sqlite_template_file: Path, tmp_path: Path) -> str:
    """A fresh SQLite database only."""
    return fresh_sqlite(sqlite_template_file, tmp_path)


@pytest.fixture
def clock() -> FrozenClock:
    """A frozen clock tests move by hand."""
    return FrozenClock()


@pytest.fixture
def runtime(db_url: str, clock: FrozenClock) -> Iterator[Runtime]:
    """A runtime with test handlers on the parametrised database."""
    rt = make_runtime(db_url, clock)
    yield rt
    rt.db.dispose()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say clearly whether the PostgreSQL tests ran."""
    if "skipped" in _PG_STATUS:
        terminalreporter.write_line(
            f"*** PostgreSQL tests did NOT run: {_PG_STATUS['skipped']} "
            "(set HOTLINE_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test) ***",
            yellow=True, bold=True)
    elif "ran" in _PG_STATUS:
        terminalreporter.write_line("PostgreSQL tests ran against the given server (own database, dropped).",
                                    green=True)


@pytest.fixture(scope="session")
def office_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One prepared office database (reference data seeded, product bundles deployed) per run."""
    path = tmp_path_factory.mktemp("office") / "template.sqlite"
    prepare_office(f"sqlite:///{path}")
    return path


@pytest.fixture
def office(office_template: Path, tmp_path: Path) -> Iterator[Office]:
    """A copy of the prepared office on Wednesday 2026-11-25, 09:00 Beijing time."""
    one = Office(copy_office(office_template, tmp_path), FrozenClock(at("2026-11-25T09:00:00")))
    yield one
    one.close()


@pytest.fixture(autouse=True)
def development_pii_key() -> Iterator[None]:
    """Every test starts and ends with the development personal-data key (create_app sets it per process)."""
    pii.configure(None, production=False)
    yield
    pii.configure(None, production=False)


@pytest.fixture(params=["sqlite", "postgres"])
def ws(request: pytest.FixtureRequest, office_template: Path, tmp_path: Path) -> Iterator[Workspace]:
    """The web app on a prepared office, on SQLite and on PostgreSQL (see tests/workspace_support.py)."""
    yield from workspace(request, office_template, tmp_path)


@pytest.fixture(params=["postgres"])
def ws_pg(request: pytest.FixtureRequest, office_template: Path, tmp_path: Path) -> Iterator[Workspace]:
    """The web app on a prepared office, PostgreSQL only (what only PostgreSQL refuses)."""
    yield from workspace(request, office_template, tmp_path)


@pytest.fixture(params=["sqlite"])
def ws_lite(request: pytest.FixtureRequest, office_template: Path, tmp_path: Path) -> Iterator[Workspace]:
    """The web app on a prepared office, SQLite only."""
    yield from workspace(request, office_template, tmp_path)


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    """One listener for the module; every test asserts it saw no connection."""
    listener = Canary()
    yield listener
    listener.close()
    assert listener.connections == 0, "a hostile upload made a network connection"


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The local file the XXE and XInclude payloads try to read."""
    path = tmp_path_factory.mktemp("secret") / "passwd"
    path.write_text(f"root:x:0:0:{SECRET}:/root:/bin/sh\n", encoding="utf-8")
    return path
