"""Issue 16, finding 8: outside production the public development keys are refused except in tests, `hotline
init` and `hotline demo` write the instance's own keys (0600), and the SQLite file and its -wal/-shm are 0600."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from processes.accounts import pii
from processes.db.engines import create_db_engine
from webapp import create_app
from webapp import instance_keys
from webapp.cli import cli
from webapp.config import ConfigError
from webapp.config import audit_key

SECRET = {"SECRET_KEY": "defaults-test-" + "k" * 40}


def mode(path: Path) -> int:
    """Return a file's permission bits."""
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def outside_tests(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run on an empty instance folder, without TESTING (tests call `as_a_real_process` too)."""
    monkeypatch.setenv("HOTLINE_INSTANCE_PATH", str(tmp_path / "instance"))


def as_a_real_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Drop the marker pytest sets for each test's call (it lets a test's `hotline` subprocess use the dev keys)."""
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)


@pytest.mark.usefixtures("outside_tests")
def test_the_development_keys_are_refused_outside_tests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    as_a_real_process(monkeypatch)
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'h.sqlite'}", **SECRET},
                     serving=False)
    with pytest.raises(pii.PiiKeyError, match="hotline init"):
        pii.cipher()  # before: the public development key, with a warning
    with pytest.raises(ConfigError, match="AUDIT_HMAC_KEY is not set"):
        audit_key(app)
    allowed = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'h.sqlite'}", "ALLOW_DEV_KEYS": True, **SECRET},
                         serving=False)
    assert pii.cipher().key_id() == pii.PiiCipher.from_hex(pii.DEVELOPMENT_KEY).key_id()
    assert audit_key(allowed)[1] is not None  # with its warning


@pytest.mark.usefixtures("outside_tests")
def test_the_demo_writes_its_own_keys_owner_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    as_a_real_process(monkeypatch)
    instance = tmp_path / "instance"
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'h.sqlite'}"}, serving=False)
    assert instance_keys.write_missing_keys(app, by="test") == list(instance_keys.KEYS)
    config = instance / "config.py"
    assert mode(config) == 0o600
    text = config.read_text(encoding="utf-8")
    assert all(f"{name} = '" in text for name in instance_keys.KEYS)
    assert pii.cipher().key_id() != pii.PiiCipher.from_hex(pii.DEVELOPMENT_KEY).key_id()  # in use at once
    assert audit_key(app)[1] is None
    assert instance_keys.write_missing_keys(app, by="test") == []  # a restart keeps them


def test_hotline_init_writes_the_keys_0600(tmp_path: Path) -> None:
    runner = CliRunner(env={"HOTLINE_INSTANCE_PATH": str(tmp_path / "inst"),
                            "HOTLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'h.sqlite'}"})
    done = runner.invoke(cli, ["init"])
    assert done.exit_code == 0, done.output
    config = tmp_path / "inst" / "config.py"
    assert mode(config) == 0o600 and "PII_ENCRYPTION_KEY = '" in config.read_text(encoding="utf-8")


def test_the_sqlite_file_and_its_wal_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data.sqlite"
    create_app({"DATABASE_URL": f"sqlite:///{path}", "TESTING": True, **SECRET}, serving=False)
    assert not path.exists()  # nothing is created before a connection needs it
    engine = create_db_engine(f"sqlite:///{path}")
    engine.connect().close()
    assert mode(path) == 0o600  # before: SQLite made it 0644 on first open
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
        conn.execute(sa.text("INSERT INTO t VALUES (1)"))
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT * FROM t")).all()
        wal = [Path(f"{path}-wal"), Path(f"{path}-shm")]  # the engine runs SQLite in WAL mode
        assert [oct(mode(p)) for p in wal] == ["0o600", "0o600"]
    engine.dispose()
    path.chmod(0o644)  # a file made before this change
    create_app({"DATABASE_URL": f"sqlite:///{path}", "TESTING": True, **SECRET}, serving=False)
    assert mode(path) == 0o600
