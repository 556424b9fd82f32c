"""Every setting of Hotline Flow, documented in one place (环境变量 HOTLINE_X 设置配置项 X)."""

from __future__ import annotations

import os
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
    #: Times one BPMN element may run in one instance; past it a loop (审核退回 …) stops as an incident.
    MAX_ELEMENT_PASSES = 200
    #: CPU seconds the BPMN scripts and expressions of one command may use together (脚本耗时上限, issue 16);
    #: past it the instance stops in error (故障) naming the element. Loop rounds are capped too (100 000 per run).
    SCRIPT_CPU_SECONDS = 2.0
    #: Calls one integration key (接口密钥) may make per window, counted on the key's row (every node), else 429.
    API_RATE_LIMIT = 120
    API_RATE_WINDOW_SECONDS = 60
    #: Seconds a scheduler holds a claimed job before another scheduler may take it over (crash recovery).
    SCHEDULER_LEASE_SECONDS = 60
    #: Longest a scheduler sleeps without a notification (PostgreSQL) before looking for due work again.
    SCHEDULER_FALLBACK_WAKEUP_SECONDS = 5.0
    #: Jobs a scheduler claims at once.
    SCHEDULER_BATCH = 50
    #: Seconds one count of the office board (督办台) serves every supervisor of a node asking for the same filters
    #: and reach (webapp/monitor/cache.py); the page says when it was counted. 0 counts afresh for every request.
    MONITOR_CACHE_SECONDS = 30.0
    #: Age in seconds from which a board count asked for lately is recounted in the background by one worker of the
    #: node (a lock file), while requests are still served the old one (提前刷新); None: only on a miss.
    MONITOR_CACHE_REFRESH: float | None = 25.0
    #: Dashboard answers (数据看板) kept per process until the next rollup run or reading change (dashboard/cache.py).
    DASHBOARD_CACHE_ENTRIES = 256
    #: Folder where a node's workers share those answers as JSON files; None: <instance>/dashboard-cache.
    DASHBOARD_CACHE_DIR: str | None = None
    #: Seconds between scheduler heartbeats (health).
    SCHEDULER_HEARTBEAT_SECONDS = 30
    #: Days that finished timer and retry job rows are kept (operational logs; case history is never purged).
    JOB_RETENTION_DAYS = 30
    #: Seconds between outbox sweeps (messages leaving the system are delivered after commit, at least once).
    OUTBOX_SWEEP_SECONDS = 5.0
    #: Outbox delivery by HTTP (发件箱 HTTP 接口), by channel (upstream, police110, sms …; "*" for every other); a
    #: channel not listed stays in the in-app spool. Each: {"url": "https://…", "key_id": "…", "secret": "≥ 32
    #: random characters", "timeout": 10, "personal": false}. Bodies are JSON signed with HMAC-SHA256 over
    #: "<timestamp>.<body>" (X-Hotline-Key-Id, X-Hotline-Timestamp, X-Hotline-Signature: sha256=<hex>,
    #: Idempotency-Key; processes/runtime/outbox_http.py). "personal": true sends the personal values a message
    #: points at: only for a channel that needs them (the upstream platform's write-back). TLS is always verified.
    OUTBOX_HTTP: ClassVar[dict[str, dict[str, Any]]] = {}
    #: A PEM file of extra certificate authorities for OUTBOX_HTTP and webhook endpoints (a private CA).
    OUTBOX_HTTP_CA_FILE: str | None = None
    #: Seconds an HTTP delivery (outbox channel or webhook) may take before it counts as failed and is retried.
    OUTBOX_HTTP_TIMEOUT_SECONDS = 10.0
    #: Seconds between the scheduler's looks for new case events to send to webhook subscriptions (事件订阅).
    WEBHOOK_SWEEP_SECONDS = 10.0
    #: Upstream order import (上级工单导入): largest file in bytes and most rows (a larger file is refused whole).
    PLATFORM_IMPORT_MAX_BYTES = 20 * 1024 * 1024
    PLATFORM_IMPORT_MAX_ROWS = 100_000
    #: Seconds between a scheduler's looks for uploaded order files waiting to be imported.
    PLATFORM_IMPORT_SWEEP_SECONDS = 3.0
    #: Case-list exports (导出): up to this many rows the file is answered at once; more run in the background.
    EXPORT_INLINE_ROWS = 1000
    #: Most rows one export may hold (a larger search is refused with a message: narrow it).
    EXPORT_MAX_ROWS = 200_000
    #: Hours a finished background export is kept for its requester to download.
    EXPORT_KEEP_HOURS = 24
    #: Seconds between a scheduler's looks for waiting background exports.
    EXPORT_SWEEP_SECONDS = 3.0
    #: Seconds between recounts of today's and yesterday's figures (统计汇总, the dashboard reads them).
    METRICS_ROLLUP_SECONDS = 300.0
    #: Days the nightly rollup rebuild recounts, up to today.
    METRICS_FULL_DAYS = 400
    #: A CJK font file (.ttf, .otf or .ttc) for PDF reports; empty: the usual places (fonts-noto-cjk) are searched.
    REPORT_FONT = ""
    #: Actor name recorded for commands run from the command line.
    CLI_ACTOR = "cli"
    #: The demo clock (演示时钟) for training and demos: an offset (+3d, -2h, +1w, +1d12h, +90m) or a start time
    #: (2027-01-29T22:00+08:00; without a zone, Beijing time) from which the clock moves on at real speed. The
    #: first process started with a new value records it in instance/clock.json, which the web server, every
    #: command and every scheduler of the instance read; `hotline clock show|set|advance|reset` moves it while
    #: they run. With ENV "production" this setting, or that file, stops every command and the web server.
    CLOCK: str | None = None
    #: HMAC key (≥ 32 random characters, hex) that seals the audit chain (审计链); keep it outside the database and
    #: its backups. Written by `hotline init`. In production sealing and verifying refuse to run without it; in
    #: development a fixed, public development key is used with a warning (chains sealed with it prove nothing).
    AUDIT_HMAC_KEY: str | None = None
    #: AES-256-GCM key (64 hex characters) for requester name, phone, ID number and address (个人信息加密) and the
    #: phone blind index. Written by `hotline init`; keep it outside the database and its backups. Production
    #: refuses to serve without it, and any command touching personal data fails; development uses a public key.
    PII_ENCRYPTION_KEY: str | None = None
    #: Allow the public development keys above (PII and audit) when no key is configured. Only tests need them
    #: (TESTING, or a pytest run); `hotline init` and `hotline demo` write real keys to instance/config.py (owner
    #: only, 0600), so a demo's personal data is never encrypted under a key printed in the source (issue 16).
    #: HOTLINE_ALLOW_DEV_KEYS=1 allows them explicitly; never in production.
    ALLOW_DEV_KEYS = False
    #: Days audit records stay online; `hotline audit purge` refuses younger records and any value under 180
    #: (网络安全法 art. 21: network logs are kept at least six months).
    AUDIT_RETENTION_DAYS = 180
    #: Seconds between runs of the audit sealer in each scheduler process.
    AUDIT_SEAL_SECONDS = 60.0
    #: File the chain head is appended to daily by the scheduler and by `hotline audit anchor` (one JSON line:
    #: seq, hash, UTC time; AUD-02). Default: instance/audit-anchors.jsonl. An anchor only helps where those who
    #: can write the database cannot reach it: point this at other storage or copy the file off the machine.
    AUDIT_ANCHOR_PATH: str | None = None
    #: Folder `hotline audit purge` writes each archive to before it deletes anything (gzip JSON lines and a
    #: .sha256 file; AUD-03). Default: instance/audit-archive. Back it up on separate media.
    AUDIT_ARCHIVE_DIR: str | None = None
    #: Shortest password accepted (密码策略, AUTH-02); at least 8. Passwords need 3 of 4 character classes below
    #: 20 characters; up to 128 are accepted; common passwords, the username and the last few are refused.
    PASSWORD_MIN_LENGTH = 12
    #: Lowest zxcvbn strength score (0-4) a new password needs beside the rules above (issue 16): 3 is about 10^8
    #: guesses; `password password password` scores 2. The refusal shows zxcvbn's advice in Chinese. 0: off.
    PASSWORD_MIN_STRENGTH = 3
    #: How many previous passwords (the current one included) a new password must differ from.
    PASSWORD_HISTORY = 5
    #: Days after which a password must be changed at the next login (等保 periodic change, AUTH-03); 0: never.
    PASSWORD_MAX_AGE_DAYS = 90
    #: Failed logins within LOGIN_FAILURE_WINDOW_MINUTES that lock an account (AUTH-04).
    LOGIN_MAX_FAILURES = 5
    #: Minutes within which failed logins are counted towards a lock.
    LOGIN_FAILURE_WINDOW_MINUTES = 15
    #: Minutes an account stays locked; even the right password is refused meanwhile (`hotline users unlock`).
    LOGIN_LOCKOUT_MINUTES = 30
    #: argon2id passes of password hashes (AUTH-07). The three ARGON2_* defaults are RFC 9106's second
    #: (low-memory) profile; time a hash on the server before raising them. After a change each password is
    #: rehashed at its owner's next login.
    ARGON2_TIME_COST = 3
    #: argon2id memory per hash, in KiB (64 MiB by default; each concurrent login holds this much).
    ARGON2_MEMORY_KIB = 65536
    #: argon2id lanes (threads) per hash.
    ARGON2_PARALLELISM = 4

    # --- Web sessions and sign-in (AUTH-04..06); every time is checked on the server with the runtime's clock.
    #: Minutes without activity after which a session ends (AUTH-05). Requests with the header
    #: `X-Background-Refresh: 1` (page polling) do not count as activity.
    SESSION_IDLE_MINUTES = 30
    #: Idle minutes for holders of SESSION_PRIVILEGED_ROLES (administrators and supervisors).
    SESSION_IDLE_MINUTES_PRIVILEGED = 15
    #: Roles whose sessions get the shorter idle timeout.
    SESSION_PRIVILEGED_ROLES: ClassVar[list[str]] = ["sysadmin", "secadmin", "auditor", "supervisor"]
    #: Hours after login at which a session ends however active it is (one shift).
    SESSION_ABSOLUTE_HOURS = 12
    #: Open sessions one account may hold (S3.5). A login beyond it still goes ahead but raises an alert: audit
    #: row `session.concurrent_alert` (result `alert`) and a notice to the security administrators in the outbox
    #: (channel `internal`). 0 turns the check off.
    MAX_CONCURRENT_SESSIONS = 2
    #: Refused requests (拒绝访问: 403, 404 on a route, CSRF, anonymous on a protected page) of one actor per minute
    #: that get an audit row each; past it they are counted and one summary row per minute records how many, and
    #: the first one past it alerts the security administrators (outbox channel `internal`). An anonymous caller
    #: is counted per source IP.
    REFUSAL_AUDIT_PER_MINUTE = 20
    #: Days ended or expired session rows are kept before the scheduler's nightly job deletes them (PII-05).
    SESSION_RETENTION_DAYS = 30
    #: Name of the session cookie; production uses the `__Host-` prefix (Secure, path /, no domain).
    SESSION_COOKIE_NAME = "hotline_session"
    #: The session cookie is HttpOnly and SameSite=Lax; it is also Secure whenever ENV is "production".
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    #: Lifetime of CSRF tokens in seconds (Flask-WTF; AC-05): at least one 12-hour shift, so a form left open
    #: during a long call still submits.
    WTF_CSRF_TIME_LIMIT = 12 * 3600
    #: Largest request body in bytes (CFG-03): a task form with two attachments at ATTACHMENT_MAX_BYTES and its
    #: text; a bigger request is refused with 413 before it is read. Keep it above ATTACHMENT_MAX_BYTES.
    MAX_CONTENT_LENGTH = 41 * 1024 * 1024
    #: Largest non-file form field in bytes, and most multipart parts per request (CFG-03).
    MAX_FORM_MEMORY_SIZE = 512 * 1024
    MAX_FORM_PARTS = 1000
    #: Largest attachment (附件: photo, document, recording) in bytes; a larger file is refused with 413 (the
    #: request itself is bounded by MAX_CONTENT_LENGTH). Allowed kinds: jpg/png, pdf, doc/docx, xls/xlsx,
    #: mp3/amr/wav, checked by extension and by content.
    ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024
    #: Folder attachments are stored in, outside the static folder (files named by random id, never served
    #: directly; downloads check the case is visible to the user). Default: instance/attachments. Back it up with
    #: the database: the `attachment` table holds each file's SHA-256.
    ATTACHMENT_DIR: str | None = None
    #: Failed logins from one source IP within LOGIN_RATE_WINDOW_MINUTES after which POST /auth/login answers
    #: 429 (AUTH-04). Counted in the database (`login_attempt` by source IP), so it holds across app nodes.
    LOGIN_RATE_LIMIT = 20
    #: Minutes of the per-IP login window.
    LOGIN_RATE_WINDOW_MINUTES = 10
    #: Phone lookups (intake "earlier cases", phone searches) one user may make per minute before 429: stops a
    #: script from walking the number space through the blind index. Counted from the audit trail (every lookup is
    #: an audit row), so it holds across app nodes.
    PHONE_LOOKUP_RATE_LIMIT = 30
    #: Roles that must use the second factor (TOTP); they are sent to enrolment until it is done (AUTH-06).
    TOTP_REQUIRED_ROLES: ClassVar[list[str]] = ["sysadmin", "secadmin", "auditor"]
    #: Issuer name authenticator apps show next to the account.
    TOTP_ISSUER = "洞头12345热线"
    #: Minutes between a correct password and the code of the second factor before the login starts over.
    TOTP_PENDING_MINUTES = 5
    #: Reverse proxies in front of the app whose X-Forwarded-For / -Proto are trusted (0: none, direct).
    #: Behind one nginx, 1. Source IPs in audit rows and login limits come from the trusted hop only.
    TRUSTED_PROXY_HOPS = 0
    #: Strict-Transport-Security max-age sent on HTTPS requests (or when PREFERRED_URL_SCHEME is "https").
    HSTS_SECONDS = 31_536_000
    #: Flask's scheme for external URLs; "https" behind TLS also turns on HSTS for every response.
    PREFERRED_URL_SCHEME = "http"


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Apply defaults, instance config, HOTLINE_* environment variables and the test config, in that order."""
    app.config.from_object(DefaultConfig)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("HOTLINE")
    if test_config:
        app.config.update(test_config)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'hotline.sqlite'}"
    if app.config.get("ENV") == "production":  # cookies only over TLS, with the __Host- prefix
        app.config["SESSION_COOKIE_SECURE"] = True
        if not str(app.config["SESSION_COOKIE_NAME"]).startswith("__Host-"):
            app.config["SESSION_COOKIE_NAME"] = "__Host-" + str(app.config["SESSION_COOKIE_NAME"])


def check_required_settings(app: Flask) -> None:
    """Refuse to serve in production without a real secret key."""
    if app.config.get("ENV") != "production":
        return
    secret = app.config.get("SECRET_KEY") or ""
    if len(str(secret)) < 32 or "dev" in str(secret).lower():
        raise ConfigError("SECRET_KEY is missing or too short; run `hotline init` or set HOTLINE_SECRET_KEY")
    if len(str(app.config.get("PII_ENCRYPTION_KEY") or "")) != 64:
        raise ConfigError("PII_ENCRYPTION_KEY is missing or not 64 hex characters; run `hotline init`")


def anchor_path(app: Flask) -> Path:
    """Return the audit anchor file (AUDIT_ANCHOR_PATH, else in the instance folder)."""
    return Path(app.config.get("AUDIT_ANCHOR_PATH") or Path(app.instance_path) / "audit-anchors.jsonl")


def archive_dir(app: Flask) -> Path:
    """Return the folder of audit archives (AUDIT_ARCHIVE_DIR, else in the instance folder)."""
    return Path(app.config.get("AUDIT_ARCHIVE_DIR") or Path(app.instance_path) / "audit-archive")


DEV_AUDIT_KEY = "hotline-flow development audit key, public, proves nothing"


def dev_keys_allowed(app: Flask) -> bool:
    """Return whether the public development keys may stand in for missing ones: tests only (or said so)."""
    if app.config.get("ENV") == "production":
        return False
    return bool(app.config.get("TESTING") or app.config.get("ALLOW_DEV_KEYS")
                or os.environ.get("PYTEST_CURRENT_TEST"))  # a test's subprocess (`hotline …` run by a test)


def audit_key(app: Flask) -> tuple[bytes, str | None]:
    """Return the audit chain's HMAC key and a warning when it is the development key (only tests may use it)."""
    key = str(app.config.get("AUDIT_HMAC_KEY") or "")
    if app.config.get("ENV") == "production" and (len(key) < 32 or key == DEV_AUDIT_KEY):
        raise ConfigError("AUDIT_HMAC_KEY is missing or too short; run `hotline init` or set HOTLINE_AUDIT_HMAC_KEY")
    if key:
        return key.encode(), None
    if not dev_keys_allowed(app):
        raise ConfigError("AUDIT_HMAC_KEY is not set: run `hotline init` (`hotline demo` writes one too); the public "
                          "development key is for tests only (HOTLINE_ALLOW_DEV_KEYS=1)")
    return DEV_AUDIT_KEY.encode(), ("AUDIT_HMAC_KEY is not set: using the public development key; "
                                    "a chain sealed with it proves nothing (run `hotline init`)")
