"""Every setting of Hotline Flow, documented in one place (环境变量 HOTLINE_X 设置配置项 X)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from typing import ClassVar

from flask import Flask

REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """A required setting is missing or unsafe; the server refuses to start."""


class DefaultConfig:
    """Defaults; override in instance/config.py (written by `hotline init`) or with HOTLINE_<KEY> variables.

    Precedence, lowest first: these defaults, instance/config.py, environment variables HOTLINE_<KEY>
    (values parsed as JSON when they parse, e.g. HOTLINE_WORKFLOW_CACHE_SIZE=1000), then a test config.
    The instance folder itself defaults to ./instance beside the code; HOTLINE_INSTANCE_PATH moves it.
    """

    #: "development" or "production". In production a missing SECRET_KEY stops the web server at start.
    ENV = "development"
    #: Flask session signing key, ≥ 32 random bytes (hex). Written by `hotline init`; never committed.
    SECRET_KEY: str | None = None
    #: SQLAlchemy URL. Default: an SQLite file in the instance folder. Production:
    #: postgresql+psycopg://user@host/db (several app nodes and schedulers share it).
    DATABASE_URL: str | None = None
    #: Folder of BPMN bundles deployed by `hotline deploy` and `hotline demo` (one sub-folder per process key).
    BPMN_DIR = str(REPO_ROOT / "bpmn")
    #: How many deserialized workflows each process keeps (keyed by instance id and version).
    WORKFLOW_CACHE_SIZE = 512
    #: Seconds between retries of a failed service task; after the last one the job becomes an incident.
    RETRY_BACKOFF_SECONDS: ClassVar[list[int]] = [60, 300, 900, 3600, 14400]
    #: Engine steps one command may run before it is stopped (a loop with no wait state).
    MAX_ENGINE_STEPS = 1000
    #: Seconds a scheduler holds a claimed job before another scheduler may take it over (crash recovery).
    SCHEDULER_LEASE_SECONDS = 60
    #: Longest a scheduler sleeps without a notification (PostgreSQL) before looking for due work again.
    SCHEDULER_FALLBACK_WAKEUP_SECONDS = 5.0
    #: Jobs a scheduler claims at once.
    SCHEDULER_BATCH = 50
    #: Seconds between scheduler heartbeats (health).
    SCHEDULER_HEARTBEAT_SECONDS = 30
    #: Days that finished timer and retry job rows are kept (operational logs; case history is never purged).
    JOB_RETENTION_DAYS = 30
    #: Seconds between outbox sweeps (messages leaving the system are delivered after commit, at least once).
    OUTBOX_SWEEP_SECONDS = 5.0
    #: Actor name recorded for commands run from the command line.
    CLI_ACTOR = "cli"


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Apply defaults, instance config, HOTLINE_* environment variables and the test config, in that order."""
    app.config.from_object(DefaultConfig)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("HOTLINE")
    if test_config:
        app.config.update(test_config)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'hotline.sqlite'}"


def check_required_settings(app: Flask) -> None:
    """Refuse to serve in production without a real secret key."""
    if app.config.get("ENV") != "production":
        return
    secret = app.config.get("SECRET_KEY") or ""
    if len(str(secret)) < 32 or "dev" in str(secret).lower():
        raise ConfigError("SECRET_KEY is missing or too short; run `hotline init` or set HOTLINE_SECRET_KEY")
